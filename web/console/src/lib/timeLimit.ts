// A stage's time limit as the server reads it: `4h` natural hours, `8wh` working hours, `3wd`
// working days, at most a year of hours. Checked here first so a wrong cell is named at once.
export const MAX_AMOUNT = 24 * 366;

export function timeLimitProblem(raw: string): "format" | "too_long" | undefined {
  const m = raw.trim().match(/^(\d+)(wh|wd|h)$/);
  if (!m) return "format";
  return Number(m[1]) > MAX_AMOUNT ? "too_long" : undefined;
}
