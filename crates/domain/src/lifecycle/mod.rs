//! The closed loop (闭环) of a case as one pure function: which action is legal in which status,
//! and where it leads.
//!
//! ```text
//! reported ──accept──▶ accepted ──dispatch──▶ dispatched ──sign──▶ in_progress ──resolve──▶ resolved
//!    │                   ▲  ▲                    │                    │  ▲                    │
//!    └─reject─▶ rejected │  └──────return────────┴────────return──────┘  └──────rework───────────┤
//!                        │                                                                     verify
//!                        └────────────reopen (reporter, within the window)──── closed ◀─close── verified
//! ```
//!
//! Escalation, extension requests and decisions, comments and rating record an event without
//! changing the status. Who may perform an action is the policy's business
//! (`whistle_auth::policy`); this module knows the order of things, and [`decide`] what an
//! allowed action does to a case.

use crate::case::CaseStatus;

mod decide;
pub use decide::{
    Actor, CaseCommand, CaseFacts, Change, Circumstances, Effects, EscalationTarget,
    ExtensionHours, Refusal, Rejection, StageChange, Step, decide, needs_assignee,
};

/// What can be done to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseActionKind {
    /// 立案
    Accept,
    /// 不予立案 (invalid, duplicate of another case, out of scope)
    Reject,
    /// 派遣 to an officer or squad
    Dispatch,
    /// 签收: the officer takes the case
    Sign,
    /// 退单: wrongly dispatched, back to dispatch
    Return,
    /// 处置完成, with notes and after-photos
    Resolve,
    /// 核查通过
    Verify,
    /// 返工: verification failed, back to the officer
    Rework,
    /// 结案
    Close,
    /// 上报/升级 to a leader, the street or another department (大事一网联动)
    Escalate,
    /// 延期申请
    RequestExtension,
    /// A leader approves or denies a pending extension request.
    DecideExtension,
    /// The reporter is not satisfied, within the reopen window.
    Reopen,
    /// The reporter rates the result, once.
    Rate,
    /// A remark on the record; allowed in every status.
    Comment,
}

impl CaseActionKind {
    pub const ALL: [CaseActionKind; 15] = [
        CaseActionKind::Accept,
        CaseActionKind::Reject,
        CaseActionKind::Dispatch,
        CaseActionKind::Sign,
        CaseActionKind::Return,
        CaseActionKind::Resolve,
        CaseActionKind::Verify,
        CaseActionKind::Rework,
        CaseActionKind::Close,
        CaseActionKind::Escalate,
        CaseActionKind::RequestExtension,
        CaseActionKind::DecideExtension,
        CaseActionKind::Reopen,
        CaseActionKind::Rate,
        CaseActionKind::Comment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseActionKind::Accept => "accept",
            CaseActionKind::Reject => "reject",
            CaseActionKind::Dispatch => "dispatch",
            CaseActionKind::Sign => "sign",
            CaseActionKind::Return => "return",
            CaseActionKind::Resolve => "resolve",
            CaseActionKind::Verify => "verify",
            CaseActionKind::Rework => "rework",
            CaseActionKind::Close => "close",
            CaseActionKind::Escalate => "escalate",
            CaseActionKind::RequestExtension => "request_extension",
            CaseActionKind::DecideExtension => "decide_extension",
            CaseActionKind::Reopen => "reopen",
            CaseActionKind::Rate => "rate",
            CaseActionKind::Comment => "comment",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValueError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| {
                crate::ValueError::new("action", "is not a case action").zh("不是案件操作")
            })
    }
}

/// An action that the case's status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a case that is {from}; allowed: {allowed:?}")]
pub struct IllegalTransition {
    pub action: &'static str,
    pub from: CaseStatus,
    pub allowed: Vec<CaseActionKind>,
}

/// Where `action` takes a case in `from`, or why it cannot.
pub fn transition(
    from: CaseStatus,
    action: CaseActionKind,
) -> Result<CaseStatus, IllegalTransition> {
    target(from, action).ok_or_else(|| IllegalTransition {
        action: action.as_str(),
        from,
        allowed: allowed_actions(from),
    })
}

/// What a timeline entry records: a step of the lifecycle, or one of the entries that keep the
/// status (the report itself, a photo attached, a duplicate merged in, the case placed on the
/// map). Stored as its text (`accept`, `report`, `merge`…), written here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineAction {
    Step(CaseActionKind),
    /// The first entry: the case was reported.
    Report,
    /// A photo joined the case; `data` names the attachment and its kind.
    Attach,
    /// Another report was rejected as a duplicate of this case (合并); `data.duplicate` names it.
    Merge,
    /// The case was placed on the map (it stood at an address-book entry until then); `data`
    /// holds the previous and the new point and community.
    Locate,
}

impl TimelineAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineAction::Step(kind) => kind.as_str(),
            TimelineAction::Report => "report",
            TimelineAction::Attach => "attach",
            TimelineAction::Merge => "merge",
            TimelineAction::Locate => "locate",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValueError> {
        Ok(match raw {
            "report" => TimelineAction::Report,
            "attach" => TimelineAction::Attach,
            "merge" => TimelineAction::Merge,
            "locate" => TimelineAction::Locate,
            other => TimelineAction::Step(CaseActionKind::parse(other)?),
        })
    }
}

