use chrono::TimeZone;

use super::*;
use crate::case::CaseStatus as S;

const ME: i64 = 7;
const SUGGESTED: i64 = 9;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()
}

fn id(n: i64) -> UserId {
    UserId::new(n).unwrap()
}

/// The case in `status`, dispatched to the actor, closed a day ago (when closed), unrated.
fn facts(status: CaseStatus) -> CaseFacts {
    CaseFacts {
        status,
        assignee: Some(id(ME)),
        suggested_officer: Some(id(SUGGESTED)),
        rated: false,
        closed_at: (status == S::Closed).then(|| now() - chrono::Duration::days(1)),
    }
}

fn circumstances() -> Circumstances {
    Circumstances {
        now: now(),
        reopen_window: chrono::Duration::days(7),
        officer_may_take: true,
        pending_extension: Some(8),
    }
}

fn note(text: &str) -> Description {
    Description::parse(text).unwrap()
}

/// One command of each kind, with a valid payload.
fn command(kind: CaseActionKind) -> CaseCommand {
    use CaseActionKind as A;
    match kind {
        A::Accept => CaseCommand::Accept,
        A::Reject => CaseCommand::Reject(Rejection::Invalid),
        A::Dispatch => CaseCommand::Dispatch { assignee: None },
        A::Sign => CaseCommand::Sign,
        A::Return => CaseCommand::Return(note("not ours")),
        A::Resolve => CaseCommand::Resolve(note("cleared")),
        A::Verify => CaseCommand::Verify,
        A::Rework => CaseCommand::Rework(note("still there")),
        A::Close => CaseCommand::Close,
        A::Escalate => CaseCommand::Escalate(EscalationTarget::Leader),
        A::RequestExtension => CaseCommand::RequestExtension {
            note: note("parts on order"),
            hours: ExtensionHours::new(8).unwrap(),
        },
        A::DecideExtension => CaseCommand::DecideExtension { approve: true },
        A::Reopen => CaseCommand::Reopen,
        A::Rate => CaseCommand::Rate(Rating::new(5, None).unwrap()),
        A::Comment => CaseCommand::Comment(note("any news?")),
    }
}

/// The effects in one line: status, stage, assignee, closed, rating, then the steps.
fn summary(e: &Effects) -> String {
    let stage = match e.stage {
        StageChange::Keep => "-".to_owned(),
        StageChange::End => "end".to_owned(),
        StageChange::Start(s) => s.as_str().to_owned(),
        StageChange::Extend { hours } => format!("+{hours}h"),
    };
    let change = |c: &Change<String>| match c {
        Change::Keep => "-".to_owned(),
        Change::Set(v) => v.clone(),
        Change::Clear => "clear".to_owned(),
    };
    let assignee = change(&match &e.assignee {
        Change::Keep => Change::Keep,
        Change::Set(u) if u.get() == ME => Change::Set("me".to_owned()),
        Change::Set(u) if u.get() == SUGGESTED => Change::Set("suggested".to_owned()),
        Change::Set(u) => Change::Set(u.to_string()),
        Change::Clear => Change::Clear,
    });
    let closed = change(&match &e.closed {
        Change::Keep => Change::Keep,
        Change::Set(_) => Change::Set("now".to_owned()),
        Change::Clear => Change::Clear,
    });
    let rating = change(&match &e.rating {
        Change::Keep => Change::Keep,
        Change::Set(r) => Change::Set(r.score().to_string()),
        Change::Clear => Change::Clear,
    });
    let steps: Vec<_> = e.steps.iter().map(|s| s.action.as_str()).collect();
    format!(
        "{} {stage} {assignee} {closed} {rating} {}",
        e.status,
        steps.join(">")
    )
}

/// Every legal (status, action), by hand: the effects for every role, or for the roles named
/// (`officer`) and for all the others (`*`). Columns after the roles: status, stage, assignee,
/// closed, rating, steps. Every (status, action) pair not listed is illegal for every role.
const TABLE: &str = "
    reported    accept            officer  dispatched  sign      me        -      -      accept>dispatch
    reported    accept            *        accepted    dispatch  -         -      -      accept
    reported    reject            *        rejected    end       -         -      -      reject
    reported    comment           *        reported    -         -         -      -      comment
    accepted    dispatch          *        dispatched  sign      suggested -      -      dispatch
    accepted    escalate          *        accepted    -         -         -      -      escalate
    accepted    comment           *        accepted    -         -         -      -      comment
    rejected    comment           *        rejected    -         -         -      -      comment
    dispatched  sign              *        in_progress resolve   -         -      -      sign
    dispatched  return            *        accepted    dispatch  clear     -      -      return
    dispatched  escalate          *        dispatched  -         -         -      -      escalate
    dispatched  request_extension *        dispatched  -         -         -      -      request_extension
    dispatched  decide_extension  *        dispatched  +8h       -         -      -      decide_extension
    dispatched  comment           *        dispatched  -         -         -      -      comment
    in_progress return            *        accepted    dispatch  clear     -      -      return
    in_progress resolve           *        resolved    verify    -         -      -      resolve
    in_progress escalate          *        in_progress -         -         -      -      escalate
    in_progress request_extension *        in_progress -         -         -      -      request_extension
    in_progress decide_extension  *        in_progress +8h       -         -      -      decide_extension
    in_progress comment           *        in_progress -         -         -      -      comment
    resolved    verify            *        verified    end       -         -      -      verify
    resolved    rework            *        in_progress resolve   -         -      -      rework
    resolved    comment           *        resolved    -         -         -      -      comment
    verified    close             *        closed      -         -         now    -      close
    verified    comment           *        verified    -         -         -      -      comment
    closed      reopen            *        accepted    dispatch  -         clear  clear  reopen
    closed      rate              *        closed      -         -         -      5      rate
    closed      comment           *        closed      -         -         -      -      comment
