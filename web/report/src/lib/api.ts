// The page's one way to the API: the typed client (types generated from /openapi.json), the
// page's language on every request, and problem+json answers turned into HttpError. `api` is
// anonymous (a report without an account, the tracking token's requests); `accountApi` sends
// the signed-in resident's session and refreshes it when it runs out.
import { shallowRef } from "vue";
import { errorOf, makeClient, must, Session, type Schemas, type StoredSession } from "@whistle/api";
import { lang } from "../i18n";
import { HttpError } from "./retry";

export { must };

export type { Schemas };
const language = () => (lang.value === "en" ? "en" : "zh-CN");
export const api = makeClient(language);

export const session = new Session("whistle.report.session", localStorage);
export const accountApi = makeClient(language, "", session.fetch);
/** The signed-in resident, if any (kept in step with logins, refreshes, logouts and other tabs). */
export const signedIn = shallowRef<StoredSession | undefined>(session.current);
session.onChange((s) => (signedIn.value = s));
window.addEventListener("storage", (e) => {
  if (e.key === "whistle.report.session") signedIn.value = session.current;
});

/** How a request about one case is authorised: its tracking token, or the resident's account. */
export type CaseAuth = { token: string } | { account: true };

function headers(extra: Record<string, string> = {}): Headers {
  const h = new Headers(extra);
  h.set("Accept-Language", lang.value === "en" ? "en" : "zh-CN");
  return h;
}

/** A request sent with the case's tracking token, or through the session. */
function sendFor(auth: CaseAuth, url: string, init: RequestInit = {}): Promise<Response> {
  if ("token" in auth) {
    return fetch(url, { ...init, headers: headers({ "X-Tracking-Token": auth.token }) });
  }
  return session.fetch(new Request(url, { ...init, headers: headers() }));
}

/** Multipart upload of one photo, authorised by the tracking token or the account. */
export async function uploadPhoto(
  caseId: number,
  auth: CaseAuth,
  photo: Blob,
): Promise<Schemas["AttachmentDto"]> {
  const form = new FormData();
  form.append("file", photo, "photo.jpg");
  form.append("kind", "report");
  const res = await sendFor(auth, `/api/v1/cases/${caseId}/attachments`, { method: "POST", body: form });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as Schemas["AttachmentDto"];
}

/** A photo of a case as an object URL (an <img> can send neither the token nor the session). */
export async function photoUrl(url: string, auth: CaseAuth): Promise<string> {
  const res = await sendFor(auth, url);
  if (!res.ok) throw await errorOf(res);
  return URL.createObjectURL(await res.blob());
}

/** What to tell the resident about a failure, in the page's language. */
export function messageOf(e: unknown, networkText: string): string {
  if (e instanceof HttpError) return e.problem?.title ?? `HTTP ${e.status}`;
  if (e instanceof TypeError) return networkText;
  return e instanceof Error ? e.message : String(e);
}
