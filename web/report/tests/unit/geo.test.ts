import { describe, expect, it } from "vitest";
import { fromGcj02, projectGeometry, projectionFor, toGcj02 } from "@whistle/api";

// The published reference pair (wandergis/coordtransform) for a point in Beijing, the same one
// the server's own conversion is tested against (crates/domain/src/location.rs).
const WGS: [number, number] = [39.915, 116.404];
const GCJ: [number, number] = [39.91640428150164, 116.41024449916938];

const metres = (a: [number, number], b: [number, number]) => {
  const k = Math.PI / 180;
  const x = (b[1] - a[1]) * k * Math.cos(((a[0] + b[0]) / 2) * k);
  const y = (b[0] - a[0]) * k;
  return Math.sqrt(x * x + y * y) * 6_371_008.8;
};

describe("GCJ-02", () => {
  it("matches the published forward value", () => {
    const [lat, lon] = toGcj02(...WGS);
    expect(lat).toBeCloseTo(GCJ[0], 9);
    expect(lon).toBeCloseTo(GCJ[1], 9);
  });

  it("goes back to the WGS-84 origin within a centimetre", () => {
    const back = fromGcj02(...GCJ);
    expect(metres(back, WGS)).toBeLessThan(0.01);
  });

  it("moves a point in Lianyungang by a few hundred metres, and back", () => {
    const wenchang: [number, number] = [34.5865, 119.142];
    const shown = toGcj02(...wenchang);
    expect(metres(shown, wenchang)).toBeGreaterThan(200);
    expect(metres(shown, wenchang)).toBeLessThan(900);
    expect(metres(fromGcj02(...shown), wenchang)).toBeLessThan(0.01);
  });

  it("leaves points outside China alone", () => {
    expect(toGcj02(51.5007, -0.1246)).toEqual([51.5007, -0.1246]);
    expect(fromGcj02(51.5007, -0.1246)).toEqual([51.5007, -0.1246]);
  });

  it("projects a polygon's every position, GeoJSON order (lon, lat) kept", () => {
    const ring = [
      [119.14, 34.58],
      [119.15, 34.58],
      [119.15, 34.59],
      [119.14, 34.58],
    ];
    const g = projectGeometry({ type: "Polygon", coordinates: [ring] }, projectionFor("gcj02").show);
    const first = (g.coordinates as number[][][])[0]![0]!;
    const [lat, lon] = toGcj02(34.58, 119.14);
    expect(first).toEqual([lon, lat]);
    expect((g.coordinates as number[][][])[0]).toHaveLength(4);
    // WGS-84 tiles: nothing moves.
    expect(projectGeometry({ type: "Polygon", coordinates: [ring] }, projectionFor("wgs84").show).coordinates).toEqual([ring]);
  });
});
