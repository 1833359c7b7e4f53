//! What the Open311 interface reads and writes besides the ordinary case tables: which client
//! submitted a case (and the `media_url` it sent), and the public listing of service requests,
//! newest first with page-number paging as the spec's paging extension asks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::case::{Case, CaseNumber, CaseStatus};
use whistle_domain::ids::{CaseId, CategoryId};

use crate::entities::{cases, open311_request};
use crate::error::RepoError;

/// Where an Open311 case came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub case_id: CaseId,
    pub api_key_id: i64,
    /// The public link to media the client gave, if any.
    pub media_url: Option<String>,
}

/// Records the client of a case. Run in the intake transaction.
pub async fn record_origin(
    db: &impl ConnectionTrait,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    open311_request::ActiveModel {
        case_id: Set(origin.case_id.get()),
        api_key_id: Set(origin.api_key_id),
        media_url: Set(origin.media_url.clone()),
        created_at: Set(now.fixed_offset()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The origins of those of `ids` that came through Open311, by case id.
pub async fn origins(
    db: &impl ConnectionTrait,
    ids: &[CaseId],
) -> Result<HashMap<CaseId, Origin>, RepoError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    // Bounded IN lists: the spec caps a page at 1000 requests, well under any parameter limit.
    for chunk in ids.chunks(500) {
        let rows = open311_request::Entity::find()
            .filter(open311_request::Column::CaseId.is_in(chunk.iter().map(|c| c.get())))
            .all(db)
            .await?;
        for m in rows {
            let case_id = CaseId::new(m.case_id)
                .map_err(crate::error::corrupt("open311_request", m.case_id))?;
            found.insert(
                case_id,
                Origin {
                    case_id,
                    api_key_id: m.api_key_id,
                    media_url: m.media_url,
                },
            );
        }
    }
    Ok(found)
}

/// Filters of the public request list. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct RequestSearch {
    pub categories: Vec<CategoryId>,
    pub statuses: Vec<CaseStatus>,
    /// Requested at or after.
    pub from: Option<DateTime<Utc>>,
    /// Requested at or before (the spec's `end_date` is the latest time to include).
    pub to: Option<DateTime<Utc>>,
    /// Leave out rejected reports (as the public map does).
    pub exclude_rejected: bool,
    pub offset: u64,
    pub limit: u64,
}

/// A page of cases, newest first (ties by id).
pub async fn search(db: &impl ConnectionTrait, s: &RequestSearch) -> Result<Vec<Case>, RepoError> {
    let mut q = cases::Entity::find();
    if !s.categories.is_empty() {
        q = q.filter(cases::Column::CategoryId.is_in(s.categories.iter().map(|c| c.get())));
    }
    if !s.statuses.is_empty() {
        q = q.filter(cases::Column::Status.is_in(s.statuses.iter().map(|st| st.as_str())));
    }
    if s.exclude_rejected {
        q = q.filter(cases::Column::Status.ne(CaseStatus::Rejected.as_str()));
    }
    if let Some(t) = s.from {
        q = q.filter(cases::Column::CreatedAt.gte(t.fixed_offset()));
    }
    if let Some(t) = s.to {
        q = q.filter(cases::Column::CreatedAt.lte(t.fixed_offset()));
    }
    q.order_by_desc(cases::Column::CreatedAt)
        .order_by_desc(cases::Column::Id)
        .offset(s.offset)
        .limit(s.limit)
        .all(db)
        .await?
        .into_iter()
        .map(Case::try_from)
        .collect()
}

/// The cases with these numbers, newest first; unknown numbers are left out.
pub async fn find_by_numbers(
    db: &impl ConnectionTrait,
    numbers: &[CaseNumber],
) -> Result<Vec<Case>, RepoError> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    cases::Entity::find()
        .filter(cases::Column::Number.is_in(numbers.iter().map(|n| n.as_str())))
        .order_by_desc(cases::Column::CreatedAt)
        .order_by_desc(cases::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Case::try_from)
        .collect()
}
