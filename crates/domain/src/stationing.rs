//! Stationing (派驻): officers posted to communities ("城管进社区").
//!
//! A stationing runs over an inclusive period of calendar days, open-ended until it is ended. An
//! officer serves one community at a time: two stationings of the same officer may not share a
//! day. A community may have several officers at once; intake routes a new case to the one with
//! the fewest open cases (see the persistence crate's `suggest_officer`).

use chrono::NaiveDate;

use crate::ValueError;

/// Inclusive days `[starts_on, ends_on]`; `ends_on: None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
}

impl Period {
    pub fn new(starts_on: NaiveDate, ends_on: Option<NaiveDate>) -> Result<Self, ValueError> {
        match ends_on {
            Some(end) if end < starts_on => {
                Err(ValueError::new("ends_on", "must not be before starts_on"))
            }
            _ => Ok(Self { starts_on, ends_on }),
        }
    }

    pub fn starts_on(self) -> NaiveDate {
        self.starts_on
    }

    pub fn ends_on(self) -> Option<NaiveDate> {
        self.ends_on
    }

    /// Is `day` inside the period?
    pub fn contains(self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|end| day <= end)
    }

    /// Do the two periods share a day?
    pub fn overlaps(self, other: Period) -> bool {
        let a_before_b_ends = other.ends_on.is_none_or(|end| self.starts_on <= end);
        let b_before_a_ends = self.ends_on.is_none_or(|end| other.starts_on <= end);
        a_before_b_ends && b_before_a_ends
    }

    /// The period ended on `day` (inclusive). `day` must not be before the start, and an ended
    /// period cannot be extended this way.
    pub fn end_on(self, day: NaiveDate) -> Result<Self, ValueError> {
        if let Some(end) = self.ends_on
            && day > end
        {
            return Err(ValueError::new(
                "ends_on",
                "the stationing already ends earlier; create a new one instead",
            ));
        }
        Period::new(self.starts_on, Some(day))
    }
}

/// The first of `existing` (an officer's other stationings) that shares a day with `new`.
pub fn first_overlap<T: Copy>(new: Period, existing: &[(T, Period)]) -> Option<T> {
    existing
        .iter()
        .find(|(_, p)| p.overlaps(new))
        .map(|(id, _)| *id)
}

/// What a partner organisation serving a community is: a property company (物业公司) or a
/// homeowners' committee (业委会). Stored as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationKind {
    PropertyCompany,
    HomeownersCommittee,
}

impl OrganisationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::PropertyCompany => "property_company",
            OrganisationKind::HomeownersCommittee => "homeowners_committee",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValueError> {
        match raw {
            "property_company" => Ok(OrganisationKind::PropertyCompany),
            "homeowners_committee" => Ok(OrganisationKind::HomeownersCommittee),
            _ => Err(crate::ValueError::new(
                "kind",
                "must be property_company or homeowners_committee",
            )
            .zh("须为 property_company 或 homeowners_committee")),
        }
    }
}

impl PartialEq<&str> for OrganisationKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn p(a: &str, b: Option<&str>) -> Period {
        Period::new(d(a), b.map(d)).unwrap()
    }

    #[test]
    fn a_period_cannot_end_before_it_starts() {
        assert!(Period::new(d("2026-02-01"), Some(d("2026-01-31"))).is_err());
        assert!(Period::new(d("2026-02-01"), Some(d("2026-02-01"))).is_ok());
    }

    #[test]
    fn contains_is_inclusive_and_open_ended() {
        let closed = p("2026-01-01", Some("2026-01-31"));
        assert!(!closed.contains(d("2025-12-31")));
        assert!(closed.contains(d("2026-01-01")));
        assert!(closed.contains(d("2026-01-31")));
        assert!(!closed.contains(d("2026-02-01")));
        let open = p("2026-01-01", None);
        assert!(open.contains(d("2099-01-01")));
    }

    #[test]
    fn overlap_table() {
        let cases = [
            (
                ("2026-01-01", Some("2026-01-31")),
                ("2026-02-01", None),
                false,
            ),
            (
                ("2026-01-01", Some("2026-01-31")),
                ("2026-01-31", None),
                true,
            ),
            (("2026-01-01", None), ("2027-06-01", None), true),
            (
                ("2026-03-01", None),
                ("2026-01-01", Some("2026-02-28")),
                false,
            ),
            (
                ("2026-03-01", None),
                ("2026-01-01", Some("2026-03-01")),
                true,
            ),
            (
                ("2026-01-10", Some("2026-01-20")),
                ("2026-01-01", Some("2026-12-31")),
                true,
            ),
        ];
        for ((a1, a2), (b1, b2), want) in cases {
            let (a, b) = (p(a1, a2), p(b1, b2));
            assert_eq!(a.overlaps(b), want, "{a:?} vs {b:?}");
            assert_eq!(b.overlaps(a), want, "symmetric: {b:?} vs {a:?}");
        }
    }

    #[test]
    fn ending_a_period() {
        let open = p("2026-01-01", None);
        assert_eq!(
            open.end_on(d("2026-06-30")).unwrap().ends_on(),
            Some(d("2026-06-30"))
        );
        assert!(open.end_on(d("2025-12-31")).is_err(), "before the start");
        let closed = p("2026-01-01", Some("2026-03-01"));
        assert!(closed.end_on(d("2026-04-01")).is_err(), "no extension");
        assert!(closed.end_on(d("2026-02-01")).is_ok(), "ending earlier");
    }

    #[test]
    fn first_overlap_names_the_conflict() {
        let existing = [
            (1, p("2025-01-01", Some("2025-12-31"))),
            (2, p("2026-01-01", None)),
        ];
        assert_eq!(first_overlap(p("2026-05-01", None), &existing), Some(2));
        assert_eq!(
            first_overlap(p("2024-01-01", Some("2024-12-31")), &existing),
            None
        );
    }
}
