// The page's one way to the API: the typed client (types generated from /openapi.json), the
// page's language on every request, and problem+json answers turned into HttpError.
import { makeClient, type Schemas } from "@whistle/api";
import { lang } from "../i18n";
import { HttpError } from "./retry";

export type { Schemas };
export const api = makeClient(() => (lang.value === "en" ? "en" : "zh-CN"));

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an HttpError carrying the problem (its title in the page's language). */
export async function must<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) {
    throw new HttpError(response.status, (error ?? undefined) as HttpError["problem"]);
  }
  return data;
}

function headers(extra: Record<string, string> = {}): Headers {
  const h = new Headers(extra);
  h.set("Accept-Language", lang.value === "en" ? "en" : "zh-CN");
  return h;
}

async function problemOf(res: Response): Promise<HttpError> {
  let body: HttpError["problem"];
  try {
    body = (await res.json()) as HttpError["problem"];
  } catch {
    body = undefined;
  }
  return new HttpError(res.status, body);
}

/** Multipart upload of one photo, authorised by the case's tracking token. */
export async function uploadPhoto(
  caseId: number,
  token: string,
  photo: Blob,
): Promise<Schemas["AttachmentDto"]> {
  const form = new FormData();
  form.append("file", photo, "photo.jpg");
  form.append("kind", "report");
  const res = await fetch(`/api/v1/cases/${caseId}/attachments`, {
    method: "POST",
    headers: headers({ "X-Tracking-Token": token }),
    body: form,
  });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as Schemas["AttachmentDto"];
}

/** A photo of a case as an object URL (an <img> cannot send the tracking token). */
export async function photoUrl(url: string, token: string): Promise<string> {
  const res = await fetch(url, { headers: headers({ "X-Tracking-Token": token }) });
  if (!res.ok) throw await problemOf(res);
  return URL.createObjectURL(await res.blob());
}

/** What to tell the resident about a failure, in the page's language. */
export function messageOf(e: unknown, networkText: string): string {
  if (e instanceof HttpError) return e.problem?.title ?? `HTTP ${e.status}`;
  if (e instanceof TypeError) return networkText;
  return e instanceof Error ? e.message : String(e);
}
