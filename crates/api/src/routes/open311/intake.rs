//! Creating a service request (POST `requests`): the client's API key, a form or multipart
//! body, the category's extra questions and a `media_url`, turned into an intake `Report` with
//! channel Open311. Routing, SLA, case number, timeline and idempotency are the native intake's
//! own (`app::cases::intake`); only the error list is Open311's.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, header};
use serde_json::Value;
use whistle_auth::api_key;
use whistle_domain::case::Description;
use whistle_domain::category::{AttributeKind, Category};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::merchant::Address;
use whistle_domain::people::PhoneNumber;
use whistle_domain::text::Name;
use whistle_persistence::repo::api_keys::{self, ApiKey};

use super::requests::{CreatedDoc, DESCRIPTION_MAX_CHARS, NewRequestDoc, notice};
use super::services::active_category;
use super::wire::Node;
use super::{ErrorDoc, Open311Error, Params, check_jurisdiction};
use crate::app::AppError;
use crate::app::cases::intake::{
    Channel, IntakeExtras, Open311Client, Report, Whereabouts, intake,
};
use crate::extract::idempotency_key;
use crate::i18n::Lang;
use crate::media_store;
use crate::state::AppState;

// ---- POST requests -------------------------------------------------------------------------

/// Report a problem. Goes through the same intake as `POST /api/v1/cases` (routing to grid and
/// community, suggested officer, first SLA deadline, case number, timeline) in one transaction
/// with the photo (`media`) and the client's `media_url`; the case's source is `open311`. With an
/// `Idempotency-Key` header a retry answers with the same request and creates nothing.
#[utoipa::path(post, path = "/open311/v2/requests.{format}", tag = "open311",
    params(
        ("format" = String, Path, description = "`xml` or `json`"),
        ("api_key" = Option<String>, Query, description = "Or in the form"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: same key, same request"),
    ),
    request_body(content = NewRequestDoc, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "One created request (an array of one)", content((Vec<CreatedDoc> = "application/json"), (Vec<CreatedDoc> = "text/xml"))),
        (status = 400, description = "Bad input; nothing was created", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
        (status = 403, description = "Missing, wrong or revoked api_key", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
        (status = 404, description = "Unknown service_code, format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn create_request(
    state: &AppState,
    headers: &HeaderMap,
    req: Request,
) -> Result<Node, Open311Error> {
    let lang = Lang::from_headers(headers);
    let mut params = Params::from_query(req.uri())?;
    let (form, media) = read_body(state, req).await?;
    // The form first: its api_key wins over one in the query string.
    let query = std::mem::replace(&mut params, form);
    params.extend(query);
    params.screen()?;

    let client = authenticate(state, &params).await?;
    check_jurisdiction(state, &params)?;
    let code = params
        .get("service_code")
        .ok_or_else(|| Open311Error::bad_request("service_code was not provided"))?;
    let category = active_category(state, code).await?;
    let new = new_case(&params, &category)?;
    let media_url = params.get("media_url").map(media_url).transpose()?;
    let key = idempotency_key(headers)?;

    // The photo is recognised, cleaned and stored as a file before the case's transaction; its
    // row is written in that transaction (a file no row names is harmless: named by content).
    let photo = match media.filter(|m| !m.is_empty()) {
        Some(bytes) => Some(media_store::store_image(state, bytes).await?),
        None => None,
    };
    let done = intake(
        state,
        None,
        &new,
        Channel::Open311,
        key.map(|k| (format!("open311:{}", client.id), k)),
        IntakeExtras {
            photo,
            open311_client: Some(Open311Client {
                api_key_id: client.id,
                media_url,
            }),
        },
    )
    .await
    .map_err(intake_error)?;
    if let Err(e) = api_keys::touch(&state.db, client.id, state.now()).await {
        tracing::warn!(error = %e, api_key_id = client.id, "could not note the key's use");
    }
    tracing::info!(
        case_id = done.case.id.get(),
        api_key_id = client.id,
        replayed = !done.created,
        "Open311 request"
    );
    let case = &done.case;
    Ok(Node::list(
        "request",
        [CreatedDoc {
            service_request_id: case.number.to_string(),
            service_notice: Some(notice(state, case, lang).unwrap_or_else(|| match lang {
                Lang::Zh => format!("已登记为案件 {}", case.number),
                Lang::En => format!("Registered as case {}", case.number),
            })),
            account_id: None,
        }
        .into()],
    ))
}

/// The form and the `media` photo, if any. Form-encoded bodies are held to the server's body
/// limit; multipart ones to the photo limit, checked while reading.
async fn read_body(
    state: &AppState,
    req: Request,
) -> Result<(Params, Option<Vec<u8>>), Open311Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let form = Multipart::from_request(req, state)
            .await
            .map_err(|e| Open311Error::bad_request(format!("multipart: {}", e.body_text())))?;
        let upload =
            media_store::read_form(form, state.settings.attachments.max_bytes, "media").await?;
        return Ok((Params::new(upload.fields), upload.file));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Open311Error::bad_request(
            "send the request as application/x-www-form-urlencoded \
             (or multipart/form-data with a media file)",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, state.settings.server.body_limit_bytes)
        .await
        .map_err(|_| Open311Error::bad_request("the request is too large"))?;
    let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(
        Request::from_parts(parts, Body::from(bytes)),
        state,
    )
    .await
    .map_err(|e| Open311Error::bad_request(format!("form: {}", e.body_text())))?;
    Ok((Params::new(pairs), None))
}

/// The client application behind `api_key`: 403 when it is missing, unknown or revoked.
async fn authenticate(state: &AppState, params: &Params) -> Result<ApiKey, Open311Error> {
    let presented = params.get("api_key").ok_or_else(|| {
        Open311Error::forbidden(
            "api_key is missing: creating a request needs your application's key",
        )
    })?;
    let invalid = || Open311Error::forbidden("invalid api_key: unknown or revoked");
    if !api_key::looks_like_key(presented) {
        return Err(invalid());
    }
    api_keys::find_active(&state.db, &api_key::hash(presented))
        .await?
        .ok_or_else(invalid)
}

/// The native report built from the form. The spec's wire rules are checked here (lat and long
/// together, a location of some kind, the 4,000-character description, attribute syntax);
/// everything else is intake's: category, answers, coordinates, names, phone, routing.
fn new_case(params: &Params, category: &Category) -> Result<Report, Open311Error> {
    let number = |name: &str, raw: &str| {
        raw.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| Open311Error::bad_request(format!("{name} must be a number")))
    };
    let point = match (params.get("lat"), params.get("long")) {
        (Some(lat), Some(long)) => {
            let (lat, lon) = (number("lat", lat)?, number("long", long)?);
            // The spec's coordinates are WGS-84; the domain checks the ranges.
            Some(Coordinate::wgs84(lat, lon).map_err(|e| {
                let field = if e.field == "lon" { "long" } else { e.field };
                Open311Error::bad_request(format!("{field} {}", e.reason))
            })?)
        }
        (Some(_), None) => {
            return Err(Open311Error::bad_request(
                "long was not provided: send lat and long together",
            ));
        }
        (None, Some(_)) => {
            return Err(Open311Error::bad_request(
                "lat was not provided: send lat and long together",
            ));
        }
        (None, None) => None,
    };
    let address = params.get("address_string").map(str::to_owned);
    let place_id = params
        .get("address_id")
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| Open311Error::bad_request("address_id must be a positive integer"))
        })
        .transpose()?;
    if point.is_none() && address.is_none() && place_id.is_none() {
        return Err(Open311Error::bad_request(
            "a location was not provided: send lat and long, address_string or address_id",
        ));
    }
    let description = match params.get("description") {
        Some(d) if d.chars().count() > DESCRIPTION_MAX_CHARS => {
            return Err(Open311Error::bad_request(format!(
                "description is limited to {DESCRIPTION_MAX_CHARS} characters"
            )));
        }
        Some(d) => d.to_owned(),
        // The spec makes the description optional; a case always has one.
        None => category.name.zh().to_string(),
    };
    let refused = |e: whistle_domain::ValueError| Open311Error::bad_request(e.to_string());
    let given = |v: Option<&str>| v.filter(|s| !s.trim().is_empty()).map(str::to_owned);
    Ok(Report {
        category: category.code.to_string(),
        description: Description::parse(&description).map_err(refused)?,
        whereabouts: match point {
            Some(point) => Whereabouts::Point {
                point,
                crs: Crs::Wgs84,
            },
            None => Whereabouts::AddressBook { place_id },
        },
        address: given(address.as_deref())
            .map(|a| Address::parse(&a))
            .transpose()
            .map_err(refused)?,
        address_text: address,
        priority: None,
        case_type: None,
        reporter_name: reporter_name(params.get("first_name"), params.get("last_name"))
            .filter(|n| !n.trim().is_empty())
            .map(|n| Name::parse(&n)),
        reporter_phone: given(params.get("phone")).map(|p| PhoneNumber::parse(&p)),
        attributes: answers(params, category)?,
    })
}

