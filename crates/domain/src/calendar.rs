//! The working calendar and SLA time limits.
//!
//! Deadlines of urgent matters run in natural hours; most run in working hours or working days on
//! the city's calendar: daily working windows (e.g. 08:30–12:00 and 13:30–17:30), weekends,
//! public holidays, and make-up working days (调休: a weekend day that is worked). Everything
//! here is in the city's local time (China has one zone and no daylight saving); converting to
//! and from UTC is the caller's job.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::ValueError;

/// One daily working window, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    start: NaiveTime,
    end: NaiveTime,
}

impl Window {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, ValueError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(ValueError::new(
                "working_hours",
                "a window must end after it starts",
            ))
        }
    }

    /// Parses `08:30-12:00`.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new("working_hours", "write a window as HH:MM-HH:MM");
        let (a, b) = raw.trim().split_once('-').ok_or_else(bad)?;
        let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        Self::new(t(a)?, t(b)?)
    }

    pub fn start(self) -> NaiveTime {
        self.start
    }

    pub fn end(self) -> NaiveTime {
        self.end
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// A city's working calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    windows: Vec<Window>,
    weekend: Vec<Weekday>,
    holidays: BTreeSet<NaiveDate>,
    makeup_days: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// Windows must be non-empty and not overlap; at least one weekday must be a working day; no
    /// date may be both a holiday and a make-up working day.
    pub fn new(
        mut windows: Vec<Window>,
        mut weekend: Vec<Weekday>,
        holidays: BTreeSet<NaiveDate>,
        makeup_days: BTreeSet<NaiveDate>,
    ) -> Result<Self, ValueError> {
        windows.sort();
        if windows.is_empty() {
            return Err(ValueError::new(
                "working_hours",
                "at least one working window",
            ));
        }
        if windows.windows(2).any(|w| w[0].end > w[1].start) {
            return Err(ValueError::new("working_hours", "windows must not overlap"));
        }
        weekend.sort_by_key(|d| d.num_days_from_monday());
        weekend.dedup();
        if weekend.len() >= 7 {
            return Err(ValueError::new(
                "weekend",
                "at least one weekday must be worked",
            ));
        }
        if let Some(d) = holidays.intersection(&makeup_days).next() {
            return Err(ValueError::new(
                "makeup_days",
                format!("{d} is both a holiday and a make-up working day"),
            ));
        }
        Ok(Self {
            windows,
            weekend,
            holidays,
            makeup_days,
        })
    }

    /// Mainland government hours: 08:30–12:00 and 13:30–17:30, Saturday and Sunday off, no
    /// holidays configured.
    pub fn standard() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        Self {
            windows: vec![
                Window {
                    start: t(8, 30),
                    end: t(12, 0),
                },
                Window {
                    start: t(13, 30),
                    end: t(17, 30),
                },
            ],
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: BTreeSet::new(),
            makeup_days: BTreeSet::new(),
        }
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub fn weekend(&self) -> &[Weekday] {
        &self.weekend
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    pub fn makeup_days(&self) -> &BTreeSet<NaiveDate> {
        &self.makeup_days
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.makeup_days.contains(&day) {
            return true;
        }
        !self.holidays.contains(&day) && !self.weekend.contains(&day.weekday())
    }

    /// Inside a working window of a working day (`[start, end)`).
    pub fn is_working_time(&self, t: NaiveDateTime) -> bool {
        self.is_working_day(t.date())
            && self
                .windows
                .iter()
                .any(|w| w.start <= t.time() && t.time() < w.end)
    }

    /// Where a deadline may fall: inside a window, or exactly at a window's end.
    pub fn is_deadline_position(&self, t: NaiveDateTime) -> bool {
        self.is_working_day(t.date())
            && self
                .windows
                .iter()
                .any(|w| w.start < t.time() && t.time() <= w.end)
    }

    /// The working intervals of `day`, in order.
    fn intervals(
        &self,
        day: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        let working = self.is_working_day(day);
        self.windows
            .iter()
            .filter(move |_| working)
            .map(move |w| (day.and_time(w.start), day.and_time(w.end)))
    }

    /// `start` plus `amount` of working time. Adding zero returns `start` unchanged.
    pub fn add_working_time(&self, start: NaiveDateTime, amount: Duration) -> NaiveDateTime {
        if amount <= Duration::zero() {
            return start;
        }
        let mut remaining = amount;
        let mut day = start.date();
        loop {
            for (from, to) in self.intervals(day) {
                if to <= start {
                    continue;
                }
                let begin = from.max(start);
                let available = to - begin;
                if remaining <= available {
                    return begin + remaining;
                }
                remaining -= available;
            }
            // `new` guarantees a worked weekday, so some later day always has intervals.
            day = day.succ_opt().unwrap_or(day);
        }
    }

    /// The end of the `days`-th working day after `start`'s date (the day of `start` is not
    /// counted, as with "N 个工作日内"). Zero days returns `start` unchanged.
    pub fn add_working_days(&self, start: NaiveDateTime, days: u32) -> NaiveDateTime {
        if days == 0 {
            return start;
        }
        let mut day = start.date();
        let mut counted = 0;
        loop {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day) {
                counted += 1;
                if counted == days {
                    let end = self.windows.last().map(|w| w.end).unwrap_or(NaiveTime::MIN);
                    return day.and_time(end);
                }
            }
        }
    }

    /// Working time between `a` and `b` (zero when `b <= a`).
    pub fn working_time_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> Duration {
        let mut total = Duration::zero();
        if b <= a {
            return total;
        }
        let mut day = a.date();
        while day <= b.date() {
            for (from, to) in self.intervals(day) {
                let (s, e) = (from.max(a), to.min(b));
                if s < e {
                    total += e - s;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }
}

/// A stage of the loop that has its own time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// From report to acceptance (立案).
    Accept,
    /// From acceptance to dispatch (派遣).
    Dispatch,
    /// From dispatch to signing (签收).
    Sign,
    /// From signing to resolution (处置).
    Resolve,
    /// From resolution to verification (核查).
    Verify,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Accept,
        Stage::Dispatch,
        Stage::Sign,
        Stage::Resolve,
        Stage::Verify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Dispatch => "dispatch",
            Stage::Sign => "sign",
            Stage::Resolve => "resolve",
            Stage::Verify => "verify",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                ValueError::new("stage", "must be accept, dispatch, sign, resolve or verify")
            })
    }
}

