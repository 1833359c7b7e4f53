//! The use cases of a case's life: intake ([`intake`]) and the steps of the closed loop
//! ([`act`]), with what they share: finding a case, its deadlines on the city's calendar, and
//! which actions the caller may take now.

pub mod act;
pub mod intake;
pub mod locate;

use chrono::{DateTime, Utc};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource, authorize};
use whistle_domain::calendar::{SlaPolicy, Stage, WorkingCalendar};
use whistle_domain::case::{Case, Priority};
use whistle_domain::ids::{CaseId, CategoryId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::lifecycle::{
    ActorRole, CaseActionKind, TimelineAction, allowed_actions, needs_assignee,
};
use whistle_domain::location::Coordinate;
use whistle_domain::people::Role;
use whistle_domain::routing::{GridHit, LocateError};
use whistle_persistence::repo::cases::{self, CaseEvent};

use crate::app::AppError;
use crate::state::AppState;

/// The answer for a case that does not exist, and for one the caller may not see: the same,
/// code included, since a different one would tell which ids exist.
pub fn no_such_case() -> AppError {
    AppError::not_found("case_not_found", "no such case")
}

/// A refusal to read a case, told as if the case did not exist.
pub fn as_missing_case(e: AppError) -> AppError {
    match e {
        AppError::NotFound { .. } => no_such_case(),
        other => other,
    }
}

/// The case with this id.
pub async fn load(state: &AppState, id: i64) -> Result<Case, AppError> {
    let id = CaseId::new(id).map_err(|_| no_such_case())?;
    cases::get(&state.db, id)
        .await
        .map_err(AppError::when_missing(no_such_case()))
}

/// The grid a point lies in and the place at every level: `outside_city` at `field` when no
/// grid of the city holds it.
pub async fn route_point(
    state: &AppState,
    point: Coordinate,
    field: &str,
) -> Result<(GridHit, AreaPath), AppError> {
    let hit = state
        .grids()
        .locate(point)
        .map_err(|LocateError::OutsideCity { .. }| {
            AppError::invalid(
                "outside_city",
                field,
                "the location is not inside any grid of the city",
            )
        })?;
    let place = state.reference.grid(&state.db, hit.grid_id).await?;
    let area = AreaPath {
        district: place.community.district.id,
        street: place.community.street.id,
        community: hit.community_id,
    };
    Ok((hit, area))
}

/// Where a case is and whose it is, as the policy sees it.
pub fn resource(case: &Case) -> Resource {
    Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    }
}

/// The deadline of `stage` starting `now`, on the city's calendar and the category's policy.
pub fn deadline(
    state: &AppState,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    stage: Stage,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let city = state.city();
    city.to_utc(policy.deadline(stage, city.local(now), calendar))
}

/// The time limits of a category at a priority: its own, or the defaults for the priority.
pub async fn sla_policy(state: &AppState, category: CategoryId, priority: Priority) -> SlaPolicy {
    state
        .reference
        .policy(&state.db, category, priority)
        .await
        .unwrap_or_else(|| priority.default_sla())
}

/// The policy's name for what an action does; accepting is taking the case when the stationed
/// officer does it (小事一格解决).
pub fn policy_action(kind: CaseActionKind, role: Role) -> Action {
    match kind {
        CaseActionKind::Accept if role == Role::Officer => Action::TakeCase,
        CaseActionKind::Accept | CaseActionKind::Reject => Action::AcceptCase,
        CaseActionKind::Dispatch => Action::DispatchCase,
        CaseActionKind::Sign | CaseActionKind::Return | CaseActionKind::Resolve => {
            Action::HandleCase
        }
        CaseActionKind::Verify | CaseActionKind::Rework | CaseActionKind::Close => {
            Action::VerifyCase
        }
        CaseActionKind::Escalate => Action::EscalateCase,
        CaseActionKind::RequestExtension => Action::RequestExtension,
        CaseActionKind::DecideExtension => Action::DecideExtension,
        CaseActionKind::Reopen => Action::ReopenCase,
        CaseActionKind::Rate => Action::RateCase,
        CaseActionKind::Comment => Action::CommentCase,
    }
}

/// What `p` may do to `case` now: the actions its status allows that the policy lets this
/// caller perform (for menus, and for a refusal that helps instead of listing others' moves).
pub fn actions_for(p: &Principal, case: &Case) -> Vec<CaseActionKind> {
    let resource = resource(case);
    allowed_actions(case.status)
        .into_iter()
        .filter(|a| authorize(p, policy_action(*a, p.role), &resource).is_allowed())
        .filter(|a| !needs_assignee(*a) || case.assignee == Some(p.user_id))
        .filter(|a| *a != CaseActionKind::Rate || case.rating.is_none())
        .collect()
}

/// A timeline entry that is not a step of the lifecycle (`TimelineAction::Merge`, `Locate`):
/// the status stays.
pub fn entry(
    case: &Case,
    p: &Principal,
    at: DateTime<Utc>,
    action: TimelineAction,
    data: serde_json::Map<String, serde_json::Value>,
) -> CaseEvent {
    CaseEvent {
        id: 0,
        case_id: case.id,
        at,
        actor_id: Some(p.user_id),
        actor_role: ActorRole::Account(p.role),
        action,
        from_status: Some(case.status),
        to_status: case.status,
        note: None,
        data: Some(serde_json::Value::Object(data)),
    }
}
