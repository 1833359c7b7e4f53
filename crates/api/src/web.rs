//! The web front ends, built from `web/` and compiled into the binary, so `whistle-api` alone
//! serves them: the resident's phone page (扫码吹哨, `web/dist/report`) under `/report` and the
//! staff console (管理后台, `web/dist/console`) under `/console`.
//!
//! Only each page's own paths fall back to its `index.html` (the pages route on the client, e.g.
//! `/report/track/<token>`, `/console/cases/12`); every other unknown path keeps the API's
//! problem+json 404.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../../web/dist/report/"]
struct ReportPage;

#[derive(RustEmbed)]
#[folder = "../../web/dist/console/"]
struct Console;

/// Hashed file names never change content: cache them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` names the current hashes: always revalidate it.
const NO_CACHE: &str = "no-cache";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/report", get(index::<ReportPage>))
        .route("/report/", get(index::<ReportPage>))
        .route("/report/{*path}", get(file_or_index::<ReportPage>))
        .route("/console", get(index::<Console>))
        .route("/console/", get(index::<Console>))
        .route("/console/{*path}", get(file_or_index::<Console>))
}

async fn index<E: RustEmbed>() -> Response {
    serve::<E>("index.html", NO_CACHE).unwrap_or_else(|| missing().into_response())
}

async fn file_or_index<E: RustEmbed>(Path(path): Path<String>) -> Response {
    if let Some(res) = serve::<E>(&path, cache_for(&path)) {
        return res;
    }
    // A missing asset is a real 404 (a stale page asking for an old hash must not get HTML).
    if path.starts_with("assets/") || path.rsplit('/').next().is_some_and(|f| f.contains('.')) {
        return ApiError::not_found("route_not_found", "no such file").into_response();
    }
    index::<E>().await
}

fn cache_for(path: &str) -> &'static str {
    if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

fn serve<E: RustEmbed>(path: &str, cache: &'static str) -> Option<Response> {
    let file = E::get(path)?;
    let mime = file.metadata.mimetype().to_owned();
    let mut res = (StatusCode::OK, Body::from(file.data.into_owned())).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(res)
}

fn missing() -> ApiError {
    ApiError::not_found("route_not_found", "the page is not built")
}

/// Whether the public base URL points at this machine only: a contact card printed with it
/// sends every phone that scans it nowhere.
pub fn is_loopback_base(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
        || host.is_empty()
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_base;

    #[test]
    fn loopback_bases_are_recognised() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "https://[::1]/",
            "http://127.5.0.1",
            "http://0.0.0.0:80",
        ] {
            assert!(is_loopback_base(url), "{url}");
        }
        for url in [
            "https://whistle.example.cn",
            "http://192.168.1.20:8080",
            "https://user@lyg.gov.cn:8443/x",
        ] {
            assert!(!is_loopback_base(url), "{url}");
        }
    }
}
