//! Photos, shared by every feature that takes pictures (case photos, inspection and
//! work-log photos, officers' portraits, scanned pledge signatures).
//!
//! An upload is read from a multipart form with a size limit enforced while reading, recognised
//! by its content (never by its name or declared type), checked for structure and for the size
//! its header declares (`attachments.max_pixels`), then decoded under memory limits, scaled down
//! to `attachments.max_side_px` and re-encoded as JPEG. What is stored and served is that copy,
//! never the uploaded bytes: a browser decoding a photo for staff never meets a pixel bomb or a
//! malformed file, and no metadata (EXIF position and camera data) survives. The copy is stored
//! once per content as `<aa>/<sha256>.jpg` in the photo store (`crate::photo_store`: a local
//! directory, or S3-compatible storage shared by the nodes). The database rows that point at a
//! photo keep its SHA-256 and MIME type (photos stored before re-encoding keep theirs);
//! [`image_response`] serves it back after the caller has checked authorization.

use std::io::Cursor;
use std::sync::LazyLock;

use axum::extract::Multipart;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use whistle_domain::media::{self, Dimensions, ImageFormat, strip_metadata};

use crate::app::attachments::StoredImage;
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

/// Recognises, checks, re-encodes and stores a photo: 415 if it is not a JPEG, PNG or WebP (or a
/// variant of one the decoder does not support), 422 `invalid_value` if it is malformed, 422
/// `image_too_large` if it declares more than `attachments.max_pixels` pixels. What is stored is
/// always a JPEG.
pub async fn store_image(state: &AppState, bytes: Vec<u8>) -> Result<StoredImage, ApiError> {
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| ApiError::UnsupportedMediaType {
        detail: "only JPEG, PNG and WebP photos are accepted".into(),
    })?;
    let bounds = Bounds {
        max_pixels: state.settings.attachments.max_pixels,
        max_side: state.settings.attachments.max_side_px,
    };
    let _permit = DECODING
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let jpeg = tokio::task::spawn_blocking(move || display_copy(format, &bytes, bounds))
        .await
        .map_err(|e| {
            if e.is_panic() {
                // A decoder that panics on hostile input has refused the file, not failed the
                // server; it is logged like a bug all the same.
                tracing::error!(error = %e, "image decoder panicked");
                undecodable()
            } else {
                ApiError::Internal(e.into())
            }
        })??;
    let sha: String = Sha256::digest(&jpeg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mime = ImageFormat::Jpeg.mime();
    let size = jpeg.len() as i64;
    state.photos.put_once(&key_of(&sha, mime), jpeg).await?;
    Ok(StoredImage {
        sha256: sha,
        mime,
        size,
    })
}

/// Decoding holds the whole bitmap in memory (up to `max_pixels` × 8 bytes); bounding how many
/// run at once bounds the memory a burst of large uploads can take, and leaves blocking threads
/// for everything else.
static DECODING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Quality of the stored JPEG: visually indistinguishable from the upload at display size, and
/// a fraction of a phone camera's file size.
const JPEG_QUALITY: u8 = 85;

/// Widest decoded pixel among the accepted formats (16-bit RGBA PNG), for the decoder's memory
/// limit.
const MAX_BYTES_PER_PIXEL: u64 = 8;

#[derive(Debug, Clone, Copy)]
struct Bounds {
    max_pixels: u64,
    max_side: u32,
}

fn undecodable() -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_value",
        detail: "file: not a well-formed image: it cannot be decoded".into(),
        field: Some("file".into()),
    }
}

fn too_large(size: Dimensions, max_pixels: u64) -> ApiError {
    ApiError::Unprocessable {
        code: "image_too_large",
        detail: format!(
            "the image declares {} × {} pixels; at most {max_pixels} pixels ({} megapixels) are \
             accepted",
            size.width,
            size.height,
            max_pixels as f64 / 1_000_000.0
        ),
        field: Some("file".into()),
    }
    .with_zh(format!(
        "图片标称 {} × {} 像素；最多接受 {max_pixels} 像素（{} 百万像素），请缩小后重新上传",
        size.width,
        size.height,
        max_pixels as f64 / 1_000_000.0
    ))
}

/// The copy that is stored: checked, decoded within limits, scaled to fit, turned upright,
/// flattened onto white and encoded as JPEG. CPU-bound; runs on a blocking thread.
fn display_copy(format: ImageFormat, bytes: &[u8], bounds: Bounds) -> Result<Vec<u8>, ApiError> {
    // The structure check: a truncated or malformed file gets the same answer as before
    // re-encoding existed, whatever the decoder would have made of it.
    strip_metadata(format, bytes)?;
    let size = media::dimensions(format, bytes)?;
    if size.pixels() > bounds.max_pixels {
        return Err(too_large(size, bounds.max_pixels));
    }
    // The header was checked, but the decoder reads it again itself; limiting it to the checked
    // size means a file whose decoder sees something larger (a second frame header, a frame
    // bigger than its canvas) is refused instead of allocated.
    let mut limits = Limits::default();
    limits.max_image_width = Some(size.width);
    limits.max_image_height = Some(size.height);
    limits.max_alloc = Some(bounds.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    let decode_error = |e: ImageError| match e {
        ImageError::Limits(_) => too_large(size, bounds.max_pixels),
        ImageError::Unsupported(u) => ApiError::UnsupportedMediaType {
            detail: format!("this kind of {} cannot be read: {u}", format.mime()),
        },
        _ => undecodable(),
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::WebP => image::ImageFormat::WebP,
    });
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    // Phones store a photo as the sensor saw it and say in EXIF how to turn it; the copy loses
    // its EXIF, so it is turned here. An unreadable orientation is taken as none.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    limits
        .reserve(decoder.total_bytes())
        .map_err(decode_error)?;
    decoder.set_limits(limits).map_err(decode_error)?;
    let full = DynamicImage::from_decoder(decoder).map_err(decode_error)?;

    // Scaled first, so that turning and flattening work on the small copy. Area averaging
    // allocates only the result, unlike the filtered resizers' full-width intermediate.
    let fit = Dimensions {
        width: full.width(),
        height: full.height(),
    }
    .fit_within(bounds.max_side);
    let scaled = if (fit.width, fit.height) == (full.width(), full.height()) {
        full
    } else {
        let small = full.thumbnail_exact(fit.width, fit.height);
        drop(full);
        small
    };
    let mut upright = DynamicImage::ImageRgb8(on_white(&scaled));
    drop(scaled);
    upright.apply_orientation(orientation);

    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&upright.into_rgb8())
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("encoding a photo")))?;
    Ok(out)
}

/// JPEG has no transparency: transparent parts (a signature on a transparent background) are
/// laid on white paper rather than on whatever colour the hidden pixels happen to hold.
fn on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// The photo's key in the store: `<aa>/<sha256>.<ext>`.
fn key_of(sha: &str, mime: &str) -> String {
    let prefix = sha.get(..2).unwrap_or("xx");
    format!("{prefix}/{sha}.{}", extension_of(mime))
}

/// Serves a stored photo. `cache` is the `Cache-Control` value (`private, …` for anything behind
/// a login).
pub async fn image_response(
    state: &AppState,
    sha: &str,
    mime: &str,
    cache: &'static str,
) -> Result<Response, ApiError> {
    let bytes = state.photos.get(&key_of(sha, mime)).await?;
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
