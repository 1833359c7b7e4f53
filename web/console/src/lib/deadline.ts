// A stage deadline as the queue shows it: time left or overdue, in the largest two units, and
// how urgent it is (amber within the last quarter of a day's worth or the last 2 hours, red past).
export type Urgency = "none" | "ok" | "near" | "overdue";

export interface Countdown {
  urgency: Urgency;
  /** Milliseconds left (negative: overdue); `undefined` without a deadline. */
  left?: number;
  parts: { unit: "d" | "h" | "m" | "s"; n: number }[];
}

/** The window within which a deadline turns amber. */
export const NEAR_MS = 2 * 3600 * 1000;

export function countdown(due: string | null | undefined, now: number): Countdown {
  if (!due) return { urgency: "none", parts: [] };
  const at = Date.parse(due);
  if (Number.isNaN(at)) return { urgency: "none", parts: [] };
  const left = at - now;
  let rest = Math.floor(Math.abs(left) / 1000);
  const d = Math.floor(rest / 86400);
  rest -= d * 86400;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const all = [
    { unit: "d" as const, n: d },
    { unit: "h" as const, n: h },
    { unit: "m" as const, n: m },
    { unit: "s" as const, n: s },
  ];
  const first = all.findIndex((p) => p.n > 0);
  const parts = first < 0 ? [{ unit: "s" as const, n: 0 }] : all.slice(first, first + 2);
  return { urgency: left < 0 ? "overdue" : left <= NEAR_MS ? "near" : "ok", left, parts };
}
