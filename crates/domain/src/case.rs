//! Values of a case (案件/工单). The lifecycle itself arrives with the cases capability; what is
//! here is what every other part already needs to name: numbers, statuses, types, priorities,
//! sources, and the routed location that ties a case to exactly one grid.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ValueError;
use crate::calendar::{SlaPolicy, Stage, TimeLimit};
use crate::geography::CasePrefix;
use crate::ids::{CaseId, CategoryId, PlaceId, UserId};
use crate::jurisdiction::AreaPath;
use crate::location::Coordinate;
use crate::people::PhoneNumber;
use crate::routing::GridHit;
use crate::text::{Name, clean_text};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $s:literal / $zh:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn name_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                match raw.trim() {
                    $($s => Ok($name::$variant),)+
                    _ => Err(ValueError::new(
                        $field,
                        concat!("must be one of: ", $($s, " "),+).trim_end(),
                    )
                    .zh(concat!("须为以下之一：", $($s, " "),+).trim_end())),
                }
            }
        }
    };
}

wire_enum!(
    /// Where a case is in the closed loop (闭环).
    CaseStatus, "status" {
        /// 待受理
        Reported = "reported" / "待受理",
        /// 立案
        Accepted = "accepted" / "已立案",
        /// 不予立案
        Rejected = "rejected" / "不予立案",
        /// 派遣
        Dispatched = "dispatched" / "已派遣",
        /// 签收, being handled
        InProgress = "in_progress" / "处置中",
        /// 处置完成
        Resolved = "resolved" / "处置完成",
        /// 核查通过
        Verified = "verified" / "核查通过",
        /// 结案
        Closed = "closed" / "已结案",
    }
);

impl CaseStatus {
    /// Terminal states: nothing is pending on the bureau's side (a reopen starts a new round).
    pub fn is_terminal(self) -> bool {
        matches!(self, CaseStatus::Rejected | CaseStatus::Closed)
    }
}

wire_enum!(
    /// The kind of matter.
    CaseType, "case_type" {
        Complaint = "complaint" / "投诉",
        HelpRequest = "help_request" / "求助",
        Consultation = "consultation" / "咨询",
        Suggestion = "suggestion" / "建议",
    }
);

wire_enum!(
    /// How urgent; selects the SLA time limits.
    Priority, "priority" {
        Urgent = "urgent" / "紧急",
        High = "high" / "较急",
        Normal = "normal" / "一般",
        Low = "low" / "不急",
    }
);

impl Priority {
    /// The SLA limits that apply when no policy is configured for a category × this priority:
    /// urgent matters on the clock, others on working time. The demo and a real city configure
    /// their own.
    pub fn default_sla(self) -> SlaPolicy {
        use TimeLimit::{NaturalHours as N, WorkingDays as D, WorkingHours as W};
        match self {
            Priority::Urgent => SlaPolicy::new([N(1), N(1), N(1), N(4), N(24)]),
            Priority::High => SlaPolicy::new([W(2), W(2), W(2), D(1), D(1)]),
            Priority::Normal => SlaPolicy::new([W(4), W(4), W(4), D(3), D(2)]),
            Priority::Low => SlaPolicy::new([D(1), D(1), D(1), D(5), D(3)]),
        }
    }
}

wire_enum!(
    /// Through which channel the case came in.
    CaseSource, "source" {
        ResidentApp = "resident_app" / "居民吹哨",
        Open311 = "open311" / "Open311",
        OfficerPatrol = "officer_patrol" / "巡查发现",
        Hotline12345 = "hotline_12345" / "12345热线",
        Partner = "partner" / "物业/业委会",
    }
);

/// A human case number: `<district prefix>-<yyyymmdd>-<sequence>`, e.g. `HZ-20261125-000123`.
///
/// The sequence is at least six digits, counted per district and day. Numbers are unique but may
/// have gaps (a rolled-back intake burns its number), which is what the issue asks and what
/// makes allocation cheap under concurrency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseNumber(String);