/// 张 + 三 → 张三 (family name first, no space); John + Smith → John Smith.
fn reporter_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let cjk = |s: &str| {
        s.chars()
            .all(|c| matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '·'))
    };
    match (first, last) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (Some(f), Some(l)) if cjk(f) && cjk(l) => Some(format!("{l}{f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
    }
}

/// `attribute[code]=value` (and `attribute[code][]=value`) as typed answers for intake, which
/// checks them against the category's questions. Values come as text; numbers and yes/no
/// questions are converted by the question's type. Whistle has no multiple-choice questions, so
/// more than one value for a code is refused.
fn answers(
    params: &Params,
    category: &Category,
) -> Result<serde_json::Map<String, Value>, Open311Error> {
    let mut given: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in params.pairs() {
        let Some(rest) = name.strip_prefix("attribute[") else {
            continue;
        };
        let malformed = || {
            Open311Error::bad_request(format!(
                "malformed parameter {:?}: send attribute[code]=value",
                name.chars().take(60).collect::<String>()
            ))
        };
        let (code, tail) = rest.split_once(']').ok_or_else(malformed)?;
        if code.is_empty() || !(tail.is_empty() || tail == "[]") {
            return Err(malformed());
        }
        let value = value.trim();
        if !value.is_empty() {
            given.entry(code).or_default().push(value);
        }
    }
    let mut out = serde_json::Map::new();
    for (code, values) in given {
        let [raw] = values.as_slice() else {
            return Err(Open311Error::bad_request(format!(
                "attribute[{code}] takes one value"
            )));
        };
        let kind = category
            .attributes
            .iter()
            .find(|s| s.key.as_str() == code)
            .map(|s| &s.kind);
        let value = match kind {
            Some(AttributeKind::Number { .. }) => raw
                .parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| {
                    raw.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                })
                .ok_or_else(|| {
                    Open311Error::bad_request(format!("attribute[{code}] must be a number"))
                })?,
            Some(AttributeKind::Boolean) => match *raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(Open311Error::bad_request(format!(
                        "attribute[{code}] must be true or false"
                    )));
                }
            },
            // Text, a choice's key, or a code the category does not ask (intake refuses it).
            _ => Value::String((*raw).to_owned()),
        };
        out.insert(code.to_owned(), value);
    }
    Ok(out)
}