";

fn expected(status: CaseStatus, kind: CaseActionKind, role: Role) -> Option<String> {
    let rows: Vec<Vec<&str>> = TABLE
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| !c.is_empty())
        .collect();
    let matching = |roles: &str| {
        rows.iter()
            .find(|c| c[0] == status.as_str() && c[1] == kind.as_str() && c[2] == roles)
    };
    matching(role.as_str())
        .or_else(|| matching("*"))
        .map(|c| c[3..].join(" "))
}

#[test]
fn every_status_action_and_role() {
    let mut allowed = 0;
    for status in CaseStatus::ALL.iter().copied() {
        for kind in CaseActionKind::ALL {
            for role in Role::ALL {
                let actor = Actor::account(id(ME), role);
                let got = decide(
                    &facts(status),
                    actor,
                    &command(kind),
                    None,
                    &circumstances(),
                );
                let at = format!("{status} {} by {}", kind.as_str(), role.as_str());
                match expected(status, kind, role) {
                    Some(want) => {
                        let effects = got.unwrap_or_else(|e| panic!("{at}: refused: {e}"));
                        assert_eq!(summary(&effects), want, "{at}");
                        // Every step starts where the last one ended, at the case's status.
                        let mut at_status = status;
                        for s in &effects.steps {
                            assert_eq!(s.from, at_status, "{at}");
                            assert_eq!(transition(s.from, s.action), Ok(s.to), "{at}");
                            at_status = s.to;
                        }
                        assert_eq!(at_status, effects.status, "{at}");
                        allowed += 1;
                    }
                    None => match got {
                        Err(Refusal::Illegal(e)) => {
                            assert_eq!(e.from, status, "{at}");
                            assert!(!e.allowed.contains(&kind), "{at}");
                        }
                        other => panic!("{at}: expected an illegal transition, got {other:?}"),
                    },
                }
            }
        }
    }
    // 27 legal (status, action) pairs, each for the six roles.
    assert_eq!(allowed, 27 * Role::ALL.len());
}

#[test]
fn handling_is_the_assignee_alone() {
    for kind in CaseActionKind::ALL {
        for status in CaseStatus::ALL.iter().copied() {
            if transition(status, kind).is_err() {
                continue;
            }
            let case = CaseFacts {
                assignee: Some(id(SUGGESTED)),
                ..facts(status)
            };
            let actor = Actor::account(id(ME), Role::Officer);
            let got = decide(&case, actor, &command(kind), None, &circumstances());
            assert_eq!(
                matches!(got, Err(Refusal::NotAssignee)),
                needs_assignee(kind),
                "{status} {}",
                kind.as_str()
            );
        }
    }
}

#[test]
fn an_officer_takes_only_what_his_category_allows() {
    let actor = Actor::account(id(ME), Role::Officer);
    let c = Circumstances {
        officer_may_take: false,
        ..circumstances()
    };
    let got = decide(&facts(S::Reported), actor, &CaseCommand::Accept, None, &c);
    assert_eq!(got, Err(Refusal::CategoryNeedsCommandCentre));
    // The command centre accepts such reports as usual.
    let dispatcher = Actor {
        role: Role::Dispatcher,
        ..actor
    };
    let got = decide(
        &facts(S::Reported),
        dispatcher,
        &CaseCommand::Accept,
        None,
        &c,
    )
    .unwrap();
    assert_eq!(got.status, S::Accepted);
    // What the officer took records both steps, the dispatch naming him.
    let taken = decide(
        &facts(S::Reported),
        actor,
        &CaseCommand::Accept,
        Some("  on my way "),
        &circumstances(),
    )
    .unwrap();
    assert_eq!(taken.note.as_deref(), Some("on my way"));
    assert_eq!(taken.steps[0].data["taken_by_officer"], true);
    assert_eq!(taken.steps[1].data["assignee_id"], ME);
}

#[test]
fn a_dispatch_goes_to_the_named_officer_or_the_suggested_one() {
    let actor = Actor::account(id(1), Role::Dispatcher);
    let named = CaseCommand::Dispatch {
        assignee: Some(id(42)),
    };
    let got = decide(&facts(S::Accepted), actor, &named, None, &circumstances()).unwrap();
    assert_eq!(got.assignee, Change::Set(id(42)));
    assert_eq!(got.steps[0].data["assignee_id"], 42);
    let nobody = CaseFacts {
        suggested_officer: None,
        ..facts(S::Accepted)
    };
    let got = decide(
        &nobody,
        actor,
        &CaseCommand::Dispatch { assignee: None },
        None,
        &circumstances(),
    );
    assert_eq!(got, Err(Refusal::NoSuggestedOfficer));
}

