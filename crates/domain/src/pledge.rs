//! Four-responsibility pledges (门前四包责任书).
//!
//! A merchant signs, before an officer, to keep the stretch in front of its door tidy (市容),
//! clean (环境卫生), orderly (秩序) and its greenery and facilities intact (绿化/设施). The items are
//! configurable per city; the pledge's status is computed from its dates, never stored stale.

use chrono::NaiveDate;

use crate::ValueError;
use crate::ids::{MerchantId, PledgeId, UserId};
use crate::text::{BilingualName, Code, Name, clean_text};

/// One responsibility of the pledge, as configured for the city.
#[derive(Debug, Clone, PartialEq)]
pub struct PledgeItem {
    pub code: Code,
    pub name: BilingualName,
    /// What the merchant undertakes, in the wording printed on the pledge.
    pub text: String,
}

impl PledgeItem {
    /// The four items most cities use; a city may replace them.
    pub fn defaults() -> Vec<PledgeItem> {
        let item = |code: &str, zh: &str, en: &str, text: &str| PledgeItem {
            code: Code::parse(code).expect("static code"),
            name: BilingualName::new(
                Name::parse(zh).expect("static name"),
                Name::parse(en).expect("static name"),
            ),
            text: text.to_owned(),
        };
        vec![
            item(
                "appearance",
                "市容整洁",
                "Tidy frontage",
                "门前无乱堆乱放、无出店经营、无乱设广告招牌。",
            ),
            item(
                "sanitation",
                "环境卫生",
                "Sanitation",
                "门前无垃圾杂物、无污水油渍，垃圾分类投放。",
            ),
            item(
                "order",
                "公共秩序",
                "Public order",
                "门前无占道、无高音喇叭叫卖噪声扰民、车辆有序停放。",
            ),
            item(
                "greenery",
                "绿化与设施",
                "Greenery and facilities",
                "爱护门前绿化和公共设施，不占绿毁绿、不损坏设施。",
            ),
        ]
    }
}

/// A pledge's state on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PledgeStatus {
    /// Signed, validity not started yet.
    Pending,
    Active,
    Expired,
    Revoked,
}

impl PledgeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PledgeStatus::Pending => "pending",
            PledgeStatus::Active => "active",
            PledgeStatus::Expired => "expired",
            PledgeStatus::Revoked => "revoked",
        }
    }
}

/// A signed pledge.
#[derive(Debug, Clone, PartialEq)]
pub struct Pledge {
    pub id: PledgeId,
    pub merchant_id: MerchantId,
    /// The officer's account.
    pub signing_officer: UserId,
    /// The frontage the pledge covers, e.g. "东至文昌路口，西至12号门面，门前5米".
    pub frontage: String,
    pub signed_on: NaiveDate,
    pub validity: Validity,
    pub revoked_on: Option<NaiveDate>,
}

/// An inclusive date range `[from, until]` with `from <= until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    from: NaiveDate,
    until: NaiveDate,
}

