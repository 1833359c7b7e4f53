//! Service requests read back (GET `requests`, one request, a token): the documents, the search
//! and the rendering. Creating one is `intake`.
//!
//! What a public read shows follows the public map (`GET /api/v1/public/cases`): never the
//! reporter's name, phone or e-mail; the point rounded to about 100 m; rejected reports left out
//! of lists. The description and address are shown only for reports that came through Open311
//! (their client submitted them to a public interface), with anything that looks like contact
//! details masked (mobiles, ID numbers, landlines, e-mail addresses: `mask_contacts`); cases from
//! other channels show the community instead of the address and no description, as on the public
//! map. Photos are not published (they may show faces); a client's own `media_url` is echoed back.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use whistle_domain::case::{Case, CaseNumber, CaseSource, CaseStatus};
use whistle_domain::category::Category;
use whistle_domain::ids::{CaseId, CategoryId, CommunityId};
use whistle_domain::privacy::mask_contacts;
use whistle_persistence::RepoError;
use whistle_persistence::repo::cases::{self as case_repo, CaseEvent};
use whistle_persistence::repo::geography::CommunityInContext;
use whistle_persistence::repo::open311::{self, Origin, RequestSearch};

use super::services::name_in;
use super::wire::Node;
use super::{ErrorDoc, Open311Error, Params, check_jurisdiction, w3_time};
use crate::i18n::Lang;
use crate::state::AppState;

/// The spec's limits: a description of at most 4,000 characters; lists of at most 1,000
/// requests from a window of at most 90 days.
pub(super) const DESCRIPTION_MAX_CHARS: usize = 4000;
const MAX_PAGE_SIZE: u64 = 1000;
const WINDOW_DAYS: i64 = 90;
/// More service codes than any catalogue has; bounds the lookups one query may cause.
const MAX_CODES: usize = 100;

// ---- wire types ----------------------------------------------------------------------------

/// The form of `POST requests.{format}` (`application/x-www-form-urlencoded`, or
/// `multipart/form-data` to add a photo as `media`). Answers to the service's questions are sent
/// as `attribute[code]=value`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct NewRequestDoc {
    /// The key issued to the client application (also accepted in the query string).
    pub api_key: String,
    pub jurisdiction_id: Option<String>,
    pub service_code: String,
    /// WGS-84. `lat` and `long` together, or `address_string`, or `address_id`.
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    /// An entry of the city's address book (an integer id).
    pub address_id: Option<String>,
    /// Kept as the reporter's contact, never published.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A mainland mobile number; kept as the reporter's contact, never published.
    pub phone: Option<String>,
    /// Accepted and not kept (Whistle reaches reporters by phone).
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    /// At most 4,000 characters.
    pub description: Option<String>,
    /// A public link to a picture kept elsewhere (http or https).
    pub media_url: Option<String>,
    /// A photo (JPEG, PNG or WebP), multipart only.
    #[schema(value_type = Option<String>, format = Binary)]
    pub media: Option<Vec<u8>>,
}

/// The answer to a POST: one created request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDoc {
    /// The case number, e.g. `HZ-20261125-000123`.
    pub service_request_id: String,
    /// What happens next and by when.
    pub service_notice: Option<String>,
    /// Always null: Whistle does not keep client account ids.
    pub account_id: Option<String>,
}

/// The answer to `tokens/{token}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDoc {
    pub service_request_id: String,
    pub token: String,
}

/// A service request as the public sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRequestDoc {
    /// The case number, e.g. `HZ-20261125-000123`.
    pub service_request_id: String,
    /// `closed` when closed or rejected, `open` otherwise.
    pub status: String,
    /// The detailed status (已派遣, 处置中 …).
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: Option<String>,
    /// Only for requests submitted through Open311.
    pub description: Option<String>,
    /// The district's urban-management bureau.
    pub agency_responsible: Option<String>,
    /// The running deadline, in words.
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    /// For closed requests, when they were closed.
    pub updated_datetime: String,
    /// The deadline of the running stage.
    pub expected_datetime: Option<String>,
    /// The address the Open311 client sent, otherwise community, street, district.
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    /// WGS-84, rounded to 3 decimals (about 100 m).
    pub lat: f64,
    pub long: f64,
    /// The link the Open311 client sent, if any.
    pub media_url: Option<String>,
    /// Only with `extensions=true`.
    pub extended_attributes: Option<ExtendedAttributesDoc>,
    /// Only with `extensions=true`: the timeline, oldest first, without who acted.
    pub notes: Option<Vec<NoteDoc>>,
}

