//! Intake (吹哨): a report becomes a case. The native API, inspections that open a case and
//! Open311 all come through here, so routing, SLA and idempotency cannot differ between them.
//!
//! [`prepare`] validates and routes a [`Report`] before any transaction (category, answers, the
//! grid and community, the suggested officer, the first deadline, the tracking token);
//! [`reserve_number`] takes its number; [`insert`] writes the case and its first timeline
//! entries inside the caller's transaction. [`intake`] does the three for one report, with
//! idempotency and what comes with the report ([`IntakeExtras`]).

use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_auth::refresh;
use whistle_auth::token::keyed_digest;
use whistle_domain::ValueError;
use whistle_domain::calendar::Stage;
use whistle_domain::case::{
    AttachmentKind, Case, CaseLocation, CaseNumber, CaseSource, CaseStatus, CaseType, Description,
    Priority,
};
use whistle_domain::ids::{MerchantId, PlaceId, UserId};
use whistle_domain::lifecycle::{ActorRole, CaseActionKind, TimelineAction, transition};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::merchant::Address;
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::cases::{self, FirstEvent, Idempotency, NewCase};
use whistle_persistence::repo::open311;

use super::{deadline, route_point, sla_policy};
use crate::app::AppError;
use crate::app::access::require;
use crate::app::attachments::StoredImage;
use crate::app::attachments::record_photo;
use crate::app::places::place_report;
use crate::state::AppState;

/// Where a report came in: the native API (and inspections) or an Open311 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Native,
    Open311,
}

/// Where the problem is.
#[derive(Debug, Clone, PartialEq)]
pub enum Whereabouts {
    /// A point, in WGS-84, and the system the reporter sent it in.
    Point { point: Coordinate, crs: Crs },
    /// No point: the address-book entry `place_id` names, else the one the report's address
    /// text names.
    AddressBook { place_id: Option<i64> },
}

/// A value a report may carry that only some reporters may set (staff set priority and type;
/// hotline and anonymous reporters give a name and phone): parsed when it came, and refused
/// for its fault only when it applies.
pub type IfItApplies<T> = Option<Result<T, ValueError>>;

/// A report, as intake takes it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The category's code.
    pub category: String,
    pub description: Description,
    pub whereabouts: Whereabouts,
    /// The address as the reporter describes it (its text also finds the address-book entry
    /// when there is neither point nor `place_id`).
    pub address: Option<Address>,
    pub address_text: Option<String>,
    pub priority: IfItApplies<Priority>,
    pub case_type: IfItApplies<CaseType>,
    pub reporter_name: IfItApplies<Name>,
    pub reporter_phone: IfItApplies<PhoneNumber>,
    /// Answers to the category's extra questions, checked against them.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A validated, routed report ready to be written.
#[derive(Debug)]
pub struct PreparedCase {
    pub new: NewCase,
    pub crs: Crs,
    /// The anonymous reporter's tracking token (shown once).
    pub token: Option<String>,
}

