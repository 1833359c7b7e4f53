//! Officers' work records (线上工作记录): recording an entry, who may read which entries, the
//! period a list or a mix covers, and the photos of an entry.
//!
//! Periods are half-open on the start time, `[from, to)`. Without `to` a period ends now (plus
//! the few minutes of clock skew an entry may have); without `from` it starts
//! [`MAX_PERIOD_DAYS`] before `to`. A longer period is refused, so no request scans all history.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, Resource, authorize};
use whistle_domain::ids::{CaseId, CommunityId, GridId, MerchantId, UserId, WorkLogId};
use whistle_domain::jurisdiction::{Area, AreaPath};
use whistle_domain::location::Coordinate;
use whistle_domain::people::Role;
use whistle_domain::text::Name;
use whistle_domain::worklog::{
    Activity, Class721, Classification, Notes, Participant, SpanError, WorkLog, WorkLogSpan,
};
use whistle_persistence::RepoError;
use whistle_persistence::repo::worklogs::{self, NewWorkLog, WorkLogPhoto, WorkLogVisibility};
use whistle_persistence::repo::{cases, geography, merchants, users};

use crate::app::AppError;
use crate::app::access::{require, require_scope};
use crate::app::attachments::StoredImage;
use crate::state::AppState;

/// The longest period a list or a mix covers, in days: a year, leap years included.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Photos one entry may hold.
pub const MAX_PHOTOS: u64 = 20;
/// Participants (names and accounts together) one entry may name.
pub const MAX_PARTICIPANTS: usize = 30;
/// Cases, and merchants, one entry may link to.
pub const MAX_LINKS: usize = 20;

/// A piece of the caller's own work. Values are parsed; what needs the database (the community,
/// the grid, the accounts, cases and merchants named) is checked by [`record`].
#[derive(Debug, Clone)]
pub struct RecordWork {
    pub activity: Activity,
    /// The 721 class when the officer chose one; the activity's default otherwise.
    pub class: Option<Class721>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub community_id: i64,
    pub grid_id: Option<i64>,
    /// Where, in WGS-84; it must lie inside the community.
    pub point: Option<Coordinate>,
    /// People without an account.
    pub participants: Vec<Name>,
    /// Staff accounts.
    pub participant_ids: Vec<i64>,
    pub notes: Option<Notes>,
    pub case_ids: Vec<i64>,
    pub merchant_ids: Vec<MerchantId>,
}

/// Records the entry with its participants and links in one transaction. Officers record work
/// in the communities they are stationed in, leaders anywhere in their jurisdiction.
pub async fn record(state: &AppState, p: &Principal, cmd: RecordWork) -> Result<WorkLog, AppError> {
    let area = community_path(state, cmd.community_id).await?;
    require(p, Action::LogWork, &Resource::at(area).owned_by(p.user_id))?;
    let now = state.now();
    let span = WorkLogSpan::new(cmd.started_at, cmd.ended_at, now).map_err(span_error)?;
    let mut grid = match cmd.grid_id {
        Some(raw) => Some(grid_of(state, raw, area).await?),
        None => None,
    };
    if let Some(point) = cmd.point {
        let hit = state
            .grids()
            .locate(point)
            .ok()
            .filter(|hit| hit.community_id == area.community)
            .ok_or_else(|| {
                AppError::invalid(
                    "point_outside_community",
                    "lat",
                    format!("the point is not inside community {}", area.community),
                )
            })?;
        grid = grid.or(Some(hit.grid_id));
    }
    let participants = participants(state, cmd.participants, &cmd.participant_ids).await?;
    if cmd.case_ids.len() > MAX_LINKS || cmd.merchant_ids.len() > MAX_LINKS {
        return Err(AppError::invalid(
            "too_many_links",
            if cmd.case_ids.len() > MAX_LINKS {
                "case_ids"
            } else {
                "merchant_ids"
            },
            format!("an entry links at most {MAX_LINKS} cases and {MAX_LINKS} merchants"),
        ));
    }
    let linked_cases = visible_cases(state, p, &cmd.case_ids).await?;
    let merchants = known_merchants(state, cmd.merchant_ids).await?;

    let new = NewWorkLog {
        officer: p.user_id,
        activity: cmd.activity,
        classification: Classification::of(cmd.activity, cmd.class),
        span,
        area,
        grid,
        point: cmd.point,
        participants,
        notes: cmd.notes,
        cases: linked_cases,
        merchants,
        now,
    };
    let txn = state.db.begin().await?;
    let log = worklogs::insert(&txn, &new).await?;
    txn.commit().await?;
    tracing::info!(
        work_log_id = log.id.get(),
        officer_id = p.user_id.get(),
        community_id = area.community.get(),
        activity = cmd.activity.as_str(),
        class = log.classification.class.as_str(),
        "work logged"
    );
    Ok(log)
}

