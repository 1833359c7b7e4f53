//! Photos joining a case.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use whistle_auth::Principal;
use whistle_domain::case::{AttachmentKind, Case};
use whistle_domain::lifecycle::{ActorRole, TimelineAction};
use whistle_persistence::RepoError;
use whistle_persistence::repo::attachments::{self, Attachment, NewAttachment};
use whistle_persistence::repo::cases::{self, CaseEvent};

/// Attaches a stored photo to a case: its row and the `attach` timeline event, inside the
/// caller's transaction. The one way a photo joins a case, whether it comes with the report
/// (intake, Open311 `media`) or later (the upload endpoint). `actor` is `None` for anonymous
/// reporters and Open311 clients.
pub async fn record_photo(
    txn: &impl ConnectionTrait,
    case: &Case,
    image: &StoredImage,
    kind: AttachmentKind,
    actor: Option<&Principal>,
    at: DateTime<Utc>,
) -> Result<Attachment, RepoError> {
    let stored = attachments::insert(
        txn,
        &NewAttachment {
            case_id: case.id,
            sha256: &image.sha256,
            mime: image.mime,
            size: image.size,
            kind,
            uploaded_by: actor.map(|p| p.user_id),
            at,
        },
    )
    .await?;
    cases::append_event(
        txn,
        &CaseEvent {
            id: 0,
            case_id: case.id,
            at,
            actor_id: actor.map(|p| p.user_id),
            actor_role: actor.map_or(ActorRole::Anonymous, |p| ActorRole::Account(p.role)),
            action: TimelineAction::Attach,
            from_status: Some(case.status),
            to_status: case.status,
            note: None,
            data: Some(serde_json::json!({"attachment_id": stored.id, "kind": kind.as_str()})),
        },
    )
    .await?;
    Ok(stored)
}

/// A photo as the photo store keeps it: named by the SHA-256 of its bytes, always a JPEG once
/// stored (`media_store` recognises, strips and writes it).
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub sha256: String,
    pub mime: &'static str,
    pub size: i64,
}
