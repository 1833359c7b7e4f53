// The dashboard's period and the one before it, of equal length, for "change against the
// previous period"; and a rate's change in percentage points.
export interface Period {
  from: string;
  to: string;
}

export function periods(days: number, now: number): { current: Period; previous: Period } {
  const day = 86_400_000;
  const to = now;
  const from = to - days * day;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    current: { from: iso(from), to: iso(to) },
    previous: { from: iso(from - days * day), to: iso(from) },
  };
}

/** Trend buckets: days for up to a month, weeks beyond. */
export function bucketFor(days: number): "day" | "week" {
  return days <= 31 ? "day" : "week";
}

/** `now - before` in percentage points (rates are 0–1), rounded to 0.1; undefined if either is unknown. */
export function pointsChange(now: number | null | undefined, before: number | null | undefined): number | undefined {
  if (now == null || before == null) return undefined;
  return Math.round((now - before) * 1000) / 10;
}

/**
 * Every bucket of the period, in order, the server's where it has one and an empty one where it
 * has none (it lists only days or weeks with cases). Keys are local dates, `YYYY-MM-DD`; a week
 * is keyed by its Monday.
 */
export function fillBuckets<T>(
  groups: { key?: string | null; value: T }[],
  from: Date,
  to: Date,
  bucket: "day" | "week",
  empty: T,
): { key: string; value: T }[] {
  const byKey = new Map(groups.filter((g) => g.key).map((g) => [g.key!, g.value]));
  const day = (d: Date) => new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const start = day(from);
  if (bucket === "week") start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
  const end = day(to);
  const out: { key: string; value: T }[] = [];
  for (const d = start; d <= end; d.setUTCDate(d.getUTCDate() + (bucket === "week" ? 7 : 1))) {
    const key = d.toISOString().slice(0, 10);
    out.push({ key, value: byKey.get(key) ?? empty });
    byKey.delete(key);
  }
  // A bucket the server keyed outside the browser's idea of the period (another time zone).
  for (const [key, value] of byKey) out.push({ key, value });
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
