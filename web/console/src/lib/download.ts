// Files the API makes (CSV exports) fetched through the session, then saved by the browser.
import { errorOf } from "@whistle/api";
import { session } from "./api";
import { lang } from "../i18n";

export async function download(url: string, filename: string): Promise<void> {
  const res = await session.fetch(new Request(url, { headers: { "Accept-Language": lang.value } }));
  if (!res.ok) throw await errorOf(res);
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