impl PartialEq<&str> for TimelineAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for TimelineAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a timeline entry names as its actor: an account's role at the time, or the anonymous
/// reporter (and Open311 clients, who report without an account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorRole {
    Account(crate::people::Role),
    Anonymous,
}

impl ActorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Account(role) => role.as_str(),
            ActorRole::Anonymous => "anonymous",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ValueError> {
        match raw {
            "anonymous" => Ok(ActorRole::Anonymous),
            other => other.parse().map(ActorRole::Account),
        }
    }
}

impl PartialEq<&str> for ActorRole {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The actions the status allows, in a stable order (for error messages and clients' menus).
pub fn allowed_actions(from: CaseStatus) -> Vec<CaseActionKind> {
    CaseActionKind::ALL
        .into_iter()
        .filter(|a| target(from, *a).is_some())
        .collect()
}

/// The one table of the state machine.
fn target(from: CaseStatus, action: CaseActionKind) -> Option<CaseStatus> {
    use CaseActionKind as A;
    use CaseStatus as S;
    match (from, action) {
        (_, A::Comment) => Some(from),
        (S::Reported, A::Accept) => Some(S::Accepted),
        (S::Reported, A::Reject) => Some(S::Rejected),
        (S::Accepted, A::Dispatch) => Some(S::Dispatched),
        (S::Dispatched, A::Sign) => Some(S::InProgress),
        (S::Dispatched | S::InProgress, A::Return) => Some(S::Accepted),
        (S::InProgress, A::Resolve) => Some(S::Resolved),
        (S::Resolved, A::Verify) => Some(S::Verified),
        (S::Resolved, A::Rework) => Some(S::InProgress),
        (S::Verified, A::Close) => Some(S::Closed),
        (S::Accepted | S::Dispatched | S::InProgress, A::Escalate) => Some(from),
        (S::Dispatched | S::InProgress, A::RequestExtension | A::DecideExtension) => Some(from),
        (S::Closed, A::Reopen) => Some(S::Accepted),
        (S::Closed, A::Rate) => Some(S::Closed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus as S;

    /// Every status × every action, written out by hand: the target status, or `-` for illegal.
    /// Columns: accept reject dispatch sign return resolve verify rework close escalate
    /// request_extension decide_extension reopen rate comment.
    const TABLE: &str = "
        reported     accepted rejected - - - - - - - - - - - - reported
        accepted     - - dispatched - - - - - - accepted - - - - accepted
        rejected     - - - - - - - - - - - - - - rejected
        dispatched   - - - in_progress accepted - - - - dispatched dispatched dispatched - - dispatched
        in_progress  - - - - accepted resolved - - - in_progress in_progress in_progress - - in_progress
        resolved     - - - - - - verified in_progress - - - - - - resolved
        verified     - - - - - - - - closed - - - - - verified
        closed       - - - - - - - - - - - - accepted closed closed
    ";

    #[test]
    fn the_whole_state_machine() {
        let mut rows = 0;
        for line in TABLE.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cols.len(), 1 + CaseActionKind::ALL.len(), "{line}");
            let from: CaseStatus = cols[0].parse().unwrap();
            for (action, want) in CaseActionKind::ALL.iter().zip(&cols[1..]) {
                let got = transition(from, *action);
                match *want {
                    "-" => {
                        let err = got.expect_err(&format!("{from} {action:?} should be illegal"));
                        assert_eq!(err.from, from);
                        assert!(!err.allowed.contains(action));
                    }
                    to => assert_eq!(got, Ok(to.parse().unwrap()), "{from} {action:?}"),
                }
            }
            rows += 1;
        }
        assert_eq!(rows, CaseStatus::ALL.len(), "every status has a row");
    }

    #[test]
    fn the_happy_path_closes_the_loop() {
        use CaseActionKind as A;
        let mut s = S::Reported;
        for a in [
            A::Accept,
            A::Dispatch,
            A::Sign,
            A::Resolve,
            A::Verify,
            A::Close,
        ] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, S::Closed);
        assert_eq!(transition(s, A::Rate), Ok(S::Closed));
    }

    #[test]
    fn illegal_transitions_name_what_is_allowed() {
        let err = transition(S::Reported, CaseActionKind::Resolve).unwrap_err();
        assert_eq!(
            err.allowed,
            vec![
                CaseActionKind::Accept,
                CaseActionKind::Reject,
                CaseActionKind::Comment
            ]
        );
        assert!(
            err.to_string()
                .contains("cannot resolve a case that is reported")
        );
        // Terminal rejection allows only comments.
        assert_eq!(allowed_actions(S::Rejected), vec![CaseActionKind::Comment]);
    }

    #[test]
    fn action_names_round_trip() {
        for a in CaseActionKind::ALL {
            assert_eq!(CaseActionKind::parse(a.as_str()).unwrap(), a);
        }
        assert!(CaseActionKind::parse("delete").is_err());
    }
}
