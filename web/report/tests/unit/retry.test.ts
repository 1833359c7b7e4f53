import { describe, expect, it } from "vitest";
import { backoffMs, HttpError, isRetryable, withRetry } from "../../src/lib/retry";

describe("retry", () => {
  it("retries network errors, 408 and 503, not refusals", () => {
    expect(isRetryable(new TypeError("Failed to fetch"))).toBe(true);
    expect(isRetryable(new HttpError(408, undefined))).toBe(true);
    expect(isRetryable(new HttpError(503, undefined))).toBe(true);
    expect(isRetryable(new HttpError(422, { title: "x" }))).toBe(false);
    expect(isRetryable(new HttpError(404, undefined))).toBe(false);
  });
  it("backs off 1, 2, 4 … seconds up to 30", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
  it("runs until an answer, pausing between failures", async () => {
    const pauses: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw calls === 1 ? new TypeError("offline") : new HttpError(503, undefined);
        return "ok";
      },
      { sleep: async (ms) => void pauses.push(ms) },
    );
    expect(out).toBe("ok");
    expect(pauses).toEqual([1000, 2000]);
  });
  it("gives up at once on a refusal", async () => {
    await expect(
      withRetry(async () => {
        throw new HttpError(422, { title: "bad" });
      }, { sleep: async () => undefined }),
    ).rejects.toMatchObject({ status: 422 });
  });
});
