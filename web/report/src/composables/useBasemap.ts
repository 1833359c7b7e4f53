// The basemap configured on the server (`[map]`): asked for once per page load. Without a tile
// URL, or when the question fails, the map draws the grids on a plain background.
import { api, must, type Schemas } from "../lib/api";

let asked: Promise<Schemas["BasemapDto"] | undefined> | undefined;

export function basemap(): Promise<Schemas["BasemapDto"] | undefined> {
  asked ??= must(api.GET("/api/v1/map/basemap", {})).catch(() => {
    asked = undefined;
    return undefined;
  });
  return asked;
}