impl CaseNumber {
    pub fn new(prefix: &CasePrefix, day: NaiveDate, seq: u64) -> Self {
        Self(format!(
            "{}-{}-{:06}",
            prefix.as_str(),
            day.format("%Y%m%d"),
            seq
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let err = || {
            ValueError::new("case_number", "must look like HZ-20261125-000123")
                .zh("格式须如 HZ-20261125-000123")
        };
        let mut parts = raw.trim().split('-');
        let (Some(prefix), Some(date), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        let prefix = CasePrefix::parse(prefix).map_err(|_| err())?;
        let day = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| err())?;
        if date.len() != 8 || seq.len() < 6 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let seq: u64 = seq.parse().map_err(|_| err())?;
        if seq == 0 {
            return Err(err());
        }
        Ok(Self::new(&prefix, day, seq))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a case is: the reported point and the one grid and community it was routed to. It can
/// only be made from a routing result, which is how "a case has one grid" holds by construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseLocation {
    point: Coordinate,
    hit: GridHit,
    place: Option<PlaceId>,
}

impl CaseLocation {
    pub fn routed(point: Coordinate, hit: GridHit) -> Self {
        Self {
            point,
            hit,
            place: None,
        }
    }

    /// The point came from this address-book entry (the report had no coordinates).
    pub fn from_place(self, place: PlaceId) -> Self {
        Self {
            place: Some(place),
            ..self
        }
    }

    pub fn place(&self) -> Option<PlaceId> {
        self.place
    }

    pub fn point(&self) -> Coordinate {
        self.point
    }

    pub fn grid(&self) -> GridHit {
        self.hit
    }
}

/// What the resident wrote: 1–5000 characters, newlines allowed, stored as text and never
/// interpreted as markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_text("description", raw, Self::MAX_CHARS, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who reported a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Reporter {
    /// A logged-in account (resident, partner, officer on patrol, dispatcher).
    Account(UserId),
    /// Someone without an account, following the case with a tracking token; name and phone
    /// when given (hotline callers usually give them).
    Anonymous {
        name: Option<Name>,
        phone: Option<PhoneNumber>,
    },
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: CaseId,
    pub number: CaseNumber,
    pub category_id: CategoryId,
    pub case_type: CaseType,
    pub priority: Priority,
    pub source: CaseSource,
    pub status: CaseStatus,
    pub description: Description,
    pub address: Option<String>,
    pub location: CaseLocation,
    /// The place at every level, for jurisdiction checks.
    pub area: AreaPath,
    pub reporter: Reporter,
    /// Who records the case: the reporting account, if any (the policy's "owner").
    pub reporter_id: Option<UserId>,
    /// Who the intake suggested (the community's officer with the least open load).
    pub suggested_officer: Option<UserId>,
    pub assignee: Option<UserId>,
    /// The stage whose clock runs, with its deadline (UTC).
    pub stage: Option<Stage>,
    pub stage_due: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: i32,
    pub rating: Option<Rating>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Answers to the category's extra questions.
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// The merchant the case is about (opened after a failed inspection, or reported about it).
    pub merchant_id: Option<crate::ids::MerchantId>,
}

/// A reporter's rating of the result (满意度): 1–5 with an optional comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    score: u8,
    comment: Option<String>,
}

impl Rating {
    pub fn new(score: i64, comment: Option<&str>) -> Result<Self, ValueError> {
        if !(1..=5).contains(&score) {
            return Err(ValueError::new("rating", "must be 1 to 5").zh("须为 1 到 5"));
        }
        let comment = comment
            .filter(|c| !c.trim().is_empty())
            .map(|c| clean_text("rating_comment", c, 1000, true))
            .transpose()?;
        Ok(Self {
            score: score as u8,
            comment,
        })
    }

    pub fn score(&self) -> u8 {
        self.score
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }
}

/// What a photo on a case shows: the reporter's evidence, or the handling officer's
/// after-photo. Stored as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    Report,
    After,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Report => "report",
            AttachmentKind::After => "after",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "report" => Ok(AttachmentKind::Report),
            "after" => Ok(AttachmentKind::After),
            _ => Err(ValueError::new("kind", "must be report or after").zh("须为 report 或 after")),
        }
    }
}

impl PartialEq<&str> for AttachmentKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CommunityId, GridId};

    #[test]
    fn case_numbers_format_and_parse() {
        let prefix = CasePrefix::parse("HZ").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let n = CaseNumber::new(&prefix, day, 123);
        assert_eq!(n.as_str(), "HZ-20261125-000123");
        assert_eq!(CaseNumber::parse("HZ-20261125-000123").unwrap(), n);
        // More than a million a day in one district still formats and parses.
        assert_eq!(
            CaseNumber::parse("HZ-20261125-1000001").unwrap().as_str(),
            "HZ-20261125-1000001"
        );
        for bad in [
            "HZ-20261125-123",
            "hz-20261125-000123",
            "HZ-20261325-000123",
            "HZ-2026112-000123",
            "HZ-20261125-000000",
            "HZ-20261125",
            "HZ-20261125-000123-1",
            "HZ-20261125-00012a",
        ] {
            assert!(CaseNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enums_round_trip() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>().unwrap(), *s);
        }
        for t in CaseType::ALL {
            assert_eq!(t.as_str().parse::<CaseType>().unwrap(), *t);
        }
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), *p);
        }
        for s in CaseSource::ALL {
            assert_eq!(s.as_str().parse::<CaseSource>().unwrap(), *s);
        }
        let err = "bogus".parse::<Priority>().unwrap_err();
        assert_eq!(err.field, "priority");
        assert!(err.reason.contains("urgent"));
        assert!(CaseStatus::Closed.is_terminal());
        assert!(!CaseStatus::Resolved.is_terminal());
        assert_eq!(CaseStatus::Accepted.name_zh(), "已立案");
    }

    #[test]
    fn descriptions_keep_markup_as_text_and_are_bounded() {
        let d = Description::parse("<script>alert(1)</script>\n南门外高音喇叭").unwrap();
        assert!(d.as_str().starts_with("<script>"));
        assert!(Description::parse("").is_err());
        assert!(Description::parse(&"吵".repeat(5000)).is_ok());
        assert!(Description::parse(&"吵".repeat(5001)).is_err());
    }

    #[test]
    fn ratings_are_one_to_five() {
        assert_eq!(Rating::new(5, Some("很满意")).unwrap().score(), 5);
        assert_eq!(Rating::new(4, Some("  ")).unwrap().comment(), None);
        assert!(Rating::new(0, None).is_err());
        assert!(Rating::new(6, None).is_err());
    }

    #[test]
    fn a_case_location_carries_exactly_one_grid() {
        let hit = GridHit {
            grid_id: GridId::new(3).unwrap(),
            community_id: CommunityId::new(1).unwrap(),
        };
        let loc = CaseLocation::routed(Coordinate::wgs84(34.6, 119.2).unwrap(), hit);
        assert_eq!(loc.grid().grid_id.get(), 3);
    }
}