#[test]
fn rejections_record_their_reason_and_a_duplicate_merges() {
    let actor = Actor::account(id(1), Role::Dispatcher);
    let original = CaseNumber::parse("HZ-20261201-000003").unwrap();
    let got = decide(
        &facts(S::Reported),
        actor,
        &CaseCommand::Reject(Rejection::Duplicate(original.clone())),
        None,
        &circumstances(),
    )
    .unwrap();
    assert_eq!(got.merge_into, Some(original));
    assert_eq!(got.steps[0].data["reason"], "duplicate");
    assert_eq!(got.steps[0].data["duplicate_of"], "HZ-20261201-000003");
    assert_eq!(Rejection::parse("spam", None).unwrap_err().field, "reason");
    assert_eq!(
        Rejection::parse("duplicate", Some("nope"))
            .unwrap_err()
            .field,
        "duplicate_of"
    );
    assert_eq!(
        Rejection::parse("out_of_scope", None),
        Ok(Rejection::OutOfScope)
    );
}

#[test]
fn extensions_need_a_pending_request_and_move_the_deadline_only_when_approved() {
    let leader = Actor::account(id(1), Role::Leader);
    let none = Circumstances {
        pending_extension: None,
        ..circumstances()
    };
    let decide_it = |approve, c: &Circumstances| {
        decide(
            &facts(S::InProgress),
            leader,
            &CaseCommand::DecideExtension { approve },
            None,
            c,
        )
    };
    assert_eq!(decide_it(true, &none), Err(Refusal::NoPendingExtension));
    let denied = decide_it(false, &circumstances()).unwrap();
    assert_eq!(denied.stage, StageChange::Keep);
    assert_eq!(denied.steps[0].data["approved"], false);
    assert_eq!(denied.steps[0].data["extension_hours"], 8);
    assert_eq!(ExtensionHours::new(0).unwrap_err().field, "extension_hours");
    assert_eq!(
        ExtensionHours::new(241).unwrap_err().field,
        "extension_hours"
    );
    assert_eq!(ExtensionHours::new(240).unwrap().get(), 240);
}

#[test]
fn the_reporter_reopens_within_the_window_and_rates_once() {
    let resident = Actor::account(id(ME), Role::Resident);
    let long_ago = CaseFacts {
        closed_at: Some(now() - chrono::Duration::days(8)),
        ..facts(S::Closed)
    };
    let got = decide(
        &long_ago,
        resident,
        &CaseCommand::Reopen,
        None,
        &circumstances(),
    );
    assert_eq!(got, Err(Refusal::ReopenWindowPassed { days: 7 }));
    let rated = CaseFacts {
        rated: true,
        ..facts(S::Closed)
    };
    let rate = CaseCommand::Rate(Rating::new(4, Some("ok")).unwrap());
    let got = decide(&rated, resident, &rate, None, &circumstances());
    assert_eq!(got, Err(Refusal::AlreadyRated));
}

#[test]
fn escalation_targets_and_notes() {
    assert_eq!(
        EscalationTarget::parse("department", Some("住建局")),
        Ok(EscalationTarget::Department(Name::parse("住建局").unwrap()))
    );
    assert!(EscalationTarget::parse("department", None).is_err());
    assert_eq!(
        EscalationTarget::parse("mayor", None).unwrap_err().field,
        "escalate_to"
    );
    let officer = Actor::account(id(ME), Role::Officer);
    let got = decide(
        &facts(S::InProgress),
        officer,
        &CaseCommand::Resolve(note("swept")),
        Some("ignored: the resolution's own note counts"),
        &circumstances(),
    )
    .unwrap();
    assert_eq!(got.note.as_deref(), Some("swept"));
    let got = decide(
        &facts(S::Accepted),
        officer,
        &CaseCommand::Escalate(EscalationTarget::Department(Name::parse("水务局").unwrap())),
        Some("   "),
        &circumstances(),
    )
    .unwrap();
    assert_eq!(got.note, None);
    assert_eq!(got.steps[0].data["department"], "水务局");
}

#[test]
fn the_anonymous_reporter_takes_only_his_own_steps() {
    let reporter = Actor::anonymous_reporter();
    let closed = facts(S::Closed);
    let rate = CaseCommand::Rate(Rating::new(3, None).unwrap());
    assert_eq!(
        decide(&closed, reporter, &rate, None, &circumstances())
            .unwrap()
            .rating,
        Change::Set(Rating::new(3, None).unwrap())
    );
    // Handling is never his, whoever the case is dispatched to.
    let got = decide(
        &facts(S::InProgress),
        reporter,
        &CaseCommand::Resolve(note("done")),
        None,
        &circumstances(),
    );
    assert_eq!(got, Err(Refusal::NotAssignee));
}
