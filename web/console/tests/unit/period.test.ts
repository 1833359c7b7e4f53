import { describe, expect, it } from "vitest";
import { bucketFor, fillBuckets, periods, pointsChange } from "../../src/lib/period";

describe("periods", () => {
  it("the previous period ends where the current begins and is as long", () => {
    const now = Date.parse("2026-12-02T08:00:00Z");
    const { current, previous } = periods(7, now);
    expect(current).toEqual({ from: "2026-11-25T08:00:00.000Z", to: "2026-12-02T08:00:00.000Z" });
    expect(previous).toEqual({ from: "2026-11-18T08:00:00.000Z", to: "2026-11-25T08:00:00.000Z" });
  });
  it("buckets by day up to a month, by week beyond", () => {
    expect(bucketFor(7)).toBe("day");
    expect(bucketFor(31)).toBe("day");
    expect(bucketFor(90)).toBe("week");
  });
  it("changes are percentage points, unknown when a side is", () => {
    expect(pointsChange(0.85, 0.8)).toBe(5);
    expect(pointsChange(0.5, 0.625)).toBe(-12.5);
    expect(pointsChange(null, 0.5)).toBeUndefined();
    expect(pointsChange(0.5, undefined)).toBeUndefined();
  });
});

describe("fillBuckets", () => {
  it("lists every day of the period, empty where the server has none", () => {
    const out = fillBuckets([{ key: "2026-12-02", value: 6 }], new Date(2026, 10, 30, 9), new Date(2026, 11, 2, 9), "day", 0);
    expect(out).toEqual([
      { key: "2026-11-30", value: 0 },
      { key: "2026-12-01", value: 0 },
      { key: "2026-12-02", value: 6 },
    ]);
  });
  it("weeks start on Monday; a bucket outside the period is kept, in order", () => {
    const out = fillBuckets(
      [
        { key: "2026-11-23", value: 2 },
        { key: "2026-11-09", value: 1 },
      ],
      new Date(2026, 10, 18),
      new Date(2026, 11, 2),
      "week",
      0,
    );
    expect(out.map((b) => b.key)).toEqual(["2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]);
    expect(out.map((b) => b.value)).toEqual([1, 0, 2, 0]);
  });
});
