//! Placing a case on the map (定位): a report that came with an address only stands at its
//! address-book entry until the command centre (or a leader of the area) says where the problem
//! is. The case is routed again from the new point; its status, stage and deadline stay.

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::case::{Case, CaseStatus};
use whistle_domain::lifecycle::TimelineAction;
use whistle_domain::location::Coordinate;
use whistle_persistence::repo::cases::{self, Relocation};

use super::{as_missing_case, entry, resource, route_point};
use crate::app::AppError;
use crate::app::access::require;
use crate::state::AppState;

/// Moves `case` to `point` (WGS-84) if it is still at `version`. Allowed while the case is
/// open, and once an officer is dispatched only within the same community; a leader moves a
/// case only within his own area.
pub async fn relocate(
    state: &AppState,
    p: &Principal,
    case: &Case,
    point: Coordinate,
    version: i32,
) -> Result<Case, AppError> {
    require(p, Action::ViewCase, &resource(case)).map_err(as_missing_case)?;
    require(p, Action::DispatchCase, &resource(case))?;
    if matches!(case.status, CaseStatus::Closed | CaseStatus::Rejected) {
        return Err(AppError::conflict(
            "case_finished",
            format!(
                "the case is {}; its place can no longer change",
                case.status
            ),
        ));
    }
    let (hit, area) = route_point(state, point, "lat").await?;
    require(
        p,
        Action::DispatchCase,
        &Resource {
            area: Some(area),
            owner: case.reporter_id,
        },
    )?;
    if case.assignee.is_some() && area.community != case.area.community {
        return Err(AppError::conflict(
            "assignee_outside_new_area",
            "the case is dispatched to an officer of its present community; have it returned \
             before moving it to another community",
        ));
    }
    if version != case.version {
        return Err(AppError::Stale {
            current: case.version,
        });
    }
    let now = state.now();
    let suggested = if area.community == case.area.community {
        case.suggested_officer
    } else {
        cases::suggest_officer(&state.db, area.community, state.city().today(now)).await?
    };
    let old = case.location.point();
    let mut data = serde_json::Map::new();
    data.insert("from".into(), serde_json::json!([old.lat(), old.lon()]));
    data.insert("to".into(), serde_json::json!([point.lat(), point.lon()]));
    if let Some(place) = case.location.place() {
        data.insert("place_id".into(), place.get().into());
    }
    if area.community != case.area.community {
        data.insert("from_community".into(), case.area.community.get().into());
        data.insert("to_community".into(), area.community.get().into());
    }
    let to = Relocation {
        point,
        grid: hit.grid_id,
        area,
        suggested_officer: suggested,
        now,
    };
    let txn = state.db.begin().await?;
    if !cases::relocate_if_version(&txn, case.id, version, &to).await? {
        drop(txn);
        let current = cases::get(&state.db, case.id).await?.version;
        return Err(AppError::Stale { current });
    }
    cases::append_event(&txn, &entry(case, p, now, TimelineAction::Locate, data)).await?;
    txn.commit().await?;
    tracing::info!(
        case_id = case.id.get(),
        user_id = p.user_id.get(),
        community_id = area.community.get(),
        "case placed on the map"
    );
    Ok(cases::get(&state.db, case.id).await?)
}