impl Validity {
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<Self, ValueError> {
        if from <= until {
            Ok(Self { from, until })
        } else {
            Err(ValueError::new("validity", "must not end before it starts"))
        }
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn until(self) -> NaiveDate {
        self.until
    }

    /// Do the two ranges share at least one day?
    pub fn overlaps(self, other: Validity) -> bool {
        self.from <= other.until && other.from <= self.until
    }
}

/// A pledge's own printed number (责任书编号), e.g. `MQ-2026-000001`: 门前, the year of signing,
/// and the pledge's place in that year. Not the database id, which says nothing to a merchant
/// and reveals how many pledges the city holds in total.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PledgeNumber(String);

impl PledgeNumber {
    pub fn new(year: i32, seq: u64) -> Self {
        Self(format!("MQ-{year:04}-{seq:06}"))
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let err = || ValueError::new("number", "must look like MQ-2026-000123");
        let rest = raw.trim().strip_prefix("MQ-").ok_or_else(err)?;
        let (year, seq) = rest.split_once('-').ok_or_else(err)?;
        if year.len() != 4
            || seq.len() < 6
            || !year.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let year: i32 = year.parse().map_err(|_| err())?;
        let seq: u64 = seq.parse().map_err(|_| err())?;
        if seq == 0 {
            return Err(err());
        }
        Ok(Self::new(year, seq))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PledgeNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pledge {
    /// Checks the pledge's own invariants: a frontage description, and a signing date no later
    /// than the end of validity (a pledge cannot be signed after it has run out).
    pub fn new(
        id: PledgeId,
        merchant_id: MerchantId,
        signing_officer: UserId,
        frontage: &str,
        signed_on: NaiveDate,
        validity: Validity,
    ) -> Result<Self, ValueError> {
        let frontage = clean_text("frontage", frontage, 500, true)?;
        if signed_on > validity.until() {
            return Err(ValueError::new(
                "signed_on",
                "must not be after the end of validity",
            ));
        }
        Ok(Self {
            id,
            merchant_id,
            signing_officer,
            frontage,
            signed_on,
            validity,
            revoked_on: None,
        })
    }

    pub fn status_on(&self, today: NaiveDate) -> PledgeStatus {
        match self.revoked_on {
            Some(day) if day <= today => PledgeStatus::Revoked,
            _ if today > self.validity.until() => PledgeStatus::Expired,
            _ if today < self.validity.from() => PledgeStatus::Pending,
            _ => PledgeStatus::Active,
        }
    }

    /// Active today and expiring within `days` days (inclusive): the stationed officer should
    /// renew it.
    pub fn expires_within(&self, today: NaiveDate, days: u32) -> bool {
        self.status_on(today) == PledgeStatus::Active
            && (self.validity.until() - today).num_days() <= i64::from(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn pledge() -> Pledge {
        Pledge::new(
            PledgeId::new(1).unwrap(),
            MerchantId::new(1).unwrap(),
            UserId::new(1).unwrap(),
            "门前至人行道边缘",
            d("2026-01-01"),
            Validity::new(d("2026-01-01"), d("2026-12-31")).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn pledge_numbers_round_trip_and_reject_other_shapes() {
        let n = PledgeNumber::new(2026, 7);
        assert_eq!(n.as_str(), "MQ-2026-000007");
        assert_eq!(PledgeNumber::parse(" MQ-2026-000007 ").unwrap(), n);
        assert_eq!(
            PledgeNumber::parse("MQ-2026-1234567").unwrap().as_str(),
            "MQ-2026-1234567"
        );
        for bad in [
            "",
            "MQ-2026-000000",
            "MQ-26-000001",
            "HZ-2026-000001",
            "MQ-2026-00001",
            "MQ-2026-00000a",
            "7",
        ] {
            assert!(PledgeNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_follows_the_calendar() {
        let mut p = pledge();
        assert_eq!(p.status_on(d("2025-12-31")), PledgeStatus::Pending);
        assert_eq!(p.status_on(d("2026-01-01")), PledgeStatus::Active);
        assert_eq!(p.status_on(d("2026-12-31")), PledgeStatus::Active);
        assert_eq!(p.status_on(d("2027-01-01")), PledgeStatus::Expired);
        p.revoked_on = Some(d("2026-06-01"));
        assert_eq!(p.status_on(d("2026-05-31")), PledgeStatus::Active);
        assert_eq!(p.status_on(d("2026-06-01")), PledgeStatus::Revoked);
    }

    #[test]
    fn expiring_soon() {
        let p = pledge();
        assert!(p.expires_within(d("2026-12-01"), 30));
        assert!(!p.expires_within(d("2026-11-01"), 30));
        assert!(!p.expires_within(d("2027-01-02"), 30), "already expired");
    }

    #[test]
    fn invariants() {
        assert!(Validity::new(d("2026-02-01"), d("2026-01-01")).is_err());
        let v = Validity::new(d("2026-01-01"), d("2026-03-01")).unwrap();
        let ids = (
            PledgeId::new(1).unwrap(),
            MerchantId::new(1).unwrap(),
            UserId::new(1).unwrap(),
        );
        assert!(Pledge::new(ids.0, ids.1, ids.2, "门前", d("2026-04-01"), v).is_err());
        assert!(Pledge::new(ids.0, ids.1, ids.2, " ", d("2026-01-01"), v).is_err());
    }

    #[test]
    fn validity_overlap_is_inclusive() {
        let v = |a, b| Validity::new(d(a), d(b)).unwrap();
        assert!(v("2026-01-01", "2026-06-30").overlaps(v("2026-06-30", "2026-12-31")));
        assert!(!v("2026-01-01", "2026-06-29").overlaps(v("2026-06-30", "2026-12-31")));
        assert!(v("2026-03-01", "2026-03-02").overlaps(v("2026-01-01", "2026-12-31")));
        assert!(v("2026-01-01", "2026-12-31").overlaps(v("2026-03-01", "2026-03-02")));
    }

    #[test]
    fn four_default_items() {
        let items = PledgeItem::defaults();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].name.zh().as_str(), "市容整洁");
    }
}
