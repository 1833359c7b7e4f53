//! A step of the closed loop: the policy is asked, the lifecycle decides
//! (`whistle_domain::lifecycle::decide`), and the case, its timeline and a merged original are
//! written in one transaction, or nothing is.

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_domain::case::Case;
use whistle_domain::lifecycle::{
    Actor, ActorRole, CaseActionKind, CaseCommand, CaseFacts, Change, Circumstances, Effects,
    Refusal, StageChange, TimelineAction, allowed_actions, decide,
};
use whistle_persistence::repo::cases::{self, CaseEvent, CaseUpdate};
use whistle_persistence::repo::users;

use super::{actions_for, as_missing_case, deadline, entry, policy_action, resource, sla_policy};
use crate::app::AppError;
use crate::app::access::require;
use crate::state::AppState;

/// Who takes the step.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// An account, under the policy.
    Account(&'a Principal),
    /// The anonymous reporter of the case, whose tracking token the adapter has checked: he may
    /// comment, rate and reopen, nothing else.
    Reporter,
}

/// The steps the anonymous reporter may take with his token.
pub const REPORTER_STEPS: [CaseActionKind; 3] = [
    CaseActionKind::Comment,
    CaseActionKind::Rate,
    CaseActionKind::Reopen,
];

/// A step on a case.
#[derive(Debug, Clone)]
pub struct StepCommand {
    pub command: CaseCommand,
    /// A free note for an action that does not require one (those that do carry it in
    /// `command`).
    pub remark: Option<String>,
    /// The case's version as the caller last read it. Only a comment or a rating may go
    /// without (a rating from a notice has none to hand); a version sent is always checked.
    pub version: Option<i32>,
}

