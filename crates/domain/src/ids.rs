//! Typed identifiers. A `GridId` cannot be passed where a `CommunityId` is expected.
//!
//! Identifiers are positive 64-bit integers assigned by the database; they are stable and are what
//! the API exposes. Human-facing codes (area codes, case numbers) are separate values.

use std::fmt;

use crate::ValueError;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Accepts only positive values: ids come from auto-increment keys that start at 1.
            pub fn new(value: i64) -> Result<Self, ValueError> {
                if value > 0 {
                    Ok(Self(value))
                } else {
                    Err(ValueError::new($field, "must be a positive integer").zh("须为正整数"))
                }
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

typed_id!(
    /// A district (区).
    DistrictId,
    "district_id"
);
typed_id!(
    /// A street or subdistrict (街道).
    StreetId,
    "street_id"
);
typed_id!(
    /// A community (社区).
    CommunityId,
    "community_id"
);
typed_id!(
    /// A grid (网格), the smallest unit of management.
    GridId,
    "grid_id"
);
typed_id!(
    /// A login account of any role.
    UserId,
    "user_id"
);
typed_id!(
    /// An officer's record (badge, squad), attached to one user.
    OfficerId,
    "officer_id"
);
typed_id!(
    /// A shop or business (商户).
    MerchantId,
    "merchant_id"
);
typed_id!(
    /// A four-responsibility pledge (门前四包责任书).
    PledgeId,
    "pledge_id"
);
typed_id!(
    /// A case category in the catalogue.
    CategoryId,
    "category_id"
);
typed_id!(
    /// A case (案件).
    CaseId,
    "case_id"
);
typed_id!(
    /// An entry of an officer's work log (线上工作记录).
    WorkLogId,
    "work_log_id"
);

typed_id!(
    /// An entry of the address book (标准地址).
    PlaceId,
    "place_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(GridId::new(1).is_ok());
        assert_eq!(GridId::new(0).unwrap_err().field, "grid_id");
        assert!(CaseId::new(-5).is_err());
        assert_eq!(CommunityId::new(42).unwrap().get(), 42);
        assert_eq!(CommunityId::new(42).unwrap().to_string(), "42");
    }
}
