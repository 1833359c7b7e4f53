// The console's one way to the API: the typed client (types generated from /openapi.json) sent
// through the staff member's session, which refreshes the access token once on a 401 and sends
// the request again, so a form being filled survives an expired token. Refusals become
// `ApiError`, whose `field` says where the form shows them.
import { shallowRef } from "vue";
import { ApiError, errorOf, makeClient, must, Session, type Schemas, type StoredSession } from "@whistle/api";
import { lang } from "../i18n";

export { ApiError, must };
export type { Schemas };
export type CaseDto = Schemas["CaseDto"];

const KEY = "whistle.console.session";
const language = () => (lang.value === "en" ? "en" : "zh-CN");

export const session = new Session(KEY, localStorage);
export const api = makeClient(language, "", session.fetch);

/** The signed-in staff member (kept in step with logins, refreshes, logouts and other tabs). */
export const signedIn = shallowRef<StoredSession | undefined>(session.current);
session.onChange((s) => (signedIn.value = s));
window.addEventListener("storage", (e) => {
  if (e.key === KEY) signedIn.value = session.current;
});

/** What to tell the user about a failure: the server's title and detail, or the network's. */
export function messageOf(e: unknown, network: string): string {
  if (e instanceof ApiError) {
    const p = e.problem;
    return p?.detail && p.title && p.detail !== p.title ? `${p.title}：${p.detail}` : (p?.title ?? e.message);
  }
  if (e instanceof TypeError) return network;
  return e instanceof Error ? e.message : String(e);
}

/** A file through the session (an <img> cannot send the bearer token): an object URL. */
export async function blobUrl(url: string): Promise<string> {
  const res = await session.fetch(new Request(url, { headers: { "Accept-Language": language() } }));
  if (!res.ok) throw await errorOf(res);
  return URL.createObjectURL(await res.blob());
}

/** Uploads one photo to a case (`kind`: `report` or `after`). */
export async function uploadCasePhoto(caseId: number, file: Blob, kind: "report" | "after"): Promise<void> {
  const form = new FormData();
  form.append("file", file, "photo.jpg");
  form.append("kind", kind);
  const res = await session.fetch(
    new Request(`/api/v1/cases/${caseId}/attachments`, {
      method: "POST",
      body: form,
      headers: { "Accept-Language": language() },
    }),
  );
  if (!res.ok) throw await errorOf(res);
}
