//! The four-responsibility pledge (门前四包责任书): the city's items, signing, revoking, the
//! renewal list and the scanned signature page.

use chrono::{Duration, Months, NaiveDate};
use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::PledgeId;
use whistle_domain::pledge::{Pledge, PledgeItem, PledgeStatus, Validity};
use whistle_persistence::repo::merchants::{self, MerchantRecord, PledgeRecord, SignedItem};

use crate::app::AppError;
use crate::app::access::require;
use crate::app::attachments::StoredImage;
use crate::app::merchants::{read_scope, readable_merchant, readable_pledge};
use crate::state::AppState;

/// The most items a pledge has.
pub const MAX_ITEMS: usize = 10;
/// The longest validity of a pledge, in days (five years).
pub const MAX_VALIDITY_DAYS: i64 = 366 * 5;

/// Replaces the city's pledge items (administrators). Pledges already signed keep their items.
pub async fn replace_items(
    state: &AppState,
    p: &Principal,
    items: Vec<PledgeItem>,
) -> Result<Vec<PledgeItem>, AppError> {
    require(p, Action::ManageCatalogue, &Resource::city())?;
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(AppError::Invalid {
            code: "invalid_value",
            detail: format!("a pledge has 1 to {MAX_ITEMS} items"),
            field: None,
            zh: None,
        });
    }
    for (n, i) in items.iter().enumerate() {
        if items[..n].iter().any(|x| x.code == i.code) {
            return Err(AppError::invalid(
                "duplicate_item",
                "code",
                format!("item {:?} is given twice", i.code.as_str()),
            ));
        }
    }
    let txn = state.db.begin().await?;
    merchants::replace_pledge_items(&txn, &items).await?;
    txn.commit().await?;
    Ok(items)
}

/// A merchant signs before the calling officer. Dates default to signing today, valid from
/// the signing day for a year.
#[derive(Debug, Clone)]
pub struct SignPledge {
    pub frontage: String,
    pub signed_on: Option<NaiveDate>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// Signs a pledge containing the city's current items. A merchant has one pledge at a time:
/// validity may not overlap another unrevoked pledge of the merchant (`pledge_overlaps`;
/// renewals start after the current one ends).
pub async fn sign(
    state: &AppState,
    p: &Principal,
    merchant_id: i64,
    cmd: SignPledge,
) -> Result<PledgeRecord, AppError> {
    let m = readable_merchant(state, p, merchant_id).await?;
    require(p, Action::SignPledge, &Resource::at(m.area))?;
    let today = state.today();
    let signed_on = cmd.signed_on.unwrap_or(today);
    if signed_on > today {
        return Err(AppError::invalid(
            "invalid_date",
            "signed_on",
            "signed_on must not be in the future",
        ));
    }
    let from = cmd.valid_from.unwrap_or(signed_on);
    let until = match cmd.valid_until {
        Some(d) => d,
        None => from
            .checked_add_months(Months::new(12))
            .and_then(|d| d.pred_opt())
            .unwrap_or(from),
    };
    let validity = Validity::new(from, until)?;
    if (until - from).num_days() > MAX_VALIDITY_DAYS {
        return Err(AppError::invalid(
            "invalid_value",
            "valid_until",
            "a pledge is valid for at most five years",
        ));
    }
    // The id is the database's to assign; `Pledge::new` checks the invariants.
    let pledge = Pledge::new(
        PledgeId::new(1)?,
        m.id,
        p.user_id,
        &cmd.frontage,
        signed_on,
        validity,
    )?;
    let items: Vec<SignedItem> = merchants::pledge_items(&state.db)
        .await?
        .iter()
        .map(SignedItem::from)
        .collect();
    let txn = state.db.begin().await?;
    merchants::lock_merchant(&txn, m.id).await?;
    let existing = merchants::pledges_of(&txn, m.id).await?;
    if let Some(other) = existing
        .iter()
        .find(|r| r.pledge.revoked_on.is_none() && r.pledge.validity.overlaps(validity))
    {
        return Err(AppError::conflict(
            "pledge_overlaps",
            format!(
                "pledge {} of this merchant is valid from {} to {}; revoke it or start after it ends",
                other.pledge.id,
                other.pledge.validity.from(),
                other.pledge.validity.until()
            ),
        ));
    }
    let stored = merchants::insert_pledge(&txn, &pledge, &items, state.now()).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Revokes a pledge from today (the shop closed or changed hands); `reason` is checked text.
pub async fn revoke(
    state: &AppState,
    p: &Principal,
    id: i64,
    reason: String,
) -> Result<PledgeRecord, AppError> {
    let (r, _) = signable(state, p, id).await?;
    let today = state.today();
    let status = r.pledge.status_on(today);
    if matches!(status, PledgeStatus::Revoked | PledgeStatus::Expired) {
        return Err(AppError::conflict(
            "pledge_not_revocable",
            format!("the pledge is already {}", status.as_str()),
        ));
    }
    let txn = state.db.begin().await?;
    let stored = merchants::revoke_pledge(&txn, r.pledge.id, today, &reason).await?;
    txn.commit().await?;
    Ok(stored)
}

/// The pledge, if the caller may read it and sign pledges where its merchant is.
pub async fn signable(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<(PledgeRecord, MerchantRecord), AppError> {
    let (r, m) = readable_pledge(state, p, id).await?;
    require(p, Action::SignPledge, &Resource::at(m.area))?;
    Ok((r, m))
}

/// Stores the scanned signature page of a pledge [`signable`] allowed.
pub async fn set_signature(
    state: &AppState,
    pledge: &PledgeRecord,
    image: &StoredImage,
) -> Result<PledgeRecord, AppError> {
    let txn = state.db.begin().await?;
    let stored =
        merchants::set_signature(&txn, pledge.pledge.id, &image.sha256, image.mime).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Pledges whose validity ends within `within_days` (1–365) from today, soonest first, in the
/// caller's jurisdiction.
pub async fn expiring(
    state: &AppState,
    p: &Principal,
    within_days: u32,
) -> Result<Vec<(PledgeRecord, MerchantRecord)>, AppError> {
    let scope = read_scope(p)?;
    if !(1..=365).contains(&within_days) {
        return Err(AppError::invalid(
            "invalid_value",
            "within_days",
            "within_days must be between 1 and 365",
        ));
    }
    let today = state.today();
    let until = today + Duration::days(i64::from(within_days));
    Ok(merchants::pledges_expiring(&state.db, today, until, scope.as_ref()).await?)
}
