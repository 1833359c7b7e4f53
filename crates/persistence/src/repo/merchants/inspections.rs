//! Inspections against a merchant's pledge: the per-item results, the photos, compliance
//! and the repeat offenders.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::ids::{CaseId, MerchantId, PledgeId, UserId};
use whistle_domain::inspection::{Compliance, ItemResult};

use super::{MerchantFilter, MerchantRecord};
use crate::entities::{inspection, inspection_photo, inspection_result, merchant};
use crate::error::{RepoError, corrupt};

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
    now: DateTime<Utc>,
) -> Result<InspectionPhoto, RepoError> {
    Ok(inspection_photo::ActiveModel {
        inspection_id: Set(inspection_id),
        item_code: Set(item.map(str::to_owned)),
        sha256: Set(sha256.to_owned()),
        mime: Set(mime.to_owned()),
        size: Set(size),
        created_at: Set(now.fixed_offset()),
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
