//! Merchants (商户), the city's pledge items, four-responsibility pledges (门前四包) and
//! inspections against them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use whistle_domain::ids::{CaseId, CommunityId, GridId, MerchantId, PledgeId, UserId};
use whistle_domain::inspection::{Compliance, ItemResult};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;
use whistle_domain::pledge::{Pledge, PledgeItem, PledgeNumber, Validity};
use whistle_domain::text::{BilingualName, Code, Name};

use super::community::{day, parse_day};
use super::{Page, PageRequest};
use crate::entities::{
    inspection, inspection_photo, inspection_result, merchant, pledge, pledge_item,
    pledge_number_counter,
};
use crate::error::{RepoError, corrupt};

// ---- merchants ------------------------------------------------------------------------------

/// A merchant as stored, with its place at every level: the one merchant model. Its text was
/// checked by the domain's types on the way in (`Name`, `LicenceNumber`, `PhoneNumber`,
/// `merchant::Address`) and is kept as that checked text.
#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRecord {
    pub id: MerchantId,
    pub name: String,
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    pub business_type: String,
    pub location: Coordinate,
    pub grid_id: GridId,
    pub area: AreaPath,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<merchant::Model> for MerchantRecord {
    type Error = RepoError;

    fn try_from(m: merchant::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("merchant", m.id)(e);
        Ok(MerchantRecord {
            id: MerchantId::new(m.id).map_err(bad)?,
            location: Coordinate::wgs84(m.lat, m.lon).map_err(bad)?,
            grid_id: GridId::new(m.grid_id).map_err(bad)?,
            area: AreaPath {
                district: whistle_domain::ids::DistrictId::new(m.district_id).map_err(bad)?,
                street: whistle_domain::ids::StreetId::new(m.street_id).map_err(bad)?,
                community: CommunityId::new(m.community_id).map_err(bad)?,
            },
            name: m.name,
            licence_number: m.licence_number,
            owner_name: m.owner_name,
            owner_phone: m.owner_phone,
            address: m.address,
            business_type: m.business_type,
            created_at: m.created_at.with_timezone(&Utc),
            updated_at: m.updated_at.with_timezone(&Utc),
        })
    }
}

/// The fields of a merchant that are written (on create and on update).
#[derive(Debug, Clone)]
pub struct MerchantFields {
    pub name: String,
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    pub business_type: String,
    pub location: Coordinate,
    pub grid_id: GridId,
    pub area: AreaPath,
}

