//! What the anonymous reporter may do with the tracking token of their case, and with it only:
//! comment, rate the result once closed, or ask to reopen it. An account uses the actions
//! endpoint (`/api/v1/cases/{id}/actions`) instead; the token opens nothing else.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::case::Rating;
use whistle_domain::lifecycle::CaseCommand;

use crate::app::cases::act::{self, Caller, StepCommand};
use crate::app::cases::{self as app_cases};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, CaseCaller, case_caller};
use crate::state::AppState;
use crate::wire::required_note;

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
    let case = app_cases::load(&state, id).await?;
    let CaseCaller::Reporter = case_caller(&state, case.id, None, &headers).await? else {
        return Err(not_found());
    };
    let command = match req.action.as_str() {
        "comment" => CaseCommand::Comment(required_note(req.note.as_deref())?),
        "rate" => CaseCommand::Rate(Rating::new(req.rating.unwrap_or(0), req.note.as_deref())?),
        "reopen" => CaseCommand::Reopen,
        _ => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "action must be comment, rate or reopen".into(),
                field: Some("action".into()),
            });
        }
    };
    let step = StepCommand {
        command,
        remark: req.note,
        version: Some(req.version),
    };
    act::act(&state, Caller::Reporter, &case, step).await?;
    Ok(StatusCode::NO_CONTENT)
}