/// Whistle's details of a request (`extensions=true`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtendedAttributesDoc {
    /// `reported`, `accepted`, `rejected`, `dispatched`, `in_progress`, `resolved`, `verified`,
    /// `closed`.
    pub status: String,
    /// The running stage (`accept`, `dispatch`, `sign`, `resolve`, `verify`), if any.
    pub stage: Option<String>,
    pub stage_due: Option<String>,
    pub community: Option<String>,
    /// How the case came in: `open311`, `resident_app`, `hotline_12345`, …
    pub channel: String,
}

/// One step of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteDoc {
    pub datetime: String,
    pub description: String,
    /// The action: `report`, `accept`, `dispatch`, `resolve`, `close`, `attach` …
    #[serde(rename = "type")]
    pub kind: String,
}

impl From<CreatedDoc> for Node {
    fn from(c: CreatedDoc) -> Node {
        Node::Record(vec![
            ("service_request_id", Node::Text(c.service_request_id)),
            ("service_notice", Node::opt_text(c.service_notice)),
            ("account_id", Node::opt_text(c.account_id)),
        ])
    }
}

impl From<TokenDoc> for Node {
    fn from(t: TokenDoc) -> Node {
        Node::Record(vec![
            ("service_request_id", Node::Text(t.service_request_id)),
            ("token", Node::Text(t.token)),
        ])
    }
}

impl From<ServiceRequestDoc> for Node {
    fn from(r: ServiceRequestDoc) -> Node {
        let mut fields = vec![
            ("service_request_id", Node::Text(r.service_request_id)),
            ("status", Node::Text(r.status)),
            ("status_notes", Node::opt_text(r.status_notes)),
            ("service_name", Node::opt_text(r.service_name)),
            ("service_code", Node::opt_text(r.service_code)),
            ("description", Node::opt_text(r.description)),
            ("agency_responsible", Node::opt_text(r.agency_responsible)),
            ("service_notice", Node::opt_text(r.service_notice)),
            ("requested_datetime", Node::Text(r.requested_datetime)),
            ("updated_datetime", Node::Text(r.updated_datetime)),
            ("expected_datetime", Node::opt_text(r.expected_datetime)),
            ("address", Node::opt_text(r.address)),
            ("address_id", Node::opt_text(r.address_id)),
            ("zipcode", Node::opt_text(r.zipcode)),
            ("lat", Node::Float(r.lat)),
            ("long", Node::Float(r.long)),
            ("media_url", Node::opt_text(r.media_url)),
        ];
        if let Some(x) = r.extended_attributes {
            fields.push((
                "extended_attributes",
                Node::Record(vec![
                    ("status", Node::Text(x.status)),
                    ("stage", Node::opt_text(x.stage)),
                    ("stage_due", Node::opt_text(x.stage_due)),
                    ("community", Node::opt_text(x.community)),
                    ("channel", Node::Text(x.channel)),
                ]),
            ));
        }
        if let Some(notes) = r.notes {
            fields.push((
                "notes",
                Node::list(
                    "note",
                    notes.into_iter().map(|n| {
                        Node::Record(vec![
                            ("datetime", Node::Text(n.datetime)),
                            ("description", Node::Text(n.description)),
                            ("type", Node::Text(n.kind)),
                        ])
                    }),
                ),
            ));
        }
        Node::Record(fields)
    }
}

// ---- GET requests --------------------------------------------------------------------------

