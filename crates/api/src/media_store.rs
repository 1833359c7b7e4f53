//! Photos on disk, shared by every feature that takes pictures (case photos, inspection and
//! work-log photos, officers' portraits, scanned pledge signatures).
//!
//! An upload is read from a multipart form with a size limit enforced while reading, recognised
//! by its content (never by its name or declared type), stripped of metadata (EXIF position and
//! camera data) and stored once per content under `attachments.dir/<aa>/<sha256>.<ext>`. The
//! database rows that point at a photo keep its SHA-256 and MIME type; [`image_response`] serves
//! it back after the caller has checked authorization.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use whistle_domain::media::{ImageFormat, strip_metadata};

use crate::error::ApiError;
use crate::state::AppState;

/// A multipart form with one file field and some text fields.
#[derive(Debug, Default)]
pub struct Upload {
    pub file: Option<Vec<u8>>,
    /// Text fields in the order sent, repeated names kept (`attribute[x][]=a&attribute[x][]=b`),
    /// each cut to [`TEXT_FIELD_MAX_CHARS`] characters.
    pub fields: Vec<(String, String)>,
}

/// Longest text field kept whole. Longer than any value a form accepts, so cutting a field never
/// turns an invalid value into a valid one; it only bounds memory.
pub const TEXT_FIELD_MAX_CHARS: usize = 10_000;

impl Upload {
    /// The last non-empty value of a text field, trimmed.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|s| !s.is_empty())
    }

    /// The file, or 422 `file_required`.
    pub fn take_file(&mut self) -> Result<Vec<u8>, ApiError> {
        self.file.take().ok_or_else(|| ApiError::Unprocessable {
            code: "file_required",
            detail: "send the photo in a multipart field named file".into(),
            field: Some("file".into()),
        })
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::bad_request("invalid_multipart", e.body_text())
}

/// Reads a form whose photo is in the field `file`; the photo may be at most `max` bytes (413
/// as soon as more arrives). Other fields are kept as text.
pub async fn read_upload(form: Multipart, max: usize) -> Result<Upload, ApiError> {
    read_form(form, max, "file").await
}

/// [`read_upload`] with the photo in the field `file_field` (Open311 calls it `media`).
pub async fn read_form(
    mut form: Multipart,
    max: usize,
    file_field: &str,
) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let mut buf = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if buf.len() + chunk.len() > max {
                    return Err(ApiError::PayloadTooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            upload.file = Some(buf);
        } else if !name.is_empty() {
            let text = field.text().await.map_err(multipart_error)?;
            upload
                .fields
                .push((name, text.chars().take(TEXT_FIELD_MAX_CHARS).collect()));
        }
    }
    Ok(upload)
}

/// A photo as stored.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub sha256: String,
    pub mime: &'static str,
    pub size: i64,
}

/// Recognises, cleans and stores a photo; 415 if it is not a JPEG, PNG or WebP.
pub async fn store_image(state: &AppState, bytes: Vec<u8>) -> Result<StoredImage, ApiError> {
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| ApiError::UnsupportedMediaType {
        detail: "only JPEG, PNG and WebP photos are accepted".into(),
    })?;
    let clean = tokio::task::spawn_blocking(move || strip_metadata(format, &bytes))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let sha: String = Sha256::digest(&clean)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = path_of(state, &sha, format.mime());
    write_once(&path, &clean).await?;
    Ok(StoredImage {
        sha256: sha,
        mime: format.mime(),
        size: clean.len() as i64,
    })
}

fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

fn path_of(state: &AppState, sha: &str, mime: &str) -> PathBuf {
    let prefix = sha.get(..2).unwrap_or("xx");
    PathBuf::from(&state.settings.attachments.dir)
        .join(prefix)
        .join(format!("{sha}.{}", extension_of(mime)))
}

/// Writes a content-addressed file once: to a temporary name, then renamed into place, so a
/// reader never sees half a file and a crash leaves no partial photo under its final name.
async fn write_once(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Ok(());
    }
    let io =
        |e: std::io::Error| ApiError::Internal(anyhow::Error::new(e).context("storing a photo"));
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)?;
    Ok(())
}

/// Serves a stored photo. `cache` is the `Cache-Control` value (`private, …` for anything behind
/// a login).
pub async fn image_response(
    state: &AppState,
    sha: &str,
    mime: &str,
    cache: &'static str,
) -> Result<Response, ApiError> {
    let path = path_of(state, sha, mime);
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context(format!("reading photo {sha}")))
    })?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok((StatusCode::OK, headers, bytes).into_response())
}
