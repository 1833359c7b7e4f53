import { describe, expect, it } from "vitest";
import { isWorking, kindOf, setKind, ymd } from "../../src/lib/calendar";

const cal = { windows: ["08:30-12:00"], weekend: ["sat", "sun"], holidays: ["2026-10-01"], makeup_days: ["2026-10-10"] };

describe("the working calendar", () => {
  it("follows the weekly rule unless a date says otherwise", () => {
    expect(isWorking(cal, "2026-12-02")).toBe(true); // a Wednesday
    expect(isWorking(cal, "2026-12-05")).toBe(false); // a Saturday
    expect(isWorking(cal, "2026-10-01")).toBe(false); // National Day
    expect(isWorking(cal, "2026-10-10")).toBe(true); // 调休 Saturday
    expect(kindOf(cal, "2026-10-10")).toBe("makeup");
  });
  it("a day changes kind without being both, and back to the rule", () => {
    const a = setKind(cal, "2026-12-05", "makeup");
    expect(a.makeup_days).toEqual(["2026-10-10", "2026-12-05"]);
    expect(isWorking(a, "2026-12-05")).toBe(true);
    const b = setKind(a, "2026-12-05", "holiday");
    expect(b.makeup_days).toEqual(["2026-10-10"]);
    expect(b.holidays).toEqual(["2026-10-01", "2026-12-05"]);
    const c = setKind(b, "2026-12-05", "rule");
    expect(c.holidays).toEqual(["2026-10-01"]);
    expect(c.windows).toEqual(cal.windows);
  });
  it("dates are the calendar's, not UTC's", () => {
    expect(ymd(new Date(2026, 11, 5, 23, 59))).toBe("2026-12-05");
  });
});
