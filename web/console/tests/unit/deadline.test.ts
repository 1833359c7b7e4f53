import { describe, expect, it } from "vitest";
import { countdown, NEAR_MS } from "../../src/lib/deadline";

const now = Date.parse("2026-12-02T08:00:00Z");

describe("countdown", () => {
  it("has nothing to count without a deadline", () => {
    expect(countdown(null, now)).toEqual({ urgency: "none", parts: [] });
    expect(countdown("not a date", now).urgency).toBe("none");
  });
  it("shows the two largest units left", () => {
    const c = countdown("2026-12-03T10:30:15Z", now);
    expect(c.urgency).toBe("ok");
    expect(c.parts).toEqual([
      { unit: "d", n: 1 },
      { unit: "h", n: 2 },
    ]);
  });
  it("turns amber within the last two hours, at the boundary too", () => {
    expect(countdown(new Date(now + NEAR_MS).toISOString(), now).urgency).toBe("near");
    expect(countdown(new Date(now + NEAR_MS + 1000).toISOString(), now).urgency).toBe("ok");
    expect(countdown("2026-12-02T08:45:30Z", now).parts).toEqual([
      { unit: "m", n: 45 },
      { unit: "s", n: 30 },
    ]);
  });
  it("counts overdue time upwards and is red", () => {
    const c = countdown("2026-12-02T06:59:00Z", now);
    expect(c.urgency).toBe("overdue");
    expect(c.left).toBe(-61 * 60 * 1000);
    expect(c.parts).toEqual([
      { unit: "h", n: 1 },
      { unit: "m", n: 1 },
    ]);
  });
  it("at the very deadline is zero seconds, still amber", () => {
    expect(countdown("2026-12-02T08:00:00Z", now)).toMatchObject({ urgency: "near", parts: [{ unit: "s", n: 0 }] });
  });
});
