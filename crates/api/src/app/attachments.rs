//! Photos joining a case.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::case::{AttachmentKind, Case};
use whistle_domain::lifecycle::{ActorRole, TimelineAction};
use whistle_persistence::RepoError;
use whistle_persistence::repo::attachments::{self, Attachment, NewAttachment};
use whistle_persistence::repo::cases::{self, CaseEvent};

use crate::app::AppError;
use crate::app::access::require;
use crate::state::AppState;

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

/// Whether a photo of `kind` may join `case` now: a reporter (`by` is `None` for the anonymous
/// reporter, already recognised by the case's tracking token) adds evidence, only the handling
/// side adds after-photos, and a case holds at most `attachments.max_per_case` photos. Asked
/// before the photo is stored.
pub async fn may_attach(
    state: &AppState,
    case: &Case,
    kind: AttachmentKind,
    by: Option<&Principal>,
) -> Result<(), AppError> {
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    match (kind, by) {
        (AttachmentKind::Report, Some(p)) => require(p, Action::CommentCase, &resource)?,
        (AttachmentKind::After, Some(p)) => require(p, Action::HandleCase, &resource)?,
        (AttachmentKind::Report, None) => {}
        (AttachmentKind::After, None) => {
            return Err(AppError::forbidden(
                "forbidden",
                "only the handling officer adds after-photos",
            ));
        }
    }
    let max = state.settings.attachments.max_per_case;
    if attachments::count_of_case(&state.db, case.id).await? >= max {
        return Err(AppError::conflict(
            "too_many_attachments",
            format!("a case holds at most {max} photos"),
        ));
    }
    Ok(())
}

/// Joins a stored photo to `case` (after [`may_attach`]) in one transaction.
pub async fn attach(
    state: &AppState,
    case: &Case,
    image: &StoredImage,
    kind: AttachmentKind,
    by: Option<&Principal>,
) -> Result<Attachment, AppError> {
    let txn = state.db.begin().await?;
    let stored = record_photo(&txn, case, image, kind, by, state.now()).await?;
    txn.commit().await?;
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
