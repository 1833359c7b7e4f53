//! Photos joining a case.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use whistle_auth::Principal;
use whistle_domain::case::Case;
use whistle_persistence::RepoError;
use whistle_persistence::repo::attachments::{self, Attachment};
use whistle_persistence::repo::cases::{self, CaseEvent};

use crate::media_store::StoredImage;

/// Attaches a stored photo to a case: its row and the `attach` timeline event, inside the
/// caller's transaction. The one way a photo joins a case, whether it comes with the report
/// (intake, Open311 `media`) or later (the upload endpoint). `actor` is `None` for anonymous
/// reporters and Open311 clients.
pub async fn record_photo(
    txn: &impl ConnectionTrait,
    case: &Case,
    image: &StoredImage,
    kind: &str,
    actor: Option<&Principal>,
    at: DateTime<Utc>,
) -> Result<Attachment, RepoError> {
    let stored = attachments::insert(
        txn,
        case.id,
        &image.sha256,
        image.mime,
        image.size,
        kind,
        actor.map(|p| p.user_id),
    )
    .await?;
    cases::append_event(
        txn,
        &CaseEvent {
            id: 0,
            case_id: case.id,
            at,
            actor_id: actor.map(|p| p.user_id),
            actor_role: actor
                .map(|p| p.role.as_str())
                .unwrap_or("anonymous")
                .to_owned(),
            action: "attach".into(),
            from_status: Some(case.status),
            to_status: case.status,
            note: None,
            data: Some(serde_json::json!({"attachment_id": stored.id, "kind": kind})),
        },
    )
    .await?;
    Ok(stored)
}
