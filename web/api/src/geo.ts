// China's GCJ-02 ("Mars coordinates"): the offset map tiles from Amap or Tencent are drawn in.
// Whistle stores and sends WGS-84; a page drawing on GCJ-02 tiles shifts what it draws with
// `toGcj02` and shifts a point picked on the map back with `fromGcj02`. The formula is the
// published one; outside mainland China's bounding box it is the identity, as the map
// providers do (the server decides more finely with the mainland's outline).

const A = 6378245.0;
const EE = 0.00669342162296594323;

export function outOfChina(lat: number, lon: number): boolean {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function dLat(x: number, y: number): number {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function dLon(x: number, y: number): number {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

/** WGS-84 → GCJ-02, as `[lat, lon]`. */
export function toGcj02(lat: number, lon: number): [number, number] {
  if (outOfChina(lat, lon)) return [lat, lon];
  let la = dLat(lon - 105.0, lat - 35.0);
  let lo = dLon(lon - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  la = (la * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  lo = (lo * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lat + la, lon + lo];
}

/** GCJ-02 → WGS-84, as `[lat, lon]`: the inverse found by iteration (to well under a centimetre). */
export function fromGcj02(lat: number, lon: number): [number, number] {
  if (outOfChina(lat, lon)) return [lat, lon];
  let wLat = lat;
  let wLon = lon;
  for (let i = 0; i < 10; i++) {
    const [gLat, gLon] = toGcj02(wLat, wLon);
    const eLat = gLat - lat;
    const eLon = gLon - lon;
    wLat -= eLat;
    wLon -= eLon;
    if (Math.abs(eLat) < 1e-9 && Math.abs(eLon) < 1e-9) break;
  }
  return [wLat, wLon];
}

/** How a page draws on a basemap: WGS-84 ↔ the tiles' system. */
export interface Projection {
  /** A stored (WGS-84) point to where it is drawn. */
  show(lat: number, lon: number): [number, number];
  /** A point picked on the map back to WGS-84. */
  pick(lat: number, lon: number): [number, number];
}

export function projectionFor(crs: string | undefined): Projection {
  if (crs === "gcj02") return { show: toGcj02, pick: fromGcj02 };
  return { show: (lat, lon) => [lat, lon], pick: (lat, lon) => [lat, lon] };
}

/** A GeoJSON geometry (WGS-84) with every position moved by `show`. */
export function projectGeometry<G extends { type: string; coordinates?: unknown }>(
  g: G,
  show: Projection["show"],
): G {
  const walk = (c: unknown): unknown => {
    if (Array.isArray(c) && typeof c[0] === "number" && typeof c[1] === "number") {
      const [lat, lon] = show(c[1] as number, c[0] as number);
      return [lon, lat, ...c.slice(2)];
    }
    return Array.isArray(c) ? c.map(walk) : c;
  };
  return { ...g, coordinates: walk(g.coordinates) };
}
