// The basemap configured on the server (`[map]`), asked for once per page load; see
// `loadBasemap` in @whistle/api.
import { loadBasemap, type Basemap } from "@whistle/api";
import { api } from "../lib/api";

export function basemap(): Promise<Basemap | undefined> {
  return loadBasemap(api);
}