/// `media_url`: a public http(s) link of reasonable length.
fn media_url(raw: &str) -> Result<String, Open311Error> {
    let scheme_ok = raw
        .get(..8)
        .map(str::to_ascii_lowercase)
        .is_some_and(|s| s.starts_with("http://") || s == "https://");
    if !scheme_ok
        || raw.len() > 2048
        || raw.len() < 10
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Open311Error::bad_request(
            "media_url must be an http or https URL of at most 2048 characters",
        ));
    }
    Ok(raw.to_owned())
}

/// Intake's refusals in the words of the Open311 form. The one resource a POST names, the
/// service, was found before intake; what intake does not find (the point in any grid, an
/// address-book entry) is bad input, 400.
fn intake_error(e: AppError) -> Open311Error {
    match e {
        AppError::Invalid {
            code: "location_required",
            ..
        } => Open311Error::bad_request(
            "this endpoint cannot place a request by address alone yet: send lat and long",
        ),
        AppError::Invalid {
            code: "outside_city",
            ..
        } => Open311Error::bad_request("lat and long are outside the city's grids"),
        AppError::NotFound { detail, .. } => Open311Error::bad_request(detail),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_script() {
        assert_eq!(
            reporter_name(Some("三"), Some("张")).as_deref(),
            Some("张三")
        );
        assert_eq!(
            reporter_name(Some("John"), Some("Smith")).as_deref(),
            Some("John Smith")
        );
        assert_eq!(reporter_name(None, Some("张")).as_deref(), Some("张"));
        assert_eq!(reporter_name(None, None), None);
    }

    #[test]
    fn media_urls_are_http_links() {
        assert!(media_url("https://example.org/p/1.jpg").is_ok());
        assert!(media_url("HTTP://example.org/1.jpg").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://example.org/x",
            "https://exa mple.org",
            "https://",
        ] {
            assert!(media_url(bad).is_err(), "{bad}");
        }
        assert!(media_url(&format!("https://e.org/{}", "a".repeat(2100))).is_err());
    }
}
