//! The city's pledge items and the four-responsibility pledges (门前四包) merchants sign:
//! numbering, signing, revoking, the scanned signature and the pledges about to expire.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use whistle_domain::ids::{MerchantId, PledgeId, UserId};
use whistle_domain::pledge::{Pledge, PledgeItem, PledgeNumber, Validity};
use whistle_domain::text::{BilingualName, Code, Name};

use super::{MerchantRecord, Scope};
use crate::entities::{merchant, pledge, pledge_item, pledge_number_counter};
use crate::error::{RepoError, corrupt};
use crate::repo::community::{day, parse_day};

// ---- pledge items ---------------------------------------------------------------------------

/// The items a new pledge contains: the city's configuration, or the built-in four when the city
/// has configured none.
pub async fn pledge_items(db: &impl ConnectionTrait) -> Result<Vec<PledgeItem>, RepoError> {
    let rows = pledge_item::Entity::find()
        .order_by_asc(pledge_item::Column::Position)
        .order_by_asc(pledge_item::Column::Code)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(PledgeItem::defaults());
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let bad = |e| corrupt("pledge_item", i as i64 + 1)(e);
            Ok(PledgeItem {
                code: Code::parse(&m.code).map_err(bad)?,
                name: BilingualName::new(
                    Name::parse(&m.name_zh).map_err(bad)?,
                    Name::parse(&m.name_en).map_err(bad)?,
                ),
                text: m.body,
            })
        })
        .collect()
}