/// Requests, newest first: by `service_request_id` (a comma list that overrides every other
/// filter), or filtered by `service_code`, `status` (`open`, `closed`) and `start_date` /
/// `end_date` (at most 90 days apart; by default the last 90 days), at most 1000 at a time, paged
/// with `page` and `page_size`. `extensions=true` adds Whistle's detailed status and the
/// timeline. No personal data of reporters.
#[utoipa::path(get, path = "/open311/v2/requests.{format}", tag = "open311",
    params(
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
        ("service_request_id" = Option<String>, Query, description = "Comma-separated; overrides the other filters"),
        ("service_code" = Option<String>, Query, description = "Comma-separated"),
        ("start_date" = Option<String>, Query, description = "W3C date-time, e.g. 2026-11-01T00:00:00+08:00"),
        ("end_date" = Option<String>, Query, description = "W3C date-time"),
        ("status" = Option<String>, Query, description = "`open`, `closed`, or both comma-separated"),
        ("page" = Option<u64>, Query, description = "Paging extension: 1, 2, …"),
        ("page_size" = Option<u64>, Query, description = "Paging extension: 1–1000 (default 1000)"),
        ("extensions" = Option<bool>, Query, description = "`true` adds extended_attributes and notes"),
    ),
    responses(
        (status = 200, content((Vec<ServiceRequestDoc> = "application/json"), (Vec<ServiceRequestDoc> = "text/xml"))),
        (status = 400, content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn list_requests(
    state: &AppState,
    params: &Params,
    lang: Lang,
) -> Result<Page, Open311Error> {
    check_jurisdiction(state, params)?;
    let ids = params.list("service_request_id");
    let found = if ids.is_empty() {
        match search_from(state, params).await? {
            Some(search) => open311::search(state.reads(), &search).await?,
            None => Vec::new(),
        }
    } else {
        if ids.len() as u64 > MAX_PAGE_SIZE {
            return Err(Open311Error::bad_request(format!(
                "at most {MAX_PAGE_SIZE} service_request_id at once"
            )));
        }
        // A malformed id names no request: it is simply not found.
        let numbers: Vec<CaseNumber> = ids
            .iter()
            .filter_map(|id| CaseNumber::parse(id).ok())
            .collect();
        open311::find_by_numbers(state.reads(), &numbers).await?
    };
    Page::read(state, found, extensions(params), lang).await
}

/// The list filters; `None` when they can match nothing (only unknown service codes).
async fn search_from(
    state: &AppState,
    params: &Params,
) -> Result<Option<RequestSearch>, Open311Error> {
    let codes = params.list("service_code");
    if codes.len() > MAX_CODES {
        return Err(Open311Error::bad_request(format!(
            "at most {MAX_CODES} service_code at once"
        )));
    }
    let mut wanted = Vec::new();
    for code in &codes {
        if let Some(c) = state
            .reference
            .category_by_code(state.reads(), code)
            .await?
        {
            wanted.push(c.id);
        }
    }
    if !codes.is_empty() && wanted.is_empty() {
        return Ok(None);
    }
    let mut open = false;
    let mut closed = false;
    for status in params.list("status") {
        match status {
            "open" => open = true,
            "closed" => closed = true,
            other => {
                return Err(Open311Error::bad_request(format!(
                    "status must be open or closed, not {:?}",
                    other.chars().take(20).collect::<String>()
                )));
            }
        }
    }
    // Open311 has two states: a case is closed when nothing is pending (closed or rejected).
    let statuses = if open == closed {
        Vec::new()
    } else {
        CaseStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal() == closed)
            .collect()
    };
    let start = params
        .get("start_date")
        .map(|raw| w3_date(state, "start_date", raw))
        .transpose()?;
    let end = params
        .get("end_date")
        .map(|raw| w3_date(state, "end_date", raw))
        .transpose()?;
    let window = Duration::days(WINDOW_DAYS);
    let (from, to) = match (start, end) {
        (Some(s), Some(e)) if s > e => {
            return Err(Open311Error::bad_request("start_date is after end_date"));
        }
        (Some(s), Some(e)) if e - s > window => {
            return Err(Open311Error::bad_request(format!(
                "start_date and end_date may be at most {WINDOW_DAYS} days apart"
            )));
        }
        (Some(s), Some(e)) => (s, Some(e)),
        (Some(s), None) => (s, Some(s + window)),
        (None, Some(e)) => (e - window, Some(e)),
        (None, None) => (state.now() - window, None),
    };
    let positive = |name: &str| {
        params
            .get(name)
            .map(|raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or_else(|| {
                        Open311Error::bad_request(format!("{name} must be a positive integer"))
                    })
            })
            .transpose()
    };
    let page = positive("page")?.unwrap_or(1);
    let page_size = positive("page_size")?
        .unwrap_or(MAX_PAGE_SIZE)
        .min(MAX_PAGE_SIZE);
    Ok(Some(RequestSearch {
        categories: wanted,
        statuses,
        from: Some(from),
        to,
        exclude_rejected: true,
        offset: (page - 1) * page_size,
        limit: page_size,
    }))
}