fn span_error(e: SpanError) -> AppError {
    let code = match e {
        SpanError::EndsBeforeStart => "invalid_span",
        SpanError::TooLong => "span_too_long",
        SpanError::InFuture => "span_in_future",
    };
    AppError::invalid(code, "ended_at", e.to_string())
}

/// The community at every level, or `unknown_community`.
async fn community_path(state: &AppState, raw: i64) -> Result<AreaPath, AppError> {
    let unknown = || AppError::invalid("unknown_community", "community", "no such community");
    let id = CommunityId::new(raw).map_err(|_| unknown())?;
    let c = geography::get_community(&state.db, id)
        .await
        .map_err(AppError::when_missing(unknown()))?;
    Ok(AreaPath {
        district: c.district.id,
        street: c.street.id,
        community: id,
    })
}

/// A grid of the entry's community.
async fn grid_of(state: &AppState, raw: i64, area: AreaPath) -> Result<GridId, AppError> {
    let unknown = || AppError::invalid("unknown_grid", "grid_id", "no such grid");
    let id = GridId::new(raw).map_err(|_| unknown())?;
    let g = geography::get_grid(&state.db, id)
        .await
        .map_err(AppError::when_missing(unknown()))?;
    if g.community_id != area.community {
        return Err(AppError::invalid(
            "grid_not_in_community",
            "grid_id",
            format!("grid {id} is not in community {}", area.community),
        ));
    }
    Ok(id)
}

