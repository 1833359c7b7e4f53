//! What an action does to a case, as one pure function: [`decide`] takes the case as the
//! lifecycle sees it, who acts, the typed command and the circumstances (the time, the reopen
//! window, the category's 小事一格解决 flag, a pending extension request), and returns either the
//! [`Effects`] to write (the status, the timeline steps, the stage whose clock starts, the
//! assignee, closing, rating) or the [`Refusal`] that says why not.
//!
//! Whether the role may perform the action at all, and inside which jurisdiction, is the
//! policy's question (`whistle_auth::policy`), asked before this one; what is left here is the
//! order of things and the rules that depend on the case itself: the state machine, handling
//! being the assignee's alone, the stationed officer taking a report of his own community as
//! one step (accept, then dispatch to himself), one rating per case, the reopen window.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{CaseActionKind, IllegalTransition, transition};
use crate::ValueError;
use crate::calendar::Stage;
use crate::case::{CaseNumber, CaseStatus, Description, Rating};
use crate::ids::UserId;
use crate::people::Role;
use crate::text::Name;

/// A case as the lifecycle needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub status: CaseStatus,
    pub assignee: Option<UserId>,
    /// The officer intake suggested, dispatched to when a dispatch names no one.
    pub suggested_officer: Option<UserId>,
    pub rated: bool,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Who acts: an account, or (`id: None`, as a resident) the anonymous reporter following his
/// case with its tracking token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<UserId>,
    pub role: Role,
}

impl Actor {
    pub fn account(id: UserId, role: Role) -> Self {
        Self { id: Some(id), role }
    }

    pub fn anonymous_reporter() -> Self {
        Self {
            id: None,
            role: Role::Resident,
        }
    }
}

/// What else the decision depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Circumstances {
    pub now: DateTime<Utc>,
    /// How long after closing the reporter may reopen (`cases.reopen_days`).
    pub reopen_window: chrono::Duration,
    /// Whether the case's category lets the stationed officer accept a report himself.
    pub officer_may_take: bool,
    /// The working hours of the extension request no one has decided yet. Only a
    /// `decide_extension` reads it, so callers look it up for that command alone.
    pub pending_extension: Option<u32>,
}

/// Why a report is not taken up (不予立案).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Invalid,
    /// The same problem as another case (合并 into it).
    Duplicate(CaseNumber),
    OutOfScope,
}

impl Rejection {
    /// The reason's code as the API and the timeline write it.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Invalid => "invalid",
            Rejection::Duplicate(_) => "duplicate",
            Rejection::OutOfScope => "out_of_scope",
        }
    }

    /// From the reason's code and, for a duplicate, the other case's number.
    pub fn parse(reason: &str, duplicate_of: Option<&str>) -> Result<Self, ValueError> {
        match reason {
            "invalid" => Ok(Rejection::Invalid),
            "out_of_scope" => Ok(Rejection::OutOfScope),
            "duplicate" => CaseNumber::parse(duplicate_of.unwrap_or_default())
                .map(Rejection::Duplicate)
                .map_err(|e| ValueError {
                    field: "duplicate_of",
                    ..e
                }),
            _ => Err(
                ValueError::new("reason", "must be invalid, duplicate or out_of_scope")
                    .zh("须为 invalid、duplicate 或 out_of_scope"),
            ),
        }
    }
}

/// Where an escalation (上报) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationTarget {
    Leader,
    Street,
    /// Another department, by name (大事一网联动).
    Department(Name),
}

impl EscalationTarget {
    pub fn code(&self) -> &'static str {
        match self {
            EscalationTarget::Leader => "leader",
            EscalationTarget::Street => "street",
            EscalationTarget::Department(_) => "department",
        }
    }

    pub fn parse(to: &str, department: Option<&str>) -> Result<Self, ValueError> {
        match to {
            "leader" => Ok(EscalationTarget::Leader),
            "street" => Ok(EscalationTarget::Street),
            "department" => {
                Name::parse(department.unwrap_or_default()).map(EscalationTarget::Department)
            }
            _ => Err(
                ValueError::new("escalate_to", "must be leader, street or department")
                    .zh("须为 leader、street 或 department"),
            ),
        }
    }
}

/// The extra working time an extension request asks for: 1 to 240 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionHours(u32);