/// Takes the step on `case` and answers the case as it is afterwards.
pub async fn act(
    state: &AppState,
    caller: Caller<'_>,
    case: &Case,
    step: StepCommand,
) -> Result<Case, AppError> {
    let kind = step.command.kind();
    let version = match step.version {
        Some(v) => v,
        None if matches!(kind, CaseActionKind::Rate | CaseActionKind::Comment) => case.version,
        None => {
            return Err(AppError::invalid(
                "version_required",
                "version",
                "send the case's version (or If-Match) so that concurrent changes are detected",
            ));
        }
    };
    let actor = match caller {
        Caller::Account(p) => {
            // Someone who may not even see the case learns nothing about it, then the
            // action's own permission.
            require(p, whistle_auth::policy::Action::ViewCase, &resource(case))
                .map_err(as_missing_case)?;
            require(p, policy_action(kind, p.role), &resource(case))?;
            Actor::account(p.user_id, p.role)
        }
        Caller::Reporter if REPORTER_STEPS.contains(&kind) => Actor::anonymous_reporter(),
        Caller::Reporter => {
            return Err(AppError::forbidden(
                "forbidden",
                "with a tracking token a reporter may comment, rate or reopen",
            ));
        }
    };
    let illegal = || {
        let mine = match caller {
            Caller::Account(p) => actions_for(p, case),
            Caller::Reporter => allowed_actions(case.status)
                .into_iter()
                .filter(|a| REPORTER_STEPS.contains(a))
                .collect(),
        };
        AppError::conflict(
            "illegal_transition",
            format!(
                "cannot {} a case that is {}; what you can do now: {}",
                kind.as_str(),
                case.status,
                if mine.is_empty() {
                    "nothing".to_owned()
                } else {
                    mine.iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        )
    };
    if whistle_domain::lifecycle::transition(case.status, kind).is_err() {
        return Err(illegal());
    }
    if version != case.version {
        return Err(AppError::Stale {
            current: case.version,
        });
    }

    let now = state.now();
    // 小事一格解决 depends on the category when the stationed officer accepts.
    let taking = match (&step.command, actor.role) {
        (CaseCommand::Accept, whistle_domain::people::Role::Officer) => Some(
            state
                .reference
                .category(&state.db, case.category_id)
                .await?,
        ),
        _ => None,
    };
    let circumstances = Circumstances {
        now,
        reopen_window: chrono::Duration::days(state.settings.cases.reopen_days.max(0)),
        officer_may_take: taking.as_ref().is_none_or(|c| c.officer_may_take),
        pending_extension: match kind {
            CaseActionKind::DecideExtension => pending_extension(state, case).await?,
            _ => None,
        },
    };
    let effects = decide(
        &facts(case),
        actor,
        &step.command,
        step.remark.as_deref(),
        &circumstances,
    )
    .map_err(|refusal| match refusal {
        Refusal::Illegal(_) => illegal(),
        other => refused(other, taking.as_ref().map(|c| c.code.to_string())),
    })?;
    if let (CaseActionKind::Dispatch, Change::Set(officer)) = (kind, &effects.assignee) {
        check_assignee(state, case, *officer).await?;
    }
    let merged_into = match &effects.merge_into {
        Some(number) => Some(
            cases::find_by_number(&state.db, number)
                .await?
                .filter(|o| o.id != case.id)
                .ok_or_else(|| {
                    AppError::invalid(
                        "unknown_case",
                        "duplicate_of",
                        format!("no other case {number}"),
                    )
                })?,
        ),
        None => None,
    };

    let update = update(state, case, &effects, now).await;
    let events = events(case, caller, &effects, &update, now);
    let txn = state.db.begin().await?;
    if !cases::update_if_version(&txn, case.id, version, &update).await? {
        drop(txn);
        let current = cases::get(&state.db, case.id).await?.version;
        return Err(AppError::Stale { current });
    }
    for e in &events {
        cases::append_event(&txn, e).await?;
    }
    if let (Some(original), Caller::Account(p)) = (&merged_into, caller) {
        let mut d = serde_json::Map::new();
        d.insert("duplicate".into(), case.number.as_str().into());
        cases::append_event(&txn, &entry(original, p, now, TimelineAction::Merge, d)).await?;
    }
    txn.commit().await?;
    match caller {
        Caller::Account(p) => tracing::info!(
            case_id = case.id.get(),
            action = kind.as_str(),
            user_id = p.user_id.get(),
            "case action"
        ),
        Caller::Reporter => tracing::info!(
            case_id = case.id.get(),
            action = kind.as_str(),
            "reporter feedback"
        ),
    }
    Ok(cases::get(&state.db, case.id).await?)
}

/// The case as the lifecycle sees it.
pub fn facts(case: &Case) -> CaseFacts {
    CaseFacts {
        status: case.status,
        assignee: case.assignee,
        suggested_officer: case.suggested_officer,
        rated: case.rating.is_some(),
        closed_at: case.closed_at,
    }
}

/// The working hours of the extension request no one has decided yet: the last request since
/// the last decision.
async fn pending_extension(state: &AppState, case: &Case) -> Result<Option<u32>, AppError> {
    let events = cases::timeline(&state.db, case.id).await?;
    Ok(events
        .iter()
        .rev()
        .take_while(|e| e.action != TimelineAction::Step(CaseActionKind::DecideExtension))
        .find(|e| e.action == TimelineAction::Step(CaseActionKind::RequestExtension))
        .and_then(|e| e.data.as_ref()?.get("extension_hours")?.as_u64())
        .and_then(|h| u32::try_from(h).ok()))
}

/// A dispatch goes to an enabled officer or leader who acts in the case's community.
async fn check_assignee(
    state: &AppState,
    case: &Case,
    officer: whistle_domain::ids::UserId,
) -> Result<(), AppError> {
    let account = users::get_user(&state.db, officer)
        .await
        .ok()
        .filter(|u| !u.disabled && u.role.is_enforcement());
    let Some(account) = account else {
        return Err(AppError::invalid(
            "invalid_assignee",
            "assignee_id",
            "assignee_id must be an active officer or leader",
        ));
    };
    let jurisdiction = users::jurisdiction_of(&state.db, account.id, account.role).await?;
    if !jurisdiction.covers(&case.area) {
        return Err(AppError::invalid(
            "assignee_outside_jurisdiction",
            "assignee_id",
            "the officer does not act in this case's community",
        ));
    }
    Ok(())
}

/// The lifecycle's refusals as the application answers them.
fn refused(refusal: Refusal, category: Option<String>) -> AppError {
    match refusal {
        Refusal::Illegal(e) => AppError::conflict("illegal_transition", e.to_string()),
        Refusal::NotAssignee => AppError::forbidden(
            "not_assignee",
            "only the officer the case is dispatched to can do this",
        ),
        Refusal::CategoryNeedsCommandCentre => {
            let code = category.unwrap_or_else(|| "this category".to_owned());
            AppError::forbidden(
                "category_needs_command_centre",
                format!(
                    "reports of {code} are accepted by the command centre; the stationed \
                     officer cannot take them himself"
                ),
            )
        }
        Refusal::NoSuggestedOfficer => AppError::invalid(
            "no_suggested_officer",
            "assignee_id",
            "no officer is stationed in the case's community today to suggest; name one in \
             assignee_id",
        ),
        Refusal::NoPendingExtension => AppError::conflict(
            "no_pending_extension",
            "there is no extension request to decide",
        ),
        Refusal::ReopenWindowPassed { days } => AppError::conflict(
            "reopen_window_passed",
            format!("a case can be reopened within {days} days of closing"),
        ),
        Refusal::AlreadyRated => AppError::conflict("already_rated", "this case has been rated"),
    }
}

/// The case's new fields: the effects, with the deadlines worked out on the city's calendar.
async fn update(
    state: &AppState,
    case: &Case,
    effects: &Effects,
    now: chrono::DateTime<chrono::Utc>,
) -> CaseUpdate {
    let mut update = CaseUpdate::of(case, effects.status, now);
    match effects.stage {
        StageChange::Keep => {}
        StageChange::End => {
            update.stage = None;
            update.stage_due = None;
        }
        StageChange::Start(stage) => {
            let calendar = state.reference.calendar(&state.db).await;
            let policy = sla_policy(state, case.category_id, case.priority).await;
            update.stage = Some(stage);
            update.stage_due = Some(deadline(state, &calendar, &policy, stage, now));
        }
        StageChange::Extend { hours } => {
            if let Some(current) = case.stage_due {
                let calendar = state.reference.calendar(&state.db).await;
                let city = state.city();
                let moved = calendar
                    .add_working_time(city.local(current), chrono::Duration::hours(hours.into()));
                update.stage_due = Some(city.to_utc(moved));
            }
        }
    }
    match &effects.assignee {
        Change::Keep => {}
        Change::Set(officer) => update.assignee = Some(*officer),
        Change::Clear => update.assignee = None,
    }
    match &effects.closed {
        Change::Keep => {}
        Change::Set(at) => update.closed_at = Some(*at),
        Change::Clear => update.closed_at = None,
    }
    match &effects.rating {
        Change::Keep => {}
        Change::Set(rating) => update.rating = Some(rating.clone()),
        Change::Clear => update.rating = None,
    }
    update
}

/// The timeline entries of the step. The last records the stage it started and that stage's
/// deadline, so that a notice written later from it names the deadline of its own stage.
fn events(
    case: &Case,
    caller: Caller<'_>,
    effects: &Effects,
    update: &CaseUpdate,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<CaseEvent> {
    let (actor_id, actor_role) = match caller {
        Caller::Account(p) => (Some(p.user_id), ActorRole::Account(p.role)),
        Caller::Reporter => (None, ActorRole::Anonymous),
    };
    let last = effects.steps.len().saturating_sub(1);
    effects
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut data = step.data.clone();
            if i == last && (update.stage != case.stage || update.stage_due != case.stage_due) {
                data.insert("stage".into(), update.stage.map(|s| s.as_str()).into());
                data.insert(
                    "stage_due".into(),
                    update.stage_due.map(|d| d.to_rfc3339()).into(),
                );
            }
            CaseEvent {
                id: 0,
                case_id: case.id,
                at: now,
                actor_id,
                actor_role,
                action: TimelineAction::Step(step.action),
                from_status: Some(step.from),
                to_status: step.to,
                note: if i == 0 { effects.note.clone() } else { None },
                data: (!data.is_empty()).then_some(serde_json::Value::Object(data)),
            }
        })
        .collect()
}