/// The named people and the active staff accounts, each once.
async fn participants(
    state: &AppState,
    names: Vec<Name>,
    ids: &[i64],
) -> Result<Vec<Participant>, AppError> {
    if names.len() + ids.len() > MAX_PARTICIPANTS {
        return Err(AppError::invalid(
            "too_many_participants",
            "participants",
            format!("an entry names at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    let mut participants = Vec::new();
    for name in names {
        let p = Participant::Named(name);
        if !participants.contains(&p) {
            participants.push(p);
        }
    }
    for raw in ids {
        let unknown = || {
            AppError::invalid(
                "unknown_participant",
                "participant_ids",
                format!("{raw} is not an active staff account"),
            )
        };
        let id = UserId::new(*raw).map_err(|_| unknown())?;
        match users::get_user(&state.db, id).await {
            Ok(u) if u.role.is_staff() && !u.disabled => {}
            Ok(_) | Err(RepoError::NotFound(_)) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        }
        let p = Participant::Staff(id);
        if !participants.contains(&p) {
            participants.push(p);
        }
    }
    Ok(participants)
}

/// The cases, each once; a case that does not exist and one the caller may not see get the
/// same answer.
async fn visible_cases(
    state: &AppState,
    p: &Principal,
    ids: &[i64],
) -> Result<Vec<CaseId>, AppError> {
    let mut linked = Vec::new();
    for raw in ids {
        let unknown = || {
            AppError::invalid(
                "unknown_case",
                "case_ids",
                format!("no case {raw} that you can see"),
            )
        };
        let id = CaseId::new(*raw).map_err(|_| unknown())?;
        let case = cases::get(&state.db, id)
            .await
            .map_err(AppError::when_missing(unknown()))?;
        let visible = authorize(
            p,
            Action::ViewCase,
            &Resource {
                area: Some(case.area),
                owner: case.reporter_id,
            },
        );
        if visible != Decision::Allow {
            return Err(unknown());
        }
        if !linked.contains(&id) {
            linked.push(id);
        }
    }
    Ok(linked)
}

/// The merchants of the register, each once, in id order.
async fn known_merchants(
    state: &AppState,
    mut ids: Vec<MerchantId>,
) -> Result<Vec<MerchantId>, AppError> {
    ids.sort();
    ids.dedup();
    for m in &ids {
        merchants::get_merchant(&state.db, *m)
            .await
            .map_err(AppError::when_missing(AppError::invalid(
                "unknown_merchant",
                "merchant_ids",
                format!("no merchant {m}"),
            )))?;
    }
    Ok(ids)
}

fn resource(log: &WorkLog) -> Resource {
    Resource::at(log.area).owned_by(log.officer)
}

/// The entry if the caller may read it; `work_log_not_found` alike for entries that do not
/// exist and entries the caller may not see, so ids reveal nothing.
pub async fn load_visible(state: &AppState, p: &Principal, id: i64) -> Result<WorkLog, AppError> {
    let not_found = || AppError::not_found("work_log_not_found", "no such work log");
    let id = WorkLogId::new(id).map_err(|_| not_found())?;
    let log = worklogs::get(&state.db, id)
        .await
        .map_err(AppError::when_missing(not_found()))?;
    require(p, Action::ViewWorkLogs, &resource(&log)).map_err(|e| match e {
        AppError::NotFound { .. } => not_found(),
        other => other,
    })?;
    Ok(log)
}

/// The entry, if the caller recorded it and may still record work where it was done (a
/// stationing may have ended since) and it has room for another photo.
pub async fn may_add_photo(state: &AppState, p: &Principal, id: i64) -> Result<WorkLog, AppError> {
    let log = load_visible(state, p, id).await?;
    if log.officer != p.user_id {
        return Err(AppError::forbidden(
            "not_author",
            "only the officer who recorded the entry can add photos",
        ));
    }
    require(p, Action::LogWork, &resource(&log))?;
    if worklogs::count_photos(&state.db, log.id).await? >= MAX_PHOTOS {
        return Err(AppError::conflict(
            "too_many_photos",
            format!("an entry holds at most {MAX_PHOTOS} photos"),
        ));
    }
    Ok(log)
}

/// Adds a stored photo to the entry [`may_add_photo`] allowed.
pub async fn add_photo(
    state: &AppState,
    log: &WorkLog,
    image: &StoredImage,
) -> Result<WorkLogPhoto, AppError> {
    let txn = state.db.begin().await?;
    let photo = worklogs::add_photo(
        &txn,
        log.id,
        &image.sha256,
        image.mime,
        image.size,
        state.now(),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        work_log_id = log.id.get(),
        photo_id = photo.id,
        "work-log photo added"
    );
    Ok(photo)
}

/// `[from, to)` with the defaults and the cap described in the module documentation.
pub fn period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let max = Duration::days(MAX_PERIOD_DAYS);
    let to = to.unwrap_or(now + Duration::minutes(WorkLogSpan::CLOCK_SKEW_MINUTES));
    let from = from.unwrap_or(to - max);
    if from >= to {
        return Err(AppError::invalid(
            "invalid_period",
            "from",
            "from must be before to",
        ));
    }
    if to - from > max {
        return Err(AppError::invalid(
            "period_too_long",
            "from",
            format!("a period spans at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// Checks that the caller may see the named officer's and community's work, and returns what the
/// caller may see at all.
///
/// An officer's own work is always theirs to see. Another officer's work is visible where the
/// policy lets the caller see it in one of the communities that officer is stationed in. A
/// community's work is visible where the policy lets the caller see anyone's work there, unless
/// the caller asked for their own work only (`officer` is the caller), which is a filter and
/// not a scope.
pub async fn scope(
    state: &AppState,
    p: &Principal,
    officer: Option<UserId>,
    community: Option<i64>,
) -> Result<(WorkLogVisibility, Option<CommunityId>), AppError> {
    // Own entries are the least a reader of work logs sees; roles that cannot see even those
    // cannot read work logs at all.
    require_scope(
        p,
        Action::ViewWorkLogs,
        &Resource::city().owned_by(p.user_id),
    )?;
    if let Some(o) = officer.filter(|o| *o != p.user_id) {
        let user = match users::get_user(&state.db, o).await {
            Ok(u) if u.role.is_enforcement() => u,
            Ok(_) | Err(RepoError::NotFound(_)) => {
                return Err(AppError::invalid(
                    "unknown_officer",
                    "officer",
                    "no officer or leader with this account id",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let stationed = users::jurisdiction_of(&state.db, o, user.role).await?;
        let mut decision = authorize(p, Action::ViewWorkLogs, &Resource::city().owned_by(o));
        for area in stationed.areas() {
            if let Area::Community(c) = area {
                let path = community_path(state, c.get()).await?;
                decision = authorize(p, Action::ViewWorkLogs, &Resource::at(path).owned_by(o));
                if decision == Decision::Allow {
                    break;
                }
            }
        }
        if decision != Decision::Allow {
            require_scope(p, Action::ViewWorkLogs, &Resource::city().owned_by(o))?;
        }
    }
    let community = match community {
        Some(raw) => {
            let path = community_path(state, raw).await?;
            if officer != Some(p.user_id) {
                require_scope(p, Action::ViewWorkLogs, &Resource::at(path))?;
            }
            Some(path.community)
        }
        None => None,
    };
    // The policy lets leaders read work logs inside their jurisdiction and officers only their
    // own: the areas widen the visibility for leaders only.
    let mut vis = WorkLogVisibility {
        author: Some(p.user_id),
        ..Default::default()
    };
    if p.role == Role::Leader {
        for area in p.jurisdiction.areas() {
            match area {
                Area::District(d) => vis.districts.push(d.get()),
                Area::Street(s) => vis.streets.push(s.get()),
                Area::Community(c) => vis.communities.push(c.get()),
            }
        }
    }
    Ok((vis, community))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_default_cap_and_refuse_inversion() {
        let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap();
        let (from, to) = period(None, None, now).unwrap();
        assert_eq!(to - from, Duration::days(MAX_PERIOD_DAYS));
        assert!(to > now, "today's entries are included");
        let day = Duration::days(1);
        assert!(period(Some(now), Some(now - day), now).is_err());
        assert!(period(Some(now), Some(now), now).is_err());
        assert!(period(Some(now - Duration::days(400)), Some(now), now).is_err());
        assert_eq!(
            period(Some(now - day), None, now).unwrap().0,
            now - day,
            "from alone runs to now"
        );
    }
}
