//! Time as the city lives it: a [`Clock`] passed to whatever needs "now" (the system's in
//! production, a [`FixedClock`] in tests), and the city's offset from UTC ([`CityOffset`]),
//! validated once when the configuration is read.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SubsecRound, Utc};

use crate::ValueError;

/// Where "now" comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, to the microsecond: PostgreSQL keeps microseconds, and list cursors carry times at
    /// that precision, so nothing stored may be finer.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that says what it is told, for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        Self(Mutex::new(t.trunc_subsecs(6)))
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t.trunc_subsecs(6);
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The city's offset from UTC (China: +480 minutes), in whole quarter hours within ±14 hours,
/// as every offset in use is. Configured as `cases.utc_offset_minutes`.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct CityOffset(FixedOffset);

impl CityOffset {
    /// China Standard Time, UTC+8.
    pub const CHINA: CityOffset = CityOffset(match FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => panic!("UTC+8 is a valid offset"),
    });

    pub fn from_minutes(minutes: i32) -> Result<Self, ValueError> {
        let refuse = || {
            ValueError::new(
                "utc_offset_minutes",
                format!("must be whole quarter hours within ±840 minutes, not {minutes}"),
            )
            .zh(format!("须为 ±840 分钟以内的整刻钟数，而不是 {minutes}"))
        };
        if minutes % 15 != 0 || minutes.abs() > 14 * 60 {
            return Err(refuse());
        }
        FixedOffset::east_opt(minutes * 60)
            .map(Self)
            .ok_or_else(refuse)
    }

    pub fn minutes(self) -> i32 {
        self.0.local_minus_utc() / 60
    }

    pub fn fixed(self) -> FixedOffset {
        self.0
    }

    /// The wall-clock time in the city at `t`.
    pub fn local(self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.0).naive_local()
    }

    /// The city's calendar day at `t`.
    pub fn today(self, t: DateTime<Utc>) -> NaiveDate {
        self.local(t).date()
    }

    /// The instant of a wall-clock time in the city (a fixed offset has no gaps or folds).
    pub fn to_utc(self, local: NaiveDateTime) -> DateTime<Utc> {
        (local - chrono::Duration::seconds(i64::from(self.0.local_minus_utc()))).and_utc()
    }
}

impl Default for CityOffset {
    fn default() -> Self {
        Self::CHINA
    }
}

impl fmt::Debug for CityOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CityOffset({})", self.0)
    }
}

impl fmt::Display for CityOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UTC{}", self.0)
    }
}

impl TryFrom<i32> for CityOffset {
    type Error = ValueError;

    fn try_from(minutes: i32) -> Result<Self, ValueError> {
        Self::from_minutes(minutes)
    }
}

impl From<CityOffset> for i32 {
    fn from(o: CityOffset) -> i32 {
        o.minutes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn offsets_are_whole_quarter_hours_within_fourteen_hours() {
        assert_eq!(CityOffset::from_minutes(480).unwrap(), CityOffset::CHINA);
        assert_eq!(CityOffset::from_minutes(-570).unwrap().minutes(), -570);
        assert_eq!(CityOffset::from_minutes(840).unwrap().minutes(), 840);
        for bad in [7, 845, -900, 8 * 3600] {
            let e = CityOffset::from_minutes(bad).unwrap_err();
            assert_eq!(e.field, "utc_offset_minutes");
        }
        let parsed: CityOffset = serde_json::from_str("330").unwrap();
        assert_eq!(parsed.minutes(), 330);
        assert!(serde_json::from_str::<CityOffset>("28800").is_err());
        assert_eq!(serde_json::to_string(&CityOffset::CHINA).unwrap(), "480");
    }

    #[test]
    fn local_time_and_back() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 17, 30, 0).unwrap();
        let city = CityOffset::CHINA;
        assert_eq!(city.local(t).to_string(), "2026-12-02 01:30:00");
        assert_eq!(city.today(t).to_string(), "2026-12-02");
        assert_eq!(city.to_utc(city.local(t)), t);
    }

    #[test]
    fn a_fixed_clock_says_what_it_is_told() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let clock = FixedClock::at(t);
        assert_eq!(clock.now(), t);
        clock.advance(chrono::Duration::hours(2));
        assert_eq!(clock.now(), t + chrono::Duration::hours(2));
        let real = SystemClock.now();
        assert_eq!(real.timestamp_subsec_nanos() % 1000, 0);
    }
}
