//! Rules every piece of text that enters the system obeys, whatever field it ends up in:
//! query parameters, path segments and JSON strings are screened against them before any
//! handler sees them, so no lookup can hand the database a value it refuses (PostgreSQL
//! rejects U+0000 in text) or a time outside its range.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};

use crate::ValueError;

/// The years a date or time given by a client may fall in. Nothing the bureau records happened
/// before 2000 or is planned after 2100; outside that range a value is a mistake or a probe
/// (and PostgreSQL's timestamps end long before chrono's).
pub const YEARS: RangeInclusive<i32> = 2000..=2100;

/// A control character that no text field accepts: every C0 and C1 control except the tab and
/// the line breaks a multi-line description may hold.
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses text holding a control character other than tab and line breaks.
pub fn refuse_controls(field: &'static str, raw: &str) -> Result<(), ValueError> {
    if raw.chars().any(is_refused_control) {
        return Err(
            ValueError::new(field, "must not contain control characters").zh("不能含有控制字符"),
        );
    }
    Ok(())
}

/// The year of `raw` if it reads as a date or a time in any form a client can send one in
/// (RFC 3339 with an offset, a local date-time, a calendar date); `None` for anything else.
pub fn date_year(raw: &str) -> Option<i32> {
    let raw = raw.trim();
    // Cheap shape test first: every form starts with an optionally signed run of digits and a
    // hyphen, which almost no free text does.
    let unsigned = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 || unsigned.as_bytes().get(digits) != Some(&b'-') {
        return None;
    }
    if let Ok(t) = raw.parse::<DateTime<FixedOffset>>() {
        return Some(t.year());
    }
    if let Ok(t) = raw.parse::<NaiveDateTime>() {
        return Some(t.year());
    }
    raw.parse::<NaiveDate>().ok().map(|d| d.year())
}

/// Refuses a date or time outside [`YEARS`]; text that is not a date passes.
pub fn refuse_distant_dates(field: &'static str, raw: &str) -> Result<(), ValueError> {
    match date_year(raw) {
        Some(year) if !YEARS.contains(&year) => Err(ValueError::new(
            field,
            format!(
                "dates must fall in the years {}–{}",
                YEARS.start(),
                YEARS.end()
            ),
        )
        .zh(format!(
            "日期须在 {} 年至 {} 年之间",
            YEARS.start(),
            YEARS.end()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn controls_are_refused_but_line_breaks_are_not() {
        assert!(refuse_controls("q", "abc").is_ok());
        assert!(refuse_controls("q", "第一行\n第二行\r\n\t缩进").is_ok());
        for bad in [
            "\0abc",
            "noise\u{0}",
            "a\u{7}b",
            "a\u{1b}[31m",
            "a\u{85}b",
            "\u{7f}",
        ] {
            let err = refuse_controls("q", bad).unwrap_err();
            assert_eq!(err.field, "q");
        }
    }

    #[test]
    fn dates_in_every_form_are_read() {
        assert_eq!(date_year("2026-12-01"), Some(2026));
        assert_eq!(date_year("2026-12-01T08:30:00Z"), Some(2026));
        assert_eq!(date_year("2026-12-01T08:30:00+08:00"), Some(2026));
        assert_eq!(date_year("2026-12-01T08:30:00"), Some(2026));
        assert_eq!(date_year("-262143-01-01T00:00:00Z"), Some(-262143));
        assert_eq!(date_year("+99999-01-01"), Some(99999));
        assert_eq!(date_year("HZ-20261201-000003"), None);
        assert_eq!(date_year("2026"), None);
        assert_eq!(date_year("噪声扰民"), None);
        assert_eq!(date_year("12-01"), None);
    }

    #[test]
    fn distant_dates_are_refused() {
        assert!(refuse_distant_dates("created_from", "2026-01-01T00:00:00Z").is_ok());
        assert!(refuse_distant_dates("created_from", "2000-01-01").is_ok());
        assert!(refuse_distant_dates("created_from", "2100-12-31T23:59:59Z").is_ok());
        assert!(refuse_distant_dates("created_from", "not a date").is_ok());
        for bad in [
            "-262143-01-01T00:00:00Z",
            "1999-12-31",
            "2101-01-01T00:00:00Z",
            "+262142-12-31T23:59:59Z",
        ] {
            let err = refuse_distant_dates("created_from", bad).unwrap_err();
            assert_eq!(err.field, "created_from", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn screening_never_panics(s in "\\PC*|[-+]?[0-9]{4,7}-[0-9]{2}-[0-9]{2}.*") {
            let _ = refuse_controls("f", &s);
            let _ = refuse_distant_dates("f", &s);
        }
    }
}