/// Replaces the city's pledge items (already validated: unique codes, 1–10 items). Existing
/// pledges keep the items they were signed with.
pub async fn replace_pledge_items(
    db: &impl ConnectionTrait,
    items: &[PledgeItem],
) -> Result<(), RepoError> {
    pledge_item::Entity::delete_many().exec(db).await?;
    for (i, item) in items.iter().enumerate() {
        pledge_item::ActiveModel {
            code: Set(item.code.as_str().to_owned()),
            name_zh: Set(item.name.zh().as_str().to_owned()),
            name_en: Set(item.name.en().as_str().to_owned()),
            body: Set(item.text.clone()),
            position: Set(i as i32),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// A pledge item as stored inside a pledge (what was signed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub text: String,
}

impl From<&PledgeItem> for SignedItem {
    fn from(i: &PledgeItem) -> Self {
        SignedItem {
            code: i.code.as_str().to_owned(),
            name_zh: i.name.zh().as_str().to_owned(),
            name_en: i.name.en().as_str().to_owned(),
            text: i.text.clone(),
        }
    }
}

// ---- pledges --------------------------------------------------------------------------------

/// A pledge with the items it was signed with and its optional scanned signature.
#[derive(Debug, Clone, PartialEq)]
pub struct PledgeRecord {
    pub pledge: Pledge,
    /// The printed number, e.g. `MQ-2026-000001`.
    pub number: PledgeNumber,
    pub items: Vec<SignedItem>,
    pub revoked_reason: Option<String>,
    pub signature: Option<(String, String)>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<pledge::Model> for PledgeRecord {
    type Error = RepoError;

    fn try_from(m: pledge::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("pledge", m.id)(e);
        let validity = Validity::new(
            parse_day(&m.valid_from).map_err(bad)?,
            parse_day(&m.valid_until).map_err(bad)?,
        )
        .map_err(bad)?;
        let mut p = Pledge::new(
            PledgeId::new(m.id).map_err(bad)?,
            MerchantId::new(m.merchant_id).map_err(bad)?,
            UserId::new(m.officer_id).map_err(bad)?,
            &m.frontage,
            parse_day(&m.signed_on).map_err(bad)?,
            validity,
        )
        .map_err(bad)?;
        p.revoked_on = m
            .revoked_on
            .as_deref()
            .map(parse_day)
            .transpose()
            .map_err(bad)?;
        let items: Vec<SignedItem> = serde_json::from_str(&m.items)
            .map_err(|e| bad(whistle_domain::ValueError::new("items", e.to_string())))?;
        Ok(PledgeRecord {
            pledge: p,
            number: PledgeNumber::parse(&m.number).map_err(bad)?,
            items,
            revoked_reason: m.revoked_reason,
            signature: m.signature_sha256.zip(m.signature_mime),
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

/// Stores a signed pledge with the next number of its signing year. Run it in the signing
/// transaction: the year's counter row stays locked until the commit, so concurrent signings
/// never share a number, and a signing that fails gives its number back.
pub async fn insert_pledge(
    db: &impl ConnectionTrait,
    p: &Pledge,
    items: &[SignedItem],
    now: DateTime<Utc>,
) -> Result<PledgeRecord, RepoError> {
    let year = p.signed_on.year();
    let counter = pledge_number_counter::Entity::insert(pledge_number_counter::ActiveModel {
        year: Set(year),
        last_seq: Set(1),
    })
    .on_conflict(
        OnConflict::column(pledge_number_counter::Column::Year)
            .value(
                pledge_number_counter::Column::LastSeq,
                Expr::col((
                    pledge_number_counter::Entity,
                    pledge_number_counter::Column::LastSeq,
                ))
                .add(1),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    let number = PledgeNumber::new(year, counter.last_seq as u64);
    pledge::ActiveModel {
        number: Set(number.as_str().to_owned()),
        merchant_id: Set(p.merchant_id.get()),
        officer_id: Set(p.signing_officer.get()),
        frontage: Set(p.frontage.clone()),
        signed_on: Set(day(p.signed_on)),
        valid_from: Set(day(p.validity.from())),
        valid_until: Set(day(p.validity.until())),
        revoked_on: Set(None),
        revoked_reason: Set(None),
        items: Set(serde_json::to_string(items).unwrap_or_else(|_| "[]".into())),
        signature_sha256: Set(None),
        signature_mime: Set(None),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn get_pledge(
    db: &impl ConnectionTrait,
    id: PledgeId,
) -> Result<PledgeRecord, RepoError> {
    pledge::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("pledge"))?
        .try_into()
}

/// A merchant's pledges, newest validity first.
pub async fn pledges_of(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
) -> Result<Vec<PledgeRecord>, RepoError> {
    pledge::Entity::find()
        .filter(pledge::Column::MerchantId.eq(merchant.get()))
        .order_by_desc(pledge::Column::ValidFrom)
        .order_by_desc(pledge::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(PledgeRecord::try_from)
        .collect()
}

/// Marks a pledge revoked from `on`.
pub async fn revoke_pledge(
    db: &impl ConnectionTrait,
    id: PledgeId,
    on: NaiveDate,
    reason: &str,
) -> Result<PledgeRecord, RepoError> {
    pledge::ActiveModel {
        id: Set(id.get()),
        revoked_on: Set(Some(day(on))),
        revoked_reason: Set(Some(reason.to_owned())),
        ..Default::default()
    }
    .update(db)
    .await?
    .try_into()
}

pub async fn set_signature(
    db: &impl ConnectionTrait,
    id: PledgeId,
    sha256: &str,
    mime: &str,
) -> Result<PledgeRecord, RepoError> {
    pledge::ActiveModel {
        id: Set(id.get()),
        signature_sha256: Set(Some(sha256.to_owned())),
        signature_mime: Set(Some(mime.to_owned())),
        ..Default::default()
    }
    .update(db)
    .await?
    .try_into()
}

/// Takes the merchant's row lock for the rest of the transaction (a no-op update), so two
/// pledges signed at once for one merchant cannot both pass the overlap check.
pub async fn lock_merchant(db: &impl ConnectionTrait, id: MerchantId) -> Result<(), RepoError> {
    let res = merchant::Entity::update_many()
        .col_expr(merchant::Column::Name, Expr::col(merchant::Column::Name))
        .filter(merchant::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("merchant"));
    }
    Ok(())
}

/// Pledges whose validity ends in `[from, until]` and that are not revoked, soonest first,
/// with their merchant: served by `idx_pledge_valid_until`.
pub async fn pledges_expiring(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    until: NaiveDate,
    scope: Option<&Scope>,
) -> Result<Vec<(PledgeRecord, MerchantRecord)>, RepoError> {
    let rows = pledge::Entity::find()
        .filter(pledge::Column::ValidUntil.gte(day(from)))
        .filter(pledge::Column::ValidUntil.lte(day(until)))
        .filter(pledge::Column::RevokedOn.is_null())
        .order_by_asc(pledge::Column::ValidUntil)
        .order_by_asc(pledge::Column::Id)
        .limit(1_000)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|p| p.merchant_id).collect();
    let merchants = merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(ids))
        .all(db)
        .await?;
    // A pledge already renewed (a later, unrevoked pledge of the same merchant) needs nothing.
    let renewals: Vec<(i64, String)> = pledge::Entity::find()
        .select_only()
        .column(pledge::Column::MerchantId)
        .column(pledge::Column::ValidFrom)
        .filter(pledge::Column::MerchantId.is_in(merchants.iter().map(|m| m.id)))
        .filter(pledge::Column::RevokedOn.is_null())
        .filter(pledge::Column::ValidFrom.gt(day(from)))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let Some(m) = merchants.iter().find(|m| m.id == row.merchant_id) else {
            continue;
        };
        let renewed = renewals
            .iter()
            .any(|(mid, starts)| *mid == row.merchant_id && *starts > row.valid_until);
        let m = MerchantRecord::try_from(m.clone())?;
        if renewed || scope.is_some_and(|s| !s.covers(&m.area)) {
            continue;
        }
        out.push((PledgeRecord::try_from(row)?, m));
    }
    Ok(out)
}
