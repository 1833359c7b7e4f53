// Printable documents (a pledge, a community's contact card) open in a new tab through a
// short-lived signed link, since a new tab cannot send the session's bearer token.
import { api, must } from "./api";

export async function openPrintable(path: string): Promise<void> {
  const tab = window.open("", "_blank");
  try {
    const link = await must(api.POST("/api/v1/print-links", { body: { path } }));
    if (tab) tab.location.href = link.url;
    else window.location.href = link.url;
  } catch (e) {
    tab?.close();
    throw e;
  }
}
