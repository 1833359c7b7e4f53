// The typed Whistle API client shared by the web front ends. Types come from the server's
// OpenAPI document (src/schema.d.ts, generated); nothing here is written by hand but the glue.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

export type ApiClient = Client<paths>;

/** A client whose every request carries the page's language, so problem titles come back in it. */
export function makeClient(lang: () => string, baseUrl = ""): ApiClient {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      request.headers.set("Accept-Language", lang());
      return request;
    },
  });
  return client;
}