/// Validates and routes `report` (no transaction, nothing written).
pub async fn prepare(
    state: &AppState,
    viewer: Option<&Principal>,
    report: &Report,
    channel: Channel,
    idempotency: Option<Idempotency>,
    scoped_key: Option<&str>,
) -> Result<PreparedCase, AppError> {
    let category = state
        .reference
        .category_by_code(&state.db, report.category.trim())
        .await?
        .filter(|c| c.active)
        .ok_or_else(|| {
            AppError::invalid(
                "unknown_category",
                "category",
                format!(
                    "no active category {:?}",
                    report.category.chars().take(40).collect::<String>()
                ),
            )
        })?;
    let answers =
        whistle_domain::category::validate_answers(&category.attributes, &report.attributes)?;
    let (point, crs, from_place) = match &report.whereabouts {
        Whereabouts::Point { point, crs } => (*point, *crs, None),
        Whereabouts::AddressBook { place_id } => {
            let place = place_report(state, *place_id, report.address_text.as_deref()).await?;
            (place.point, Crs::default(), Some(place.id))
        }
    };
    let field = if from_place.is_some() {
        "place_id"
    } else {
        "lat"
    };
    let (hit, area) = route_point(state, point, field).await?;
    let prefix = state
        .reference
        .grid(&state.db, hit.grid_id)
        .await?
        .community
        .district
        .case_prefix
        .clone();
    // Who reports decides the source, and whether priority and type may be set by hand.
    let (source, staff) = match viewer.map(|p| p.role) {
        _ if channel == Channel::Open311 => (CaseSource::Open311, false),
        None | Some(Role::Resident) => (CaseSource::ResidentApp, false),
        Some(Role::Partner) => (CaseSource::Partner, false),
        Some(Role::Officer | Role::Leader) => (CaseSource::OfficerPatrol, true),
        Some(Role::Dispatcher) => (CaseSource::Hotline12345, true),
        Some(Role::Admin) => (CaseSource::ResidentApp, false),
    };
    if let Some(p) = viewer {
        require(
            p,
            Action::ReportCase,
            &Resource::at(area).owned_by(p.user_id),
        )?;
    }
    let priority = match (staff, &report.priority) {
        (true, Some(p)) => p.clone()?,
        _ => category.default_priority,
    };
    let case_type = match (staff, &report.case_type) {
        (true, Some(t)) => t.clone()?,
        _ => category.case_type,
    };
    let (reporter_name, reporter_phone) = if viewer.is_none_or(|p| p.role == Role::Dispatcher) {
        (
            report.reporter_name.clone().transpose()?,
            report.reporter_phone.clone().transpose()?,
        )
    } else {
        (None, None)
    };
    let calendar = state.reference.calendar(&state.db).await;
    let policy = sla_policy(state, category.id, priority).await;
    let now = state.now();
    let today = state.city().today(now);
    let suggested = cases::suggest_officer(&state.db, hit.community_id, today).await?;
    let token = viewer
        .is_none()
        .then(|| tracking_token(state, scoped_key))
        .transpose()?;
    // 自行发现，自行处置: what an officer finds on patrol or at an inspection is his to handle
    // at once; it waits for no dispatcher.
    let handled_by = viewer
        .filter(|p| p.role == Role::Officer && channel == Channel::Native)
        .map(|p| p.user_id);
    let first_stage = if handled_by.is_some() {
        Stage::Resolve
    } else {
        Stage::Accept
    };
    let new = NewCase {
        prefix,
        local_day: today,
        category_id: category.id,
        case_type,
        priority,
        source,
        description: report.description.clone(),
        address: report.address.as_ref().map(|a| a.as_str().to_owned()),
        location: match from_place {
            Some(id) => CaseLocation::routed(point, hit).from_place(id),
            None => CaseLocation::routed(point, hit),
        },
        area,
        reporter_id: viewer.map(|p| p.user_id),
        reporter_name,
        reporter_phone,
        tracking_token_hash: token.as_deref().map(refresh::hash),
        suggested_officer: suggested,
        handled_by,
        stage_due: deadline(state, &calendar, &policy, first_stage, now),
        idempotency,
        attributes: answers,
        merchant_id: None,
        now,
    };
    Ok(PreparedCase { new, crs, token })
}

/// Takes the prepared case's number, in a transaction of its own (`cases::reserve_number`):
/// call it just before the transaction that writes the case.
pub async fn reserve_number(
    state: &AppState,
    prepared: &PreparedCase,
) -> Result<CaseNumber, RepoError> {
    cases::reserve_number(&state.db, &prepared.new.prefix, prepared.new.local_day).await
}

/// Writes a prepared case under its reserved number, and its first timeline entries, inside the
/// caller's transaction.
pub async fn insert(
    txn: &impl ConnectionTrait,
    prepared: &PreparedCase,
    number: &CaseNumber,
    viewer: Option<&Principal>,
) -> Result<Case, RepoError> {
    cases::insert(txn, &prepared.new, number, &first_events(prepared, viewer)).await
}