pub async fn insert_merchant(
    db: &impl ConnectionTrait,
    f: &MerchantFields,
    created_by: UserId,
) -> Result<MerchantRecord, RepoError> {
    let now = Utc::now().fixed_offset();
    merchant::ActiveModel {
        name: Set(f.name.clone()),
        licence_number: Set(f.licence_number.clone()),
        owner_name: Set(f.owner_name.clone()),
        owner_phone: Set(f.owner_phone.clone()),
        address: Set(f.address.clone()),
        business_type: Set(f.business_type.clone()),
        lat: Set(f.location.lat()),
        lon: Set(f.location.lon()),
        grid_id: Set(f.grid_id.get()),
        community_id: Set(f.area.community.get()),
        street_id: Set(f.area.street.get()),
        district_id: Set(f.area.district.get()),
        created_by: Set(Some(created_by.get())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn update_merchant(
    db: &impl ConnectionTrait,
    id: MerchantId,
    f: &MerchantFields,
) -> Result<MerchantRecord, RepoError> {
    merchant::ActiveModel {
        id: Set(id.get()),
        name: Set(f.name.clone()),
        licence_number: Set(f.licence_number.clone()),
        owner_name: Set(f.owner_name.clone()),
        owner_phone: Set(f.owner_phone.clone()),
        address: Set(f.address.clone()),
        business_type: Set(f.business_type.clone()),
        lat: Set(f.location.lat()),
        lon: Set(f.location.lon()),
        grid_id: Set(f.grid_id.get()),
        community_id: Set(f.area.community.get()),
        street_id: Set(f.area.street.get()),
        district_id: Set(f.area.district.get()),
        updated_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .update(db)
    .await?
    .try_into()
}

pub async fn get_merchant(
    db: &impl ConnectionTrait,
    id: MerchantId,
) -> Result<MerchantRecord, RepoError> {
    merchant::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("merchant"))?
        .try_into()
}

pub async fn find_by_licence(
    db: &impl ConnectionTrait,
    licence: &str,
) -> Result<Option<MerchantRecord>, RepoError> {
    merchant::Entity::find()
        .filter(merchant::Column::LicenceNumber.eq(licence))
        .one(db)
        .await?
        .map(MerchantRecord::try_from)
        .transpose()
}

/// A jurisdiction as lists of area ids: a row is inside when its district, street or community
/// is listed.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub districts: Vec<i64>,
    pub streets: Vec<i64>,
    pub communities: Vec<i64>,
}

impl Scope {
    fn condition(&self) -> sea_orm::Condition {
        sea_orm::Condition::any()
            .add(merchant::Column::DistrictId.is_in(self.districts.clone()))
            .add(merchant::Column::StreetId.is_in(self.streets.clone()))
            .add(merchant::Column::CommunityId.is_in(self.communities.clone()))
    }

    pub fn covers(&self, area: &AreaPath) -> bool {
        self.districts.contains(&area.district.get())
            || self.streets.contains(&area.street.get())
            || self.communities.contains(&area.community.get())
    }
}

/// Which merchants a search may return.
#[derive(Debug, Clone, Default)]
pub struct MerchantFilter {
    /// Only inside this jurisdiction; `None` = city-wide.
    pub scope: Option<Scope>,
    pub community: Option<CommunityId>,
    pub grid: Option<GridId>,
    /// Part of the name or the licence number.
    pub text: Option<String>,
    pub business_type: Option<String>,
}

/// Merchants by id, keyset-paged.
pub async fn search_merchants(
    db: &impl ConnectionTrait,
    f: &MerchantFilter,
    page: PageRequest,
) -> Result<Page<MerchantRecord>, RepoError> {
    let mut q = merchant::Entity::find();
    if let Some(scope) = &f.scope {
        q = q.filter(scope.condition());
    }
    if let Some(c) = f.community {
        q = q.filter(merchant::Column::CommunityId.eq(c.get()));
    }
    if let Some(g) = f.grid {
        q = q.filter(merchant::Column::GridId.eq(g.get()));
    }
    if let Some(t) = &f.text {
        q = q.filter(
            sea_orm::Condition::any()
                .add(merchant::Column::Name.contains(t))
                .add(merchant::Column::LicenceNumber.eq(t.to_uppercase())),
        );
    }
    if let Some(b) = &f.business_type {
        q = q.filter(merchant::Column::BusinessType.eq(b.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(merchant::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(merchant::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(MerchantRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(rows, page.limit, |m| m.id.get()))
}

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
        created_at: Set(Utc::now().fixed_offset()),
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

// ---- inspections ----------------------------------------------------------------------------

/// An inspection with its per-item results.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionRecord {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub pledge_id: PledgeId,
    pub officer_id: UserId,
    pub inspected_at: DateTime<Utc>,
    pub passed: bool,
    pub note: Option<String>,
    pub results: Vec<ResultRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultRecord {
    pub item: String,
    pub passed: bool,
    pub note: Option<String>,
    pub case_id: Option<CaseId>,
}

/// An inspection to record.
#[derive(Debug, Clone)]
pub struct NewInspection<'a> {
    pub merchant: MerchantId,
    pub pledge: PledgeId,
    pub officer: UserId,
    pub at: DateTime<Utc>,
    pub note: Option<&'a str>,
    pub results: &'a [ItemResult],
    /// The case opened per failed item, by item code.
    pub cases: &'a [(String, CaseId)],
}

/// Writes an inspection and its results.
pub async fn insert_inspection(
    db: &impl ConnectionTrait,
    new: &NewInspection<'_>,
) -> Result<InspectionRecord, RepoError> {
    let NewInspection {
        merchant,
        pledge,
        officer,
        at,
        note,
        results,
        cases,
    } = *new;
    let passed = results.iter().all(|r| r.passed);
    let row = inspection::ActiveModel {
        merchant_id: Set(merchant.get()),
        pledge_id: Set(pledge.get()),
        officer_id: Set(officer.get()),
        inspected_at: Set(at.fixed_offset()),
        passed: Set(passed),
        note: Set(note.map(str::to_owned)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut out = Vec::new();
    for r in results {
        let case_id = cases
            .iter()
            .find(|(item, _)| item == r.item.as_str())
            .map(|(_, c)| *c);
        inspection_result::ActiveModel {
            inspection_id: Set(row.id),
            item_code: Set(r.item.as_str().to_owned()),
            passed: Set(r.passed),
            note: Set(r.note.clone()),
            case_id: Set(case_id.map(CaseId::get)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        out.push(ResultRecord {
            item: r.item.as_str().to_owned(),
            passed: r.passed,
            note: r.note.clone(),
            case_id,
        });
    }
    Ok(InspectionRecord {
        id: row.id,
        merchant_id: merchant,
        pledge_id: pledge,
        officer_id: officer,
        inspected_at: at,
        passed,
        note: row.note,
        results: out,
    })
}

async fn with_results(
    db: &impl ConnectionTrait,
    rows: Vec<inspection::Model>,
) -> Result<Vec<InspectionRecord>, RepoError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let results = inspection_result::Entity::find()
        .filter(inspection_result::Column::InspectionId.is_in(ids))
        .order_by_asc(inspection_result::Column::Id)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|m| {
            let bad = |e| corrupt("inspection", m.id)(e);
            Ok(InspectionRecord {
                id: m.id,
                merchant_id: MerchantId::new(m.merchant_id).map_err(bad)?,
                pledge_id: PledgeId::new(m.pledge_id).map_err(bad)?,
                officer_id: UserId::new(m.officer_id).map_err(bad)?,
                inspected_at: m.inspected_at.with_timezone(&Utc),
                passed: m.passed,
                note: m.note.clone(),
                results: results
                    .iter()
                    .filter(|r| r.inspection_id == m.id)
                    .map(|r| {
                        Ok(ResultRecord {
                            item: r.item_code.clone(),
                            passed: r.passed,
                            note: r.note.clone(),
                            case_id: r.case_id.map(CaseId::new).transpose().map_err(bad)?,
                        })
                    })
                    .collect::<Result<_, RepoError>>()?,
            })
        })
        .collect()
}

pub async fn get_inspection(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<InspectionRecord, RepoError> {
    let row = inspection::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("inspection"))?;
    let mut v = with_results(db, vec![row]).await?;
    v.pop().ok_or(RepoError::NotFound("inspection"))
}

/// A merchant's last `limit` inspections, newest first (`idx_inspection_merchant`).
pub async fn inspections_of(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    limit: u64,
) -> Result<Vec<InspectionRecord>, RepoError> {
    let rows = inspection::Entity::find()
        .filter(inspection::Column::MerchantId.eq(merchant.get()))
        .order_by_desc(inspection::Column::InspectedAt)
        .order_by_desc(inspection::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    with_results(db, rows).await
}

/// Compliance over the given inspections.
pub fn compliance(inspections: &[InspectionRecord]) -> Compliance {
    Compliance::from_results(inspections.iter().map(|i| {
        (
            i.results.len() as u32,
            i.results.iter().filter(|r| r.passed).count() as u32,
        )
    }))
}

/// A merchant with failed inspections in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatOffender {
    pub merchant: MerchantRecord,
    pub failed_inspections: i64,
    pub last_failed_at: DateTime<Utc>,
}

/// Merchants with at least `min_failures` failed inspections since `since`, most failures
/// first; optionally in one community or grid, or within the caller's communities.
pub async fn repeat_offenders(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    min_failures: i64,
    filter: &MerchantFilter,
) -> Result<Vec<RepeatOffender>, RepoError> {
    let counts: Vec<(i64, i64, DateTime<chrono::FixedOffset>)> = inspection::Entity::find()
        .select_only()
        .column(inspection::Column::MerchantId)
        .column_as(inspection::Column::Id.count(), "failures")
        .column_as(inspection::Column::InspectedAt.max(), "last_failed")
        .filter(inspection::Column::Passed.eq(false))
        .filter(inspection::Column::InspectedAt.gte(since.fixed_offset()))
        .group_by(inspection::Column::MerchantId)
        .having(Expr::col(inspection::Column::Id).count().gte(min_failures))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = counts.iter().map(|c| c.0).collect();
    let mut q = merchant::Entity::find().filter(merchant::Column::Id.is_in(ids));
    if let Some(scope) = &filter.scope {
        q = q.filter(scope.condition());
    }
    if let Some(c) = filter.community {
        q = q.filter(merchant::Column::CommunityId.eq(c.get()));
    }
    if let Some(g) = filter.grid {
        q = q.filter(merchant::Column::GridId.eq(g.get()));
    }
    let merchants = q.all(db).await?;
    let mut out = Vec::new();
    for m in merchants {
        let (_, n, last) = counts
            .iter()
            .find(|c| c.0 == m.id)
            .copied()
            .ok_or(RepoError::NotFound("merchant"))?;
        out.push(RepeatOffender {
            merchant: m.try_into()?,
            failed_inspections: n,
            last_failed_at: last.with_timezone(&Utc),
        });
    }
    out.sort_by(|a, b| {
        b.failed_inspections
            .cmp(&a.failed_inspections)
            .then(b.last_failed_at.cmp(&a.last_failed_at))
    });
    Ok(out)
}

/// A photo of an inspection, optionally of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionPhoto {
    pub id: i64,
    pub inspection_id: i64,
    pub item: Option<String>,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

impl From<inspection_photo::Model> for InspectionPhoto {
    fn from(m: inspection_photo::Model) -> Self {
        InspectionPhoto {
            id: m.id,
            inspection_id: m.inspection_id,
            item: m.item_code,
            sha256: m.sha256,
            mime: m.mime,
            size: m.size,
            created_at: m.created_at.with_timezone(&Utc),
        }
    }
}

pub async fn insert_inspection_photo(
    db: &impl ConnectionTrait,
    inspection_id: i64,
    item: Option<&str>,
    sha256: &str,
    mime: &str,
    size: i64,
) -> Result<InspectionPhoto, RepoError> {
    Ok(inspection_photo::ActiveModel {
        inspection_id: Set(inspection_id),
        item_code: Set(item.map(str::to_owned)),
        sha256: Set(sha256.to_owned()),
        mime: Set(mime.to_owned()),
        size: Set(size),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .into())
}

pub async fn inspection_photos(
    db: &impl ConnectionTrait,
    inspection_id: i64,
) -> Result<Vec<InspectionPhoto>, RepoError> {
    Ok(inspection_photo::Entity::find()
        .filter(inspection_photo::Column::InspectionId.eq(inspection_id))
        .order_by_asc(inspection_photo::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(InspectionPhoto::from)
        .collect())
}

pub async fn get_inspection_photo(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<InspectionPhoto, RepoError> {
    inspection_photo::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(InspectionPhoto::from)
        .ok_or(RepoError::NotFound("inspection photo"))
}
