//! Photos of cases: uploaded as multipart, recognised by content, stripped of metadata (EXIF
//! position and camera data), stored once per content under `attachments.dir`, served only to
//! those who may see the case.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::policy::{Action, Resource};
use whistle_domain::case::{AttachmentKind, Case};
use whistle_persistence::repo::attachments::{self, Attachment};
use whistle_persistence::repo::cases;

use crate::app::access::require;
use crate::app::attachments as photos;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, CaseCaller, MaybeUser, TRACKING_HEADER, case_caller};
use crate::media_store;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload, list))
        .routes(routes!(download))
        // The size limit of photos is enforced while reading (attachments.max_bytes); the JSON
        // limit must not apply here.
        .layer(DefaultBodyLimit::disable())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: i64,
    /// `report` or `after`.
    pub kind: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Where to download it (with the same credentials).
    pub url: String,
}

impl From<Attachment> for AttachmentDto {
    fn from(a: Attachment) -> Self {
        AttachmentDto {
            url: format!("/api/v1/attachments/{}", a.id),
            id: a.id,
            kind: a.kind.as_str().to_owned(),
            mime: a.mime,
            size: a.size,
            sha256: a.sha256,
            created_at: a.created_at,
        }
    }
}

/// Multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The photo: JPEG, PNG or WebP (recognised by content).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `report` (default) or `after` (the officer's after-photo).
    pub kind: Option<String>,
}

async fn load_case(state: &AppState, id: i64) -> Result<Case, ApiError> {
    let not_found = || ApiError::not_found("case_not_found", "no such case");
    let id = whistle_domain::ids::CaseId::new(id).map_err(|_| not_found())?;
    cases::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))
}

/// Attach a photo to a case: the reporter's (`kind=report`) or the handling officer's
/// after-photo (`kind=after`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases",
    params(("id" = i64, Path), ("X-Tracking-Token" = Option<String>, Header,
        description = "Instead of a login: the anonymous reporter's token of this case (kind=report only)")),
    security((), ("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = AttachmentDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many photos on the case", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG or WebP", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn upload(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<(StatusCode, Json<AttachmentDto>), ApiError> {
    let case = load_case(&state, id).await?;
    let caller = case_caller(&state, case.id, viewer, &headers).await?;
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    if let CaseCaller::Account(p) = &caller {
        require(p, Action::ViewCase, &resource)?;
    }
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let bytes = upload.take_file()?;
    let kind = AttachmentKind::parse(upload.field("kind").unwrap_or("report")).map_err(|_| {
        ApiError::Unprocessable {
            code: "invalid_value",
            detail: "kind must be report or after".into(),
            field: Some("kind".into()),
        }
    })?;
    let by = match &caller {
        CaseCaller::Account(p) => Some(p),
        CaseCaller::Reporter => None,
    };
    photos::may_attach(&state, &case, kind, by).await?;
    let image = media_store::store_image(&state, bytes).await?;
    let stored = photos::attach(&state, &case, &image, kind, by).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// The photos of a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments", tag = "cases",
    params(("id" = i64, Path), ("X-Tracking-Token" = Option<String>, Header)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<AttachmentDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<AttachmentDto>>, ApiError> {
    let case = load_case(&state, id).await?;
    if let CaseCaller::Account(p) = case_caller(&state, case.id, viewer, &headers).await? {
        require(
            &p,
            Action::ViewCase,
            &Resource {
                area: Some(case.area),
                owner: case.reporter_id,
            },
        )?;
    }
    let list = attachments::of_case(&state.db, case.id).await?;
    Ok(Json(list.into_iter().map(AttachmentDto::from).collect()))
}

/// Download a photo (metadata already removed).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "cases",
    params(("id" = i64, Path), ("X-Tracking-Token" = Option<String>, Header,
        description = "Instead of a login: the tracking token of the photo's case")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn download(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("attachment_not_found", "no such attachment");
    if viewer.is_none() && !headers.contains_key(TRACKING_HEADER) {
        return Err(ApiError::unauthorized(
            "unauthenticated",
            "log in or send the case's X-Tracking-Token",
        ));
    }
    let att = attachments::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let case = cases::get(&state.db, att.case_id).await?;
    // Another case's token is answered like a missing photo.
    match case_caller(&state, case.id, viewer, &headers)
        .await
        .map_err(|e| match e {
            ApiError::NotFound { .. } => not_found(),
            other => other,
        })? {
        CaseCaller::Account(p) => require(
            &p,
            Action::ViewCase,
            &Resource {
                area: Some(case.area),
                owner: case.reporter_id,
            },
        )
        .map_err(|_| not_found())?,
        CaseCaller::Reporter => {}
    }
    media_store::image_response(&state, &att.sha256, &att.mime, "private, max-age=86400").await
}