/// The timeline a new case starts with: its report, and for a case its finder handles himself
/// the acceptance, dispatch and signing that happened in the same instant, by him, step by step
/// as the state machine has them.
fn first_events(prepared: &PreparedCase, viewer: Option<&Principal>) -> Vec<FirstEvent> {
    let new = &prepared.new;
    let event =
        |action: TimelineAction, from: Option<CaseStatus>, to: CaseStatus, data| FirstEvent {
            actor_id: viewer.map(|p| p.user_id),
            actor_role: viewer.map_or(ActorRole::Anonymous, |p| ActorRole::Account(p.role)),
            action,
            from_status: from,
            to_status: to,
            data,
        };
    let mut events = vec![event(
        TimelineAction::Report,
        None,
        CaseStatus::Reported,
        Some(serde_json::json!({
            "source": new.source.as_str(),
            "crs": new.location.place().is_none().then(|| prepared.crs.as_str()),
            "suggested_officer_id": new.suggested_officer.map(UserId::get),
            "merchant_id": new.merchant_id.map(MerchantId::get),
            "place_id": new.location.place().map(PlaceId::get),
        })),
    )];
    if let Some(officer) = new.handled_by {
        use CaseActionKind as A;
        use CaseStatus as S;
        let data = serde_json::json!({ "assignee_id": officer.get(), "self_found": true });
        for (action, from, to) in [
            (A::Accept, S::Reported, S::Accepted),
            (A::Dispatch, S::Accepted, S::Dispatched),
            (A::Sign, S::Dispatched, S::InProgress),
        ] {
            debug_assert_eq!(transition(from, action), Ok(to));
            events.push(event(
                TimelineAction::Step(action),
                Some(from),
                to,
                Some(data.clone()),
            ));
        }
    }
    events
}

/// A case taken in (or found again for a retried key), with the anonymous reporter's token.
#[derive(Debug)]
pub struct Intake {
    pub case: Case,
    pub token: Option<String>,
    /// `false` when a retried idempotency key found the case an earlier request created.
    pub created: bool,
}

/// What comes with a report besides its form, written in the same transaction as the case, so
/// that a report is stored whole or not at all.
#[derive(Debug, Default)]
pub struct IntakeExtras {
    /// The reporter's photo, already recognised, cleaned and stored as a file
    /// (`media_store::store_image`); attached like any later photo.
    pub photo: Option<StoredImage>,
    /// The Open311 client that submitted the report, and the `media_url` it sent.
    pub open311_client: Option<Open311Client>,
}

/// Which client application (by API key) sent an Open311 report.
#[derive(Debug, Clone)]
pub struct Open311Client {
    pub api_key_id: i64,
    pub media_url: Option<String>,
}

impl IntakeExtras {
    fn is_empty(&self) -> bool {
        self.photo.is_none() && self.open311_client.is_none()
    }

