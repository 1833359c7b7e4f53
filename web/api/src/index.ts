// The typed Whistle API client shared by the web front ends. Types come from the server's
// OpenAPI document (src/schema.d.ts, generated); nothing here is written by hand but the glue,
// the signed-in session (session.ts) and the map's coordinate shift (geo.ts).
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

export type ApiClient = Client<paths>;

export { Session, type Account, type KeyValueStore, type StoredSession } from "./session";
export { fromGcj02, outOfChina, projectGeometry, projectionFor, toGcj02, type Projection } from "./geo";
export { createMap, loadBasemap, type Basemap } from "./basemap";
export { ApiError, errorOf, must, type ProblemBody } from "./errors";
export { interpolate, lookup, type Params } from "./i18n";

/**
 * A client whose every request carries the page's language, so problem titles come back in it;
 * with a session's `fetch`, signed in.
 */
export function makeClient(
  lang: () => string,
  baseUrl = "",
  send?: (request: Request) => Promise<Response>,
): ApiClient {
  const client = createClient<paths>({ baseUrl, ...(send ? { fetch: send } : {}) });
  client.use({
    onRequest({ request }) {
      request.headers.set("Accept-Language", lang());
      return request;
    },
  });
  return client;
}
