//! Stationing officers in communities (派驻): a new posting, in one transaction with the
//! officer's jurisdiction widened to the community (audited), and ending one. An officer serves
//! one community at a time: postings of one officer never overlap.

use chrono::NaiveDate;
use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::stationing::{Period, first_overlap};
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::community::{self, NewStationing, Stationing};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::app::access::require;
use crate::app::attachments::StoredImage;
use crate::app::community::{load_community, path_of};
use crate::state::AppState;

/// A new posting. Texts are already checked; the dates default to from today, open-ended.
#[derive(Debug, Clone)]
pub struct Station {
    pub officer_id: i64,
    pub community_id: i64,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    /// The phone printed on the contact card (the account's phone when absent).
    pub contact_phone: Option<PhoneNumber>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// Stations the officer, for someone who may manage stationing in the community.
pub async fn station(
    state: &AppState,
    p: &Principal,
    cmd: Station,
) -> Result<Stationing, AppError> {
    let place = load_community(state, cmd.community_id).await?;
    let area = path_of(&place);
    require(p, Action::ManageStationing, &Resource::at(area))?;
    let no_officer = || AppError::not_found("officer_not_found", "no such officer");
    let officer_id = UserId::new(cmd.officer_id).map_err(|_| no_officer())?;
    let account = users::get_user(&state.db, officer_id)
        .await
        .map_err(AppError::when_missing(no_officer()))?;
    if account.role != Role::Officer || account.disabled {
        return Err(AppError::invalid(
            "not_an_officer",
            "officer_id",
            "only enabled officer accounts can be stationed",
        ));
    }
    let period = Period::new(cmd.starts_on.unwrap_or_else(|| state.today()), cmd.ends_on)?;
    let new = NewStationing {
        officer_id,
        community_id: place.community.id,
        duties: cmd.duties,
        enforcement_scope: cmd.enforcement_scope,
        office_hours: cmd.office_hours,
        contact_phone: cmd.contact_phone.map(|p| p.as_str().to_owned()),
        period,
        created_by: Some(p.user_id),
    };

    let txn = state.db.begin().await?;
    community::lock_officer(&txn, officer_id)
        .await
        .map_err(AppError::when_missing(AppError::invalid(
            "not_an_officer",
            "officer_id",
            "the account has no officer record (badge number)",
        )))?;
    let existing: Vec<(i64, Period)> = community::of_officer(&txn, officer_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.period))
        .collect();
    if let Some(other) = first_overlap(period, &existing) {
        return Err(AppError::conflict(
            "stationing_overlaps",
            format!(
                "the officer's stationing {other} overlaps this period; end it first (an officer \
                 serves one community at a time)"
            ),
        ));
    }
    let stored = community::insert(&txn, &new, state.now()).await?;
    let jurisdiction = users::jurisdiction_of(&txn, officer_id, Role::Officer).await?;
    if !jurisdiction.covers(&area) {
        let mut areas = jurisdiction.areas().to_vec();
        areas.push(Area::Community(place.community.id));
        let widened = Jurisdiction::for_role(Role::Officer, areas)?;
        users::set_jurisdiction(&txn, officer_id, &widened, state.now()).await?;
        audit::record(
            &txn,
            AuditEvent::JurisdictionChanged,
            AuditEntry {
                actor: Some(p.user_id),
                subject: Some(officer_id),
                username: None,
                ip: None,
                detail: Some(format!(
                    "stationed in community {} ({})",
                    place.community.id, place.community.name
                )),
            },
            state.now(),
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(
        stationing_id = stored.id,
        officer_id = officer_id.get(),
        community_id = place.community.id.get(),
        "officer stationed"
    );
    Ok(stored)
}

/// Ends a posting on `ends_on` (today by default); the history is kept.
pub async fn end(
    state: &AppState,
    p: &Principal,
    id: i64,
    ends_on: Option<NaiveDate>,
) -> Result<Stationing, AppError> {
    let s = community::get(&state.db, id)
        .await
        .map_err(AppError::when_missing(AppError::not_found(
            "stationing_not_found",
            "no such stationing",
        )))?;
    let place = load_community(state, s.community_id.get()).await?;
    require(p, Action::ManageStationing, &Resource::at(path_of(&place)))?;
    let period = s.period.end_on(ends_on.unwrap_or_else(|| state.today()))?;
    let txn = state.db.begin().await?;
    let stored = community::set_period(&txn, s.id, period, state.now()).await?;
    txn.commit().await?;
    Ok(stored)
}

fn no_officer() -> AppError {
    AppError::not_found("officer_not_found", "no such officer")
}

/// Whether `p` may change the portrait of officer `id`: the officer, or a leader of a
/// community the officer is (or was) stationed in. Asked before the upload is read.
pub async fn may_set_portrait(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<UserId, AppError> {
    let officer = UserId::new(id).map_err(|_| no_officer())?;
    if officer == p.user_id {
        return Ok(officer);
    }
    for s in &community::of_officer(&state.db, officer).await? {
        let place = load_community(state, s.community_id.get()).await?;
        if require(p, Action::ManageStationing, &Resource::at(path_of(&place))).is_ok() {
            return Ok(officer);
        }
    }
    Err(AppError::forbidden(
        "forbidden",
        "only the officer or their leader may change the portrait",
    ))
}

/// Makes a stored photo the portrait of `officer` (from [`may_set_portrait`]).
pub async fn set_portrait(
    state: &AppState,
    officer: UserId,
    image: &StoredImage,
) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    community::set_officer_photo(&txn, officer, &image.sha256, image.mime)
        .await
        .map_err(AppError::when_missing(no_officer()))?;
    txn.commit().await?;
    Ok(())
}