/// How long a stage may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// Clock hours, day and night (urgent matters).
    NaturalHours(u32),
    /// Hours of working time on the calendar.
    WorkingHours(u32),
    /// Whole working days, ending at the close of the last one.
    WorkingDays(u32),
}

impl TimeLimit {
    /// Upper bound of any limit, to keep arithmetic far from overflow: a year of hours.
    pub const MAX_AMOUNT: u32 = 24 * 366;

    /// Parses `4h` (natural hours), `8wh` (working hours) or `3wd` (working days).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        let bad = || {
            ValueError::new(
                "time_limit",
                "write 4h (natural hours), 8wh (working hours) or 3wd (working days)",
            )
        };
        let (number, make): (&str, fn(u32) -> TimeLimit) = if let Some(n) = raw.strip_suffix("wh") {
            (n, TimeLimit::WorkingHours)
        } else if let Some(n) = raw.strip_suffix("wd") {
            (n, TimeLimit::WorkingDays)
        } else if let Some(n) = raw.strip_suffix('h') {
            (n, TimeLimit::NaturalHours)
        } else {
            return Err(bad());
        };
        let amount: u32 = number.parse().map_err(|_| bad())?;
        if amount > Self::MAX_AMOUNT {
            return Err(ValueError::new("time_limit", "too long"));
        }
        Ok(make(amount))
    }

    pub fn deadline(self, start: NaiveDateTime, calendar: &WorkingCalendar) -> NaiveDateTime {
        match self {
            TimeLimit::NaturalHours(h) => start + Duration::hours(i64::from(h)),
            TimeLimit::WorkingHours(h) => {
                calendar.add_working_time(start, Duration::hours(i64::from(h)))
            }
            TimeLimit::WorkingDays(d) => calendar.add_working_days(start, d),
        }
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::NaturalHours(h) => write!(f, "{h}h"),
            TimeLimit::WorkingHours(h) => write!(f, "{h}wh"),
            TimeLimit::WorkingDays(d) => write!(f, "{d}wd"),
        }
    }
}