impl ExtensionHours {
    pub fn new(hours: u32) -> Result<Self, ValueError> {
        if (1..=240).contains(&hours) {
            Ok(Self(hours))
        } else {
            Err(
                ValueError::new("extension_hours", "must be 1 to 240 working hours")
                    .zh("须为 1 到 240 个工作小时"),
            )
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An action with what it needs; the notes an action requires are part of it.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    Accept,
    Reject(Rejection),
    /// To the officer named, or else to the one intake suggested.
    Dispatch {
        assignee: Option<UserId>,
    },
    Sign,
    Return(Description),
    Resolve(Description),
    Verify,
    Rework(Description),
    Close,
    Escalate(EscalationTarget),
    RequestExtension {
        note: Description,
        hours: ExtensionHours,
    },
    DecideExtension {
        approve: bool,
    },
    Reopen,
    Rate(Rating),
    Comment(Description),
}

impl CaseCommand {
    pub fn kind(&self) -> CaseActionKind {
        use CaseActionKind as A;
        match self {
            CaseCommand::Accept => A::Accept,
            CaseCommand::Reject(_) => A::Reject,
            CaseCommand::Dispatch { .. } => A::Dispatch,
            CaseCommand::Sign => A::Sign,
            CaseCommand::Return(_) => A::Return,
            CaseCommand::Resolve(_) => A::Resolve,
            CaseCommand::Verify => A::Verify,
            CaseCommand::Rework(_) => A::Rework,
            CaseCommand::Close => A::Close,
            CaseCommand::Escalate(_) => A::Escalate,
            CaseCommand::RequestExtension { .. } => A::RequestExtension,
            CaseCommand::DecideExtension { .. } => A::DecideExtension,
            CaseCommand::Reopen => A::Reopen,
            CaseCommand::Rate(_) => A::Rate,
            CaseCommand::Comment(_) => A::Comment,
        }
    }

    /// The note the action requires, if it requires one.
    fn required_note(&self) -> Option<&Description> {
        match self {
            CaseCommand::Return(n)
            | CaseCommand::Resolve(n)
            | CaseCommand::Rework(n)
            | CaseCommand::Comment(n)
            | CaseCommand::RequestExtension { note: n, .. } => Some(n),
            _ => None,
        }
    }
}

/// Handling (signing, returning, resolving, asking for more time) is the assignee's alone.
pub fn needs_assignee(kind: CaseActionKind) -> bool {
    matches!(
        kind,
        CaseActionKind::Sign
            | CaseActionKind::Return
            | CaseActionKind::Resolve
            | CaseActionKind::RequestExtension
    )
}

/// A change of one field: leave it, set it, or empty it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Keep,
    Set(T),
    Clear,
}

/// What happens to the stage whose deadline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageChange {
    Keep,
    /// No clock runs any more (rejected, verified).
    End,
    /// This stage starts now; its deadline follows from the category's policy and the calendar.
    Start(Stage),
    /// The running deadline moves by this many working hours (an approved extension).
    Extend {
        hours: u32,
    },
}

/// One step on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: CaseActionKind,
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub data: Map<String, Value>,
}

/// What an allowed action does. The caller writes it in one transaction: the case's new
/// fields, then the steps in order (the stage's new deadline is recorded on the last one).
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    pub status: CaseStatus,
    pub steps: Vec<Step>,
    pub stage: StageChange,
    pub assignee: Change<UserId>,
    /// `Set` closes the case now; `Clear` reopens it.
    pub closed: Change<DateTime<Utc>>,
    pub rating: Change<Rating>,
    /// The note recorded on the first step.
    pub note: Option<String>,
    /// A duplicate rejected into this case: its timeline records the merge.
    pub merge_into: Option<CaseNumber>,
}

/// Why an action the policy allowed cannot be done to this case now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("only the officer the case is dispatched to can do this")]
    NotAssignee,
    #[error("reports of this category are accepted by the command centre")]
    CategoryNeedsCommandCentre,
    #[error("no officer is suggested for the case's community; name one")]
    NoSuggestedOfficer,
    #[error("there is no extension request to decide")]
    NoPendingExtension,
    #[error("a case can be reopened within {days} days of closing")]
    ReopenWindowPassed { days: i64 },
    #[error("this case has been rated")]
    AlreadyRated,
}

