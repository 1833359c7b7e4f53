import { describe, expect, it } from "vitest";
import { MAX_AMOUNT, timeLimitProblem } from "../../src/lib/timeLimit";

describe("time limits", () => {
  it("reads natural hours, working hours and working days", () => {
    for (const ok of ["4h", "8wh", "3wd", " 2wh ", "0h"]) expect(timeLimitProblem(ok)).toBeUndefined();
  });
  it("names a limit it cannot read, and one too long", () => {
    for (const bad of ["3x", "wh", "3 wh", "-1h", "1.5h", ""]) expect(timeLimitProblem(bad)).toBe("format");
    expect(timeLimitProblem(`${MAX_AMOUNT}h`)).toBeUndefined();
    expect(timeLimitProblem(`${MAX_AMOUNT + 1}wd`)).toBe("too_long");
  });
});