/// A W3C date-time with its offset (`2026-11-01T00:00:00Z`, `…+08:00`), or a date (midnight,
/// local time). A `+` sent unencoded in a query string arrives as a space; it is put back.
fn w3_date(state: &AppState, name: &str, raw: &str) -> Result<DateTime<Utc>, Open311Error> {
    let parse = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()?
                    .and_hms_opt(0, 0, 0)?
                    .and_local_timezone(super::local_offset(state))
                    .single()
                    .map(|t| t.with_timezone(&Utc))
            })
    };
    parse(raw)
        .or_else(|| parse(&raw.replace(' ', "+")))
        .ok_or_else(|| {
            Open311Error::bad_request(format!(
                "{name} must be a W3C date-time with its offset, e.g. 2026-11-01T00:00:00+08:00"
            ))
        })
}

fn extensions(params: &Params) -> bool {
    params
        .get("extensions")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// One request, as an array of one (the spec's shape).
#[utoipa::path(get, path = "/open311/v2/requests/{service_request_id}.{format}", tag = "open311",
    params(
        ("service_request_id" = String, Path, description = "The case number, e.g. HZ-20261125-000123"),
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
        ("extensions" = Option<bool>, Query, description = "`true` adds extended_attributes and notes"),
    ),
    responses(
        (status = 200, content((Vec<ServiceRequestDoc> = "application/json"), (Vec<ServiceRequestDoc> = "text/xml"))),
        (status = 404, description = "Unknown request, format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn get_request(
    state: &AppState,
    id: &str,
    params: &Params,
    lang: Lang,
) -> Result<Node, Open311Error> {
    check_jurisdiction(state, params)?;
    let case = by_number(state, id).await?;
    Ok(Page::read(state, vec![case], extensions(params), lang)
        .await?
        .into_node())
}

/// The request a token stands for. Whistle creates requests at once (`type` is `realtime`), so a
/// POST answers with the service_request_id itself; for clients that always go through tokens,
/// the service_request_id is accepted as its own token.
#[utoipa::path(get, path = "/open311/v2/tokens/{token}.{format}", tag = "open311",
    params(
        ("token" = String, Path, description = "A service_request_id"),
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
    ),
    responses(
        (status = 200, content((Vec<TokenDoc> = "application/json"), (Vec<TokenDoc> = "text/xml"))),
        (status = 404, description = "Unknown token, format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn get_token(
    state: &AppState,
    token: &str,
    params: &Params,
) -> Result<Node, Open311Error> {
    check_jurisdiction(state, params)?;
    let case = by_number(state, token).await.map_err(|e| {
        if e.status == axum::http::StatusCode::NOT_FOUND {
            Open311Error::not_found("token not found")
        } else {
            e
        }
    })?;
    Ok(Node::list(
        "request",
        [TokenDoc {
            service_request_id: case.number.to_string(),
            token: token.to_owned(),
        }
        .into()],
    ))
}

async fn by_number(state: &AppState, id: &str) -> Result<Case, Open311Error> {
    let not_found = || Open311Error::not_found("service_request_id not found");
    let number = CaseNumber::parse(id).map_err(|_| not_found())?;
    case_repo::find_by_number(state.reads(), &number)
        .await?
        .ok_or_else(not_found)
}

// ---- rendering -----------------------------------------------------------------------------

/// A page of requests with everything its rendering reads, read before the first byte is
/// sent: categories and communities from the reference cache, Open311 origins and (extensions
/// only) the timelines in one query each for the whole page. Rendering it cannot fail, so a
/// long list is written out as it is sent ([`Page::into_nodes`]).
pub(super) struct Page {
    state: AppState,
    lang: Lang,
    with_extensions: bool,
    cases: Vec<Case>,
    origins: HashMap<CaseId, Origin>,
    timelines: HashMap<CaseId, Vec<CaseEvent>>,
    places: HashMap<CommunityId, Option<Arc<CommunityInContext>>>,
    categories: HashMap<CategoryId, Option<Arc<Category>>>,
}

impl Page {
    pub(super) async fn read(
        state: &AppState,
        cases: Vec<Case>,
        with_extensions: bool,
        lang: Lang,
    ) -> Result<Page, Open311Error> {
        let ids: Vec<_> = cases.iter().map(|c| c.id).collect();
        let origins = open311::origins(state.reads(), &ids).await?;
        let timelines = if with_extensions {
            case_repo::timelines(state.reads(), &ids).await?
        } else {
            HashMap::new()
        };
        let mut places = HashMap::new();
        let mut categories = HashMap::new();
        for case in &cases {
            if let Entry::Vacant(e) = places.entry(case.area.community) {
                e.insert(missing_as_none(
                    state
                        .reference
                        .community(state.reads(), case.area.community)
                        .await,
                )?);
            }
            if let Entry::Vacant(e) = categories.entry(case.category_id) {
                e.insert(missing_as_none(
                    state
                        .reference
                        .category(state.reads(), case.category_id)
                        .await,
                )?);
            }
        }
        Ok(Page {
            state: state.clone(),
            lang,
            with_extensions,
            cases,
            origins,
            timelines,
            places,
            categories,
        })
    }

    /// The `service_requests` list as one node (short answers: one request, a POST's echo).
    pub(super) fn into_node(self) -> Node {
        Node::list("request", self.into_nodes())
    }

    /// The requests one by one, each rendered when it is taken.
    pub(super) fn into_nodes(mut self) -> impl Iterator<Item = Node> + Send + 'static {
        let cases = std::mem::take(&mut self.cases);
        cases.into_iter().map(move |case| self.doc(&case).into())
    }

    fn doc(&mut self, case: &Case) -> ServiceRequestDoc {
        let (state, lang, with_extensions) = (&self.state, self.lang, self.with_extensions);
        let timeline = with_extensions.then(|| self.timelines.remove(&case.id).unwrap_or_default());
        let place = self.places.get(&case.area.community).cloned().flatten();
        let place = place.as_deref();
        let published = case.source == CaseSource::Open311;
        let origin = self.origins.get(&case.id);
        let category = self.categories.get(&case.category_id).cloned().flatten();
        let category = category.as_deref();
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let point = case.location.point();
        let place_name = place.map(|p| {
            format!(
                "{}, {}, {}",
                p.community.name, p.street.name, p.district.name
            )
        });
        ServiceRequestDoc {
            service_request_id: case.number.to_string(),
            status: if case.status.is_terminal() {
                "closed"
            } else {
                "open"
            }
            .to_owned(),
            status_notes: Some(status_label(case.status, lang).to_owned()),
            service_name: category.map(|c| name_in(&c.name, lang)),
            service_code: category.map(|c| c.code.to_string()),
            description: published.then(|| {
                mask_contacts(
                    &case
                        .description
                        .as_str()
                        .chars()
                        .take(DESCRIPTION_MAX_CHARS)
                        .collect::<String>(),
                )
            }),
            agency_responsible: place
                .map(|p| format!("{}{}", p.district.name, state.settings.app.bureau_suffix)),
            service_notice: notice(state, case, lang),
            requested_datetime: w3_time(state, case.created_at),
            updated_datetime: w3_time(
                state,
                match case.status {
                    CaseStatus::Closed => case.closed_at.unwrap_or(case.updated_at),
                    _ => case.updated_at,
                },
            ),
            expected_datetime: case.stage_due.map(|t| w3_time(state, t)),
            address: case
                .address
                .as_deref()
                .filter(|_| published)
                .map(mask_contacts)
                .or(place_name.clone()),
            // The address-book entry that placed the case (the `address_id` a client may send).
            address_id: case.location.place().map(|p| p.get().to_string()),
            zipcode: None,
            lat: round(point.lat()),
            long: round(point.lon()),
            media_url: origin.and_then(|o| o.media_url.clone()),
            extended_attributes: with_extensions.then(|| ExtendedAttributesDoc {
                status: case.status.as_str().to_owned(),
                stage: case.stage.map(|s| s.as_str().to_owned()),
                stage_due: case.stage_due.map(|t| w3_time(state, t)),
                community: place.map(|p| p.community.name.to_string()),
                channel: case.source.as_str().to_owned(),
            }),
            notes: timeline.map(|events| {
                events
                    .iter()
                    .map(|e| NoteDoc {
                        datetime: w3_time(state, e.at),
                        description: note_text(e, lang),
                        kind: e.action.as_str().to_owned(),
                    })
                    .collect()
            }),
        }
    }
}

/// A reference entry that is gone renders as absent; any other failure is the database's.
fn missing_as_none<T>(found: Result<T, RepoError>) -> Result<Option<T>, Open311Error> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(RepoError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn status_label(s: CaseStatus, lang: Lang) -> &'static str {
    let en = match s {
        CaseStatus::Reported => "Reported, awaiting acceptance",
        CaseStatus::Accepted => "Accepted",
        CaseStatus::Rejected => "Not accepted",
        CaseStatus::Dispatched => "Dispatched to an officer",
        CaseStatus::InProgress => "Being handled",
        CaseStatus::Resolved => "Resolved, awaiting verification",
        CaseStatus::Verified => "Verified",
        CaseStatus::Closed => "Closed",
    };
    lang.pick(s.name_zh(), en)
}

/// The running stage's deadline in words, for open cases.
pub(super) fn notice(state: &AppState, case: &Case, lang: Lang) -> Option<String> {
    use whistle_domain::calendar::Stage;
    let (stage, due) = (case.stage?, case.stage_due?);
    if case.status.is_terminal() {
        return None;
    }
    let (zh, en) = match stage {
        Stage::Accept => ("受理", "accepted"),
        Stage::Dispatch => ("派遣", "dispatched"),
        Stage::Sign => ("签收", "taken up by the officer"),
        Stage::Resolve => ("处置", "resolved"),
        Stage::Verify => ("核查", "verified"),
    };
    let when = w3_time(state, due);
    Some(match lang {
        Lang::Zh => format!("案件 {}，将于 {when} 前{zh}", case.number),
        Lang::En => format!("Case {}, to be {en} by {when}", case.number),
    })
}

/// What a timeline step says publicly: the step's name, the reason of a rejection, the officer's
/// account of a resolution (contact details masked). Comments, escalations and extension requests
/// are internal, so only their name is shown; nobody's identity ever is.
fn note_text(e: &CaseEvent, lang: Lang) -> String {
    let (zh, en) = match e.action.as_str() {
        "report" => ("上报", "Reported"),
        "accept" => ("立案", "Accepted"),
        "reject" => ("不予立案", "Not accepted"),
        "dispatch" => ("派遣", "Dispatched"),
        "sign" => ("签收", "Taken up by the officer"),
        "return" => ("退单", "Returned for re-dispatch"),
        "resolve" => ("处置完成", "Resolved"),
        "verify" => ("核查通过", "Verified"),
        "rework" => ("返工", "Sent back for rework"),
        "close" => ("结案", "Closed"),
        "escalate" => ("上报升级", "Escalated"),
        "request_extension" => ("申请延期", "Extension requested"),
        "decide_extension" => ("延期审批", "Extension decided"),
        "reopen" => ("重新办理", "Reopened"),
        "rate" => ("评价", "Rated"),
        "comment" => ("备注", "Comment"),
        "attach" => ("添加照片", "Photo added"),
        other => (other, other),
    };
    let label = lang.pick(zh, en);
    let detail = match e.action.as_str() {
        "resolve" => e.note.as_deref().map(mask_contacts),
        "reject" => e
            .data
            .as_ref()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .map(|reason| {
                match (reason, lang) {
                    ("duplicate", Lang::Zh) => "重复",
                    ("duplicate", Lang::En) => "duplicate",
                    ("out_of_scope", Lang::Zh) => "不属于受理范围",
                    ("out_of_scope", Lang::En) => "out of scope",
                    (_, Lang::Zh) => "无效",
                    (_, Lang::En) => "invalid",
                }
                .to_owned()
            }),
        _ => None,
    };
    match detail {
        Some(d) => format!("{label}: {d}"),
        None => label.to_owned(),
    }
}
