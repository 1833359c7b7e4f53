// The working calendar as the admin edits it: a date is a working day by the weekly rule,
// a public holiday (法定节假日, off), or a make-up working day (调休, on though a weekend day).
export type DayKind = "rule" | "holiday" | "makeup";

export interface CalendarDays {
  weekend: string[];
  holidays: string[];
  makeup_days: string[];
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** `YYYY-MM-DD` of a calendar date (the date as shown, whatever the time zone). */
export function ymd(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function kindOf(cal: CalendarDays, day: string): DayKind {
  if (cal.holidays.includes(day)) return "holiday";
  if (cal.makeup_days.includes(day)) return "makeup";
  return "rule";
}

/** Whether staff work that day. */
export function isWorking(cal: CalendarDays, day: string): boolean {
  const kind = kindOf(cal, day);
  if (kind !== "rule") return kind === "makeup";
  const [y, m, d] = day.split("-").map(Number);
  return !cal.weekend.includes(WEEKDAYS[new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay()]!);
}

/** The calendar with `day` set to `kind` (a day is never both a holiday and a make-up day). */
export function setKind<T extends CalendarDays>(cal: T, day: string, kind: DayKind): T {
  const holidays = cal.holidays.filter((d) => d !== day);
  const makeup = cal.makeup_days.filter((d) => d !== day);
  if (kind === "holiday") holidays.push(day);
  if (kind === "makeup") makeup.push(day);
  return { ...cal, holidays: holidays.sort(), makeup_days: makeup.sort() };
}
