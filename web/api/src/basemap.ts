// A Leaflet map over the bureau's basemap (`GET /api/v1/map/basemap`), the same in every page:
// the tiles when configured (else the grids on a blank background), the credit line naming
// Leaflet and the tile provider, and the projection for what is drawn on it (GCJ-02 tiles get
// everything shifted; see geo.ts). Leaflet is passed in, so this package does not bundle it.
import type * as Leaflet from "leaflet";
import type { Client } from "openapi-fetch";
import type { components, paths } from "./schema";
import { must } from "./errors";
import { projectionFor, type Projection } from "./geo";

export type Basemap = components["schemas"]["BasemapDto"];

const asked = new WeakMap<object, Promise<Basemap | undefined>>();

/**
 * The basemap configured on the server (`[map]`), asked for once per page load and client.
 * Without a tile URL, or when the question fails, maps draw the grids on a plain background
 * (and a failed question is asked again next time).
 */
export function loadBasemap(client: Client<paths>): Promise<Basemap | undefined> {
  let answer = asked.get(client);
  if (!answer) {
    answer = must(client.GET("/api/v1/map/basemap", {})).catch(() => {
      asked.delete(client);
      return undefined;
    });
    asked.set(client, answer);
  }
  return answer;
}

export function createMap(
  L: typeof Leaflet,
  el: HTMLElement,
  base: Basemap | undefined,
  options: Leaflet.MapOptions = {},
): { map: Leaflet.Map; projection: Projection } {
  const tiles = base?.tile_url ? base : undefined;
  const map = L.map(el, {
    ...options,
    attributionControl: Boolean(tiles?.attribution),
    maxZoom: tiles ? Math.min(options.maxZoom ?? 19, tiles.max_zoom) : (options.maxZoom ?? 19),
  });
  map.attributionControl?.setPrefix('<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>');
  if (tiles?.tile_url) {
    L.tileLayer(tiles.tile_url, {
      subdomains: tiles.subdomains.length ? tiles.subdomains : ["a"],
      maxZoom: tiles.max_zoom,
      attribution: tiles.attribution,
    }).addTo(map);
    el.dataset.crs = tiles.crs;
  }
  return { map, projection: projectionFor(tiles ? tiles.crs : "wgs84") };
}
