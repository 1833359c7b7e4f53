//! What the anonymous reporter may do with the tracking token of their case, and with it only:
//! comment, rate the result once closed, or ask to reopen it. An account uses the actions
//! endpoint (`/api/v1/cases/{id}/actions`) instead; the token opens nothing else.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::lifecycle::{CaseActionKind, transition};
use whistle_persistence::repo::cases::{self, CaseEvent, CaseUpdate};

use crate::authn::{CaseCaller, case_caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::cases::{ReporterSays, now_micros, reporter_step};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feedback))
}

/// The reporter's word on their case.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedbackRequest {
    /// `comment`, `rate` (once closed, once) or `reopen` (within `cases.reopen_days` of closing).
    pub action: String,
    /// The case's `version` as last read.
    pub version: i32,
    /// rate: 1–5.
    pub rating: Option<i64>,
    /// comment: the text (required); rate: an optional remark; reopen: what is still wrong.
    pub note: Option<String>,
}

/// Comment on, rate or reopen one's own anonymous report, authorised by its tracking token.
#[utoipa::path(post, path = "/api/v1/cases/{id}/feedback", tag = "cases",
    params(("id" = i64, Path), ("X-Tracking-Token" = String, Header,
        description = "The tracking token the report's answer carried")),
    request_body = FeedbackRequest,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent with a login: use the actions endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in the case's status, already rated, or a stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::not_found("case_not_found", "no such case");
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Err(ApiError::forbidden(
            "forbidden",
            "accounts act through /api/v1/cases/{id}/actions",
        ));
    }
    let case_id = whistle_domain::ids::CaseId::new(id).map_err(|_| not_found())?;
    let case = cases::get(&state.db, case_id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let CaseCaller::Reporter = case_caller(&state, case.id, None, &headers).await? else {
        return Err(not_found());
    };
    let kind = match req.action.as_str() {
        "comment" => CaseActionKind::Comment,
        "rate" => CaseActionKind::Rate,
        "reopen" => CaseActionKind::Reopen,
        _ => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "action must be comment, rate or reopen".into(),
                field: Some("action".into()),
            });
        }
    };
    let to = transition(case.status, kind).map_err(|e| ApiError::Conflict {
        code: "illegal_transition",
        detail: format!("cannot {} a case that is {}", e.action, e.from),
    })?;
    if req.version != case.version {
        return Err(ApiError::Conflict {
            code: "version_conflict",
            detail: format!(
                "the case changed meanwhile; its version is now {}: reload and retry",
                case.version
            ),
        });
    }
    let now = now_micros();
    let mut note = req
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let mut update = CaseUpdate::of(&case, to, now);
    let mut data = serde_json::Map::new();
    let said = ReporterSays {
        note: req.note.as_deref(),
        rating: req.rating,
    };
    if let Some(n) = reporter_step(&state, &case, kind, said, now, &mut update, &mut data).await? {
        note = Some(n);
    }
    let txn = state.db.begin().await?;
    if !cases::update_if_version(&txn, case.id, req.version, &update).await? {
        return Err(ApiError::Conflict {
            code: "version_conflict",
            detail: "the case changed meanwhile: reload and retry".into(),
        });
    }
    cases::append_event(
        &txn,
        &CaseEvent {
            id: 0,
            case_id: case.id,
            at: now,
            actor_id: None,
            actor_role: "anonymous".into(),
            action: kind.as_str().to_owned(),
            from_status: Some(case.status),
            to_status: to,
            note,
            data: (!data.is_empty()).then_some(serde_json::Value::Object(data)),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        case_id = case.id.get(),
        action = kind.as_str(),
        "reporter feedback"
    );
    Ok(StatusCode::NO_CONTENT)
}
