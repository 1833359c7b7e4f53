//! Officers' portraits, shown on the contact card and to the residents of their communities.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use whistle_domain::ids::UserId;
use whistle_persistence::repo::community;

use crate::app::stationing;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, CurrentUser};
use crate::media_store;
use crate::state::AppState;

// ---- officers' portraits --------------------------------------------------------------------

/// Upload an officer's portrait for the contact card: the officer themself, or a leader who
/// may station officers in one of the officer's communities.
#[utoipa::path(put, path = "/api/v1/officers/{id}/photo", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = crate::wire::PhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 204, description = "Stored"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over the pixel limit (`image_too_large`) or not decodable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn put_officer_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<StatusCode, ApiError> {
    let officer = stationing::may_set_portrait(&state, &p, id).await?;
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    stationing::set_portrait(&state, officer, &image).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An officer's portrait. Public, like the card it is printed on.
#[utoipa::path(get, path = "/api/v1/officers/{id}/photo", tag = "community",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_officer_photo(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("photo_not_found", "no portrait for this officer");
    let officer = UserId::new(id).map_err(|_| not_found())?;
    let (sha, mime) = community::officer_photo(&state.db, officer)
        .await
        .map_err(ApiError::when_missing(not_found()))?
        .ok_or_else(not_found)?;
    media_store::image_response(&state, &sha, &mime, "public, max-age=3600").await
}
