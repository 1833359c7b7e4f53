//! Records of case photos (the bytes are files, named by their SHA-256).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use whistle_domain::case::AttachmentKind;
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
    pub kind: AttachmentKind,
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
            kind: AttachmentKind::parse(&m.kind).map_err(bad)?,
            uploaded_by: m.uploaded_by.map(UserId::new).transpose().map_err(bad)?,
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

/// A photo joining a case: the stored file (by content hash) and who added it when.
#[derive(Debug, Clone, Copy)]
pub struct NewAttachment<'a> {
    pub case_id: CaseId,
    pub sha256: &'a str,
    pub mime: &'a str,
    pub size: i64,
    pub kind: AttachmentKind,
    pub uploaded_by: Option<UserId>,
    pub at: DateTime<Utc>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewAttachment<'_>,
) -> Result<Attachment, RepoError> {
    case_attachment::ActiveModel {
        case_id: Set(new.case_id.get()),
        sha256: Set(new.sha256.to_owned()),
        mime: Set(new.mime.to_owned()),
        size: Set(new.size),
        kind: Set(new.kind.as_str().to_owned()),
        uploaded_by: Set(new.uploaded_by.map(UserId::get)),
        created_at: Set(new.at.fixed_offset()),
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
