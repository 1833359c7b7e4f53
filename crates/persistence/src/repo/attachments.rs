//! Records of case photos (the bytes are files, named by their SHA-256).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use whistle_domain::ids::{CaseId, UserId};

use crate::entities::case_attachment;
use crate::error::{RepoError, corrupt};

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: i64,
    pub case_id: CaseId,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    /// `report` or `after`.
    pub kind: String,
    pub uploaded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<case_attachment::Model> for Attachment {
    type Error = RepoError;

    fn try_from(m: case_attachment::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("case_attachment", m.id)(e);
        Ok(Attachment {
            id: m.id,
            case_id: CaseId::new(m.case_id).map_err(bad)?,
            sha256: m.sha256,
            mime: m.mime,
            size: m.size,
            kind: m.kind,
            uploaded_by: m.uploaded_by.map(UserId::new).transpose().map_err(bad)?,
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    case_id: CaseId,
    sha256: &str,
    mime: &str,
    size: i64,
    kind: &str,
    uploaded_by: Option<UserId>,
) -> Result<Attachment, RepoError> {
    case_attachment::ActiveModel {
        case_id: Set(case_id.get()),
        sha256: Set(sha256.to_owned()),
        mime: Set(mime.to_owned()),
        size: Set(size),
        kind: Set(kind.to_owned()),
        uploaded_by: Set(uploaded_by.map(UserId::get)),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: CaseId,
) -> Result<Vec<Attachment>, RepoError> {
    case_attachment::Entity::find()
        .filter(case_attachment::Column::CaseId.eq(case_id.get()))
        .order_by_asc(case_attachment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Attachment::try_from)
        .collect()
}

pub async fn count_of_case(db: &impl ConnectionTrait, case_id: CaseId) -> Result<u64, RepoError> {
    Ok(case_attachment::Entity::find()
        .filter(case_attachment::Column::CaseId.eq(case_id.get()))
        .count(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Attachment, RepoError> {
    case_attachment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("attachment"))?
        .try_into()
}
