//! Inspections of merchants against their four-responsibility pledge (门前四包检查).
//!
//! An officer checks some or all of the pledge's items; each is passed or failed with a note. An
//! inspection is only possible against a pledge that is active on the day, and only for items the
//! pledge contains. A merchant's compliance is summarised over its last N inspections.

use std::collections::BTreeSet;

use crate::ValueError;
use crate::pledge::PledgeStatus;
use crate::text::{Code, clean_text};

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    pub item: Code,
    pub passed: bool,
    pub note: Option<String>,
}

impl ItemResult {
    pub fn new(item: &str, passed: bool, note: Option<&str>) -> Result<Self, ValueError> {
        Ok(Self {
            item: Code::parse(item)?,
            passed,
            note: note
                .filter(|n| !n.trim().is_empty())
                .map(|n| clean_text("note", n, 2_000, true))
                .transpose()?,
        })
    }
}

/// Why an inspection cannot be recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InspectionError {
    #[error("the pledge is {0}, not active; only an active pledge can be inspected against")]
    PledgeNotActive(&'static str),
    #[error("the pledge has no item {0:?}")]
    UnknownItem(String),
    #[error("item {0:?} is given twice")]
    DuplicateItem(String),
    #[error("an inspection checks at least one item")]
    Empty,
}

/// Checks an inspection's results against the pledge's status on the day and its item codes.
pub fn check(
    status: PledgeStatus,
    pledge_items: &[&str],
    results: &[ItemResult],
) -> Result<(), InspectionError> {
    if status != PledgeStatus::Active {
        return Err(InspectionError::PledgeNotActive(status.as_str()));
    }
    if results.is_empty() {
        return Err(InspectionError::Empty);
    }
    let mut seen = BTreeSet::new();
    for r in results {
        let code = r.item.as_str();
        if !pledge_items.contains(&code) {
            return Err(InspectionError::UnknownItem(code.to_owned()));
        }
        if !seen.insert(code) {
            return Err(InspectionError::DuplicateItem(code.to_owned()));
        }
    }
    Ok(())
}

/// A merchant's record over a number of inspections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compliance {
    pub inspections: u32,
    /// Inspections where every checked item passed.
    pub passed_inspections: u32,
    pub items_checked: u32,
    pub items_passed: u32,
}

impl Compliance {
    /// From `(items checked, items passed)` per inspection.
    pub fn from_results(inspections: impl IntoIterator<Item = (u32, u32)>) -> Self {
        let mut c = Compliance {
            inspections: 0,
            passed_inspections: 0,
            items_checked: 0,
            items_passed: 0,
        };
        for (checked, passed) in inspections {
            c.inspections += 1;
            c.items_checked += checked;
            c.items_passed += passed;
            if passed == checked {
                c.passed_inspections += 1;
            }
        }
        c
    }

    /// The score: share of inspections passed in full, 0–1; `None` before the first inspection.
    pub fn score(&self) -> Option<f64> {
        (self.inspections > 0)
            .then(|| f64::from(self.passed_inspections) / f64::from(self.inspections))
    }

    /// Share of items passed, 0–1.
    pub fn item_pass_rate(&self) -> Option<f64> {
        (self.items_checked > 0)
            .then(|| f64::from(self.items_passed) / f64::from(self.items_checked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: [&str; 4] = ["appearance", "sanitation", "order", "greenery"];

    fn r(item: &str, passed: bool) -> ItemResult {
        ItemResult::new(item, passed, None).unwrap()
    }

    #[test]
    fn only_active_pledges() {
        for status in [
            PledgeStatus::Pending,
            PledgeStatus::Expired,
            PledgeStatus::Revoked,
        ] {
            assert_eq!(
                check(status, &ITEMS, &[r("order", true)]),
                Err(InspectionError::PledgeNotActive(status.as_str()))
            );
        }
        assert_eq!(
            check(PledgeStatus::Active, &ITEMS, &[r("order", false)]),
            Ok(())
        );
    }

    #[test]
    fn items_must_be_in_the_pledge_once() {
        assert_eq!(
            check(PledgeStatus::Active, &ITEMS, &[r("parking", true)]),
            Err(InspectionError::UnknownItem("parking".into()))
        );
        assert_eq!(
            check(
                PledgeStatus::Active,
                &ITEMS,
                &[r("order", true), r("order", false)]
            ),
            Err(InspectionError::DuplicateItem("order".into()))
        );
        assert_eq!(
            check(PledgeStatus::Active, &ITEMS, &[]),
            Err(InspectionError::Empty)
        );
    }

    #[test]
    fn notes_are_checked() {
        assert!(ItemResult::new("order", false, Some(&"x".repeat(2_001))).is_err());
        assert_eq!(
            ItemResult::new("order", false, Some("  ")).unwrap().note,
            None
        );
        assert!(ItemResult::new("not a code!", true, None).is_err());
    }

    #[test]
    fn compliance_score() {
        let c = Compliance::from_results([(4, 4), (4, 3), (2, 2), (1, 0)]);
        assert_eq!(c.inspections, 4);
        assert_eq!(c.passed_inspections, 2);
        assert_eq!(c.score(), Some(0.5));
        assert_eq!(c.item_pass_rate(), Some(9.0 / 11.0));
        let none = Compliance::from_results([]);
        assert_eq!(none.score(), None);
        assert_eq!(none.item_pass_rate(), None);
    }
}