/// What `command` by `actor` does to the case, or why it cannot be done.
pub fn decide(
    case: &CaseFacts,
    actor: Actor,
    command: &CaseCommand,
    remark: Option<&str>,
    circumstances: &Circumstances,
) -> Result<Effects, Refusal> {
    let kind = command.kind();
    let to = transition(case.status, kind)?;
    if needs_assignee(kind) && (actor.id.is_none() || case.assignee != actor.id) {
        return Err(Refusal::NotAssignee);
    }
    let note = match command.required_note() {
        Some(n) => Some(n.as_str().to_owned()),
        None => remark
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    };
    let mut data = Map::new();
    let mut effects = Effects {
        status: to,
        steps: Vec::with_capacity(2),
        stage: StageChange::Keep,
        assignee: Change::Keep,
        closed: Change::Keep,
        rating: Change::Keep,
        note,
        merge_into: None,
    };
    match command {
        // 小事一格解决: the stationed officer accepting a report takes it; the dispatch to him is
        // a second step of the same action.
        CaseCommand::Accept if actor.role == Role::Officer => {
            let Some(me) = actor.id else {
                return Err(Refusal::NotAssignee);
            };
            if !circumstances.officer_may_take {
                return Err(Refusal::CategoryNeedsCommandCentre);
            }
            let dispatched = transition(to, CaseActionKind::Dispatch)?;
            data.insert("taken_by_officer".into(), true.into());
            effects.steps.push(step(kind, case.status, to, data));
            let mut second = Map::new();
            second.insert("assignee_id".into(), me.get().into());
            second.insert("taken_by_officer".into(), true.into());
            effects
                .steps
                .push(step(CaseActionKind::Dispatch, to, dispatched, second));
            effects.status = dispatched;
            effects.assignee = Change::Set(me);
            effects.stage = StageChange::Start(Stage::Sign);
            return Ok(effects);
        }
        CaseCommand::Accept => effects.stage = StageChange::Start(Stage::Dispatch),
        CaseCommand::Reject(why) => {
            if let Rejection::Duplicate(original) = why {
                data.insert("duplicate_of".into(), original.as_str().into());
                effects.merge_into = Some(original.clone());
            }
            data.insert("reason".into(), why.code().into());
            effects.stage = StageChange::End;
        }
        CaseCommand::Dispatch { assignee } => {
            let officer = assignee
                .or(case.suggested_officer)
                .ok_or(Refusal::NoSuggestedOfficer)?;
            data.insert("assignee_id".into(), officer.get().into());
            effects.assignee = Change::Set(officer);
            effects.stage = StageChange::Start(Stage::Sign);
        }
        CaseCommand::Sign | CaseCommand::Rework(_) => {
            effects.stage = StageChange::Start(Stage::Resolve)
        }
        CaseCommand::Return(_) => {
            effects.assignee = Change::Clear;
            effects.stage = StageChange::Start(Stage::Dispatch);
        }
        CaseCommand::Resolve(_) => effects.stage = StageChange::Start(Stage::Verify),
        CaseCommand::Verify => effects.stage = StageChange::End,
        CaseCommand::Close => effects.closed = Change::Set(circumstances.now),
        CaseCommand::Escalate(target) => {
            data.insert("escalate_to".into(), target.code().into());
            if let EscalationTarget::Department(name) = target {
                data.insert("department".into(), name.as_str().into());
            }
        }
        CaseCommand::RequestExtension { hours, .. } => {
            data.insert("extension_hours".into(), hours.get().into());
        }
        CaseCommand::DecideExtension { approve } => {
            let pending = circumstances
                .pending_extension
                .ok_or(Refusal::NoPendingExtension)?;
            data.insert("approved".into(), (*approve).into());
            data.insert("extension_hours".into(), pending.into());
            if *approve {
                effects.stage = StageChange::Extend { hours: pending };
            }
        }
        CaseCommand::Reopen => {
            let window = circumstances.reopen_window.max(chrono::Duration::zero());
            if case
                .closed_at
                .is_none_or(|closed| circumstances.now - closed > window)
            {
                return Err(Refusal::ReopenWindowPassed {
                    days: window.num_days(),
                });
            }
            effects.closed = Change::Clear;
            effects.rating = Change::Clear;
            effects.stage = StageChange::Start(Stage::Dispatch);
        }
        CaseCommand::Rate(rating) => {
            if case.rated {
                return Err(Refusal::AlreadyRated);
            }
            data.insert("rating".into(), rating.score().into());
            effects.rating = Change::Set(rating.clone());
        }
        CaseCommand::Comment(_) => {}
    }
    effects.steps.push(step(kind, case.status, to, data));
    Ok(effects)
}

fn step(
    action: CaseActionKind,
    from: CaseStatus,
    to: CaseStatus,
    data: Map<String, Value>,
) -> Step {
    Step {
        action,
        from,
        to,
        data,
    }
}

#[cfg(test)]
mod tests;