    async fn write(
        &self,
        txn: &impl ConnectionTrait,
        case: &Case,
        viewer: Option<&Principal>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        if let Some(photo) = &self.photo {
            record_photo(txn, case, photo, AttachmentKind::Report, viewer, now).await?;
        }
        if let Some(client) = &self.open311_client {
            open311::record_origin(
                txn,
                &open311::Origin {
                    case_id: case.id,
                    api_key_id: client.api_key_id,
                    media_url: client.media_url.clone(),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// Intake from end to end: a retried `(scope, key)` finds its case; otherwise the report is
/// prepared and written in one transaction together with its `extras`. Two concurrent requests
/// with one key create one case: the loser of the unique index answers with the winner's.
///
/// A key is only a retry when the report is the same one ([`fingerprint`]): clients choose
/// keys, and a scope can be shared (every anonymous reporter, every user of one Open311
/// application), so the same key with another report is `idempotency_key_reused` and never
/// the stored case of whoever used the key first.
pub async fn intake(
    state: &AppState,
    viewer: Option<&Principal>,
    report: &Report,
    channel: Channel,
    idempotency: Option<(String, String)>,
    extras: IntakeExtras,
) -> Result<Intake, AppError> {
    let idempotency = idempotency.map(|(scope, key)| Idempotency {
        fingerprint: fingerprint(channel, report, &extras),
        scope,
        key,
    });
    let scoped_key = idempotency
        .as_ref()
        .map(|i| format!("{}\u{1f}{}", i.scope, i.key));
    let replay = |(case, stored): (Case, Option<String>)| {
        let asked = idempotency.as_ref().map(|i| i.fingerprint.as_str());
        if stored.as_deref() != asked {
            tracing::info!(
                case_id = case.id.get(),
                "idempotency key reused for another request"
            );
            return Err(key_reused());
        }
        Ok(Intake {
            case,
            token: viewer
                .is_none()
                .then(|| tracking_token(state, scoped_key.as_deref()))
                .transpose()?,
            created: false,
        })
    };
    if let Some(i) = &idempotency
        && let Some(found) = cases::find_by_idempotency(&state.db, &i.scope, &i.key).await?
    {
        return replay(found);
    }

    let prepared = prepare(
        state,
        viewer,
        report,
        channel,
        idempotency.clone(),
        scoped_key.as_deref(),
    )
    .await?;
    let number = reserve_number(state, &prepared).await?;
    let written = if extras.is_empty() {
        // Nothing comes with the report: the case and its timeline are written by themselves
        // (on PostgreSQL one statement, no transaction to open and commit).
        let events = first_events(&prepared, viewer);
        cases::insert_alone(&state.db, &prepared.new, &number, &events).await
    } else {
        let txn = state.db.begin().await?;
        let written = async {
            let case = insert(&txn, &prepared, &number, viewer).await?;
            extras.write(&txn, &case, viewer, prepared.new.now).await?;
            Ok::<_, RepoError>(case)
        }
        .await;
        match written {
            Ok(case) => txn.commit().await.map(|()| case).map_err(RepoError::from),
            Err(e) => Err(e),
        }
    };
    match written {
        Ok(case) => {
            tracing::info!(case_id = case.id.get(), number = %case.number, community_id = case.area.community.get(), source = case.source.as_str(), "case reported");
            Ok(Intake {
                case,
                token: prepared.token,
                created: true,
            })
        }
        // A concurrent request with the same key won the race: a retry answers with its case.
        Err(RepoError::Conflict(_)) if idempotency.is_some() => {
            let i = idempotency.as_ref().expect("checked above");
            let found = cases::find_by_idempotency(&state.db, &i.scope, &i.key)
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("idempotent case vanished")))?;
            replay(found)
        }
        Err(e) => Err(e.into()),
    }
}

fn key_reused() -> AppError {
    AppError::invalid(
        "idempotency_key_reused",
        "Idempotency-Key",
        "this Idempotency-Key was already used for a different request; send a new key with a \
         new report",
    )
}

/// The anonymous reporter's tracking token: reproducible for a retried intake with the same
/// key, random otherwise.
fn tracking_token(state: &AppState, scope_key: Option<&str>) -> Result<String, AppError> {
    match scope_key {
        Some(k) => Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(keyed_digest(&state.auth.tracking_secret, k.as_bytes()))),
        None => Ok(refresh::generate()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
            .plaintext),
    }
}

/// A digest of everything that makes a report this report: the channel, every field as
/// parsed (a value refused is represented by its refusal) and the photo's content. Hex SHA-256
/// (64 characters, the column's width).
fn fingerprint(channel: Channel, report: &Report, extras: &IntakeExtras) -> String {
    use sha2::Digest;
    fn shown<T>(v: &IfItApplies<T>, text: impl Fn(&T) -> String) -> serde_json::Value {
        match v {
            None => serde_json::Value::Null,
            Some(Ok(t)) => text(t).into(),
            Some(Err(e)) => format!("refused: {e}").into(),
        }
    }
    let whereabouts = match &report.whereabouts {
        Whereabouts::Point { point, crs } => serde_json::json!({
            "lat": point.lat(), "lon": point.lon(), "crs": crs.as_str(),
        }),
        Whereabouts::AddressBook { place_id } => serde_json::json!({ "place_id": place_id }),
    };
    let document = serde_json::json!({
        "channel": format!("{channel:?}"),
        "category": report.category,
        "description": report.description.as_str(),
        "where": whereabouts,
        "address": report.address_text,
        "priority": shown(&report.priority, |p| p.as_str().to_owned()),
        "case_type": shown(&report.case_type, |t| t.as_str().to_owned()),
        "reporter_name": shown(&report.reporter_name, |n| n.as_str().to_owned()),
        "reporter_phone": shown(&report.reporter_phone, |p| p.as_str().to_owned()),
        "attributes": report.attributes,
        "photo": extras.photo.as_ref().map(|p| &p.sha256),
        "media_url": extras.open311_client.as_ref().and_then(|c| c.media_url.as_ref()),
    });
    let digest = sha2::Sha256::digest(document.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