/// The time limits of every stage for one category × priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    limits: [TimeLimit; 5],
}

impl SlaPolicy {
    /// Limits in the order of [`Stage::ALL`].
    pub fn new(limits: [TimeLimit; 5]) -> Self {
        Self { limits }
    }

    pub fn limit(&self, stage: Stage) -> TimeLimit {
        self.limits[stage as usize]
    }

    /// The deadline of `stage` if it starts at `start`.
    pub fn deadline(
        &self,
        stage: Stage,
        start: NaiveDateTime,
        calendar: &WorkingCalendar,
    ) -> NaiveDateTime {
        self.limit(stage).deadline(start, calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// 2026-10: National Day holiday Oct 1–7 and a make-up working Saturday on Oct 10.
    fn calendar() -> WorkingCalendar {
        let holidays = (1..=7)
            .map(|n| NaiveDate::from_ymd_opt(2026, 10, n).unwrap())
            .collect();
        WorkingCalendar::new(
            WorkingCalendar::standard().windows().to_vec(),
            vec![Weekday::Sat, Weekday::Sun],
            holidays,
            [d("2026-10-10")].into(),
        )
        .unwrap()
    }

    #[test]
    fn working_days_follow_weekends_holidays_and_makeup_days() {
        let c = calendar();
        assert!(c.is_working_day(d("2026-11-25"))); // Wednesday
        assert!(!c.is_working_day(d("2026-11-28"))); // Saturday
        assert!(!c.is_working_day(d("2026-10-01"))); // National Day
        assert!(c.is_working_day(d("2026-10-10"))); // make-up Saturday
        assert!(c.is_working_time(dt("2026-11-25 09:00")));
        assert!(!c.is_working_time(dt("2026-11-25 12:30"))); // lunch
        assert!(!c.is_working_time(dt("2026-11-25 17:30"))); // windows are half-open
    }

    #[test]
    fn working_hours_skip_lunch_nights_weekends_and_holidays() {
        let c = calendar();
        // Wednesday 11:00 + 2 working hours: one before lunch, one after → 14:30.
        assert_eq!(
            c.add_working_time(dt("2026-11-25 11:00"), Duration::hours(2)),
            dt("2026-11-25 14:30")
        );
        // Friday 17:00 + 1h: half an hour Friday, half an hour Monday morning.
        assert_eq!(
            c.add_working_time(dt("2026-11-27 17:00"), Duration::hours(1)),
            dt("2026-11-30 09:00")
        );
        // Reported on a holiday evening: counting starts at the next working morning.
        assert_eq!(
            c.add_working_time(dt("2026-10-03 20:00"), Duration::hours(1)),
            dt("2026-10-08 09:30")
        );
        // Ending exactly at the close of the day stays on that day.
        assert_eq!(
            c.add_working_time(dt("2026-11-25 08:30"), Duration::minutes(450)),
            dt("2026-11-25 17:30")
        );
    }

    #[test]
    fn working_days_end_at_close_of_business() {
        let c = calendar();
        // Reported Wednesday: 3 working days → Thu, Fri, Mon → Monday 17:30.
        assert_eq!(
            c.add_working_days(dt("2026-11-25 10:00"), 3),
            dt("2026-11-30 17:30")
        );
        // Reported Sept 30: Oct 1–7 are holidays, Oct 8 Thu, 9 Fri, 10 make-up Sat.
        assert_eq!(
            c.add_working_days(dt("2026-09-30 16:00"), 3),
            dt("2026-10-10 17:30")
        );
    }

    #[test]
    fn natural_hours_ignore_the_calendar() {
        let c = calendar();
        assert_eq!(
            TimeLimit::NaturalHours(2).deadline(dt("2026-10-01 23:00"), &c),
            dt("2026-10-02 01:00")
        );
    }

    #[test]
    fn calendars_that_cannot_work_are_refused() {
        let w = WorkingCalendar::standard().windows().to_vec();
        assert!(WorkingCalendar::new(vec![], vec![], BTreeSet::new(), BTreeSet::new()).is_err());
        let all = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        assert!(WorkingCalendar::new(w.clone(), all, BTreeSet::new(), BTreeSet::new()).is_err());
        let overlap = vec![
            Window::parse("08:00-12:00").unwrap(),
            Window::parse("11:00-13:00").unwrap(),
        ];
        assert!(WorkingCalendar::new(overlap, vec![], BTreeSet::new(), BTreeSet::new()).is_err());
        let day: BTreeSet<_> = [d("2026-10-10")].into();
        assert!(WorkingCalendar::new(w, vec![], day.clone(), day).is_err());
        assert!(Window::parse("17:00-08:00").is_err());
        assert!(Window::parse("8-12").is_err());
        assert_eq!(
            Window::parse("08:30-12:00").unwrap().to_string(),
            "08:30-12:00"
        );
    }

    #[test]
    fn time_limits_parse_and_print() {
        for (raw, want) in [
            ("4h", TimeLimit::NaturalHours(4)),
            ("8wh", TimeLimit::WorkingHours(8)),
            ("3wd", TimeLimit::WorkingDays(3)),
        ] {
            assert_eq!(TimeLimit::parse(raw).unwrap(), want);
            assert_eq!(want.to_string(), raw);
        }
        for bad in ["", "h", "4", "-1h", "4x", "99999999wd", "4 h"] {
            assert!(TimeLimit::parse(bad).is_err(), "{bad}");
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn a_policy_picks_the_limit_of_each_stage() {
        let p = SlaPolicy::new([
            TimeLimit::NaturalHours(2),
            TimeLimit::WorkingHours(4),
            TimeLimit::WorkingHours(2),
            TimeLimit::WorkingDays(3),
            TimeLimit::WorkingDays(1),
        ]);
        assert_eq!(p.limit(Stage::Resolve), TimeLimit::WorkingDays(3));
        assert_eq!(
            p.deadline(Stage::Accept, dt("2026-11-25 10:00"), &calendar()),
            dt("2026-11-25 12:00")
        );
    }

    fn any_start() -> impl Strategy<Value = NaiveDateTime> {
        // Any minute from 2026-09-20 to 2026-12-31, across the October holidays.
        (0i64..(102 * 24 * 60)).prop_map(|m| dt("2026-09-20 00:00") + Duration::minutes(m))
    }

    proptest! {
        #[test]
        fn a_working_deadline_is_never_in_non_working_time(start in any_start(), minutes in 1i64..(40 * 60)) {
            let c = calendar();
            let end = c.add_working_time(start, Duration::minutes(minutes));
            prop_assert!(c.is_deadline_position(end), "{start} + {minutes}m = {end}");
            let days = (minutes / 60) as u32 % 20 + 1;
            prop_assert!(c.is_deadline_position(c.add_working_days(start, days)));
        }

        #[test]
        fn exactly_the_asked_working_time_elapses(start in any_start(), minutes in 0i64..(40 * 60)) {
            let c = calendar();
            let end = c.add_working_time(start, Duration::minutes(minutes));
            prop_assert_eq!(c.working_time_between(start, end), Duration::minutes(minutes));
        }

        #[test]
        fn adding_zero_is_identity(start in any_start()) {
            let c = calendar();
            prop_assert_eq!(c.add_working_time(start, Duration::zero()), start);
            prop_assert_eq!(c.add_working_days(start, 0), start);
        }

        #[test]
        fn deadlines_are_monotonic(a in any_start(), b in any_start(), m1 in 0i64..3000, m2 in 0i64..3000) {
            let c = calendar();
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            let (short, long) = if m1 <= m2 { (m1, m2) } else { (m2, m1) };
            prop_assert!(c.add_working_time(early, Duration::minutes(short)) <= c.add_working_time(late, Duration::minutes(short)));
            prop_assert!(c.add_working_time(early, Duration::minutes(short)) <= c.add_working_time(early, Duration::minutes(long)));
            let (d1, d2) = ((short / 200) as u32, (long / 200) as u32);
            prop_assert!(c.add_working_days(early, d1) <= c.add_working_days(late, d1));
            prop_assert!(c.add_working_days(early, d1) <= c.add_working_days(early, d2));
        }
    }
}
