//! The case-category catalogue: what residents can report, in Chinese and English.

use crate::case::{CaseType, Priority};
use crate::ids::CategoryId;
use crate::text::{BilingualName, Code};

/// One kind of problem (噪声扰民, 游商占道经营, 占绿毁绿 …).
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    /// Stable machine code (`noise`, `street_vending`); also the Open311 service code.
    pub code: Code,
    pub name: BilingualName,
    /// The kind of matter a report in this category usually is.
    pub case_type: CaseType,
    pub default_priority: Priority,
    /// Retired categories stay for old cases but accept no new reports.
    pub active: bool,
}
