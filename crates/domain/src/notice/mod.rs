//! Who hears about what, in which words, over which channel, and when: the notifier's rules,
//! with no IO. The notifier applies them; the API's inbox shows what they produced.

mod sla;
mod timing;
mod wording;

pub use sla::*;
pub use timing::*;
pub use wording::*;

use std::fmt;

use crate::ValueError;
use crate::people::Role;

/// The language a recipient reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Zh,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Zh => "zh",
            Locale::En => "en",
        }
    }

    /// `zh`, `zh-CN`, `zh-Hans`, `en`, `en-US`…; anything else is an error.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let lang = raw.trim().to_ascii_lowercase();
        let primary = lang.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "zh" => Ok(Locale::Zh),
            "en" => Ok(Locale::En),
            _ => Err(ValueError::new("locale", "must be zh or en")),
        }
    }
}

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// The in-app inbox, served by the API.
    Inbox,
    Email,
    Sms,
    /// A JSON POST, signed, to a system the bureau connects (command centre, partner app).
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Inbox,
        Channel::Email,
        Channel::Sms,
        Channel::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Inbox => "inbox",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| ValueError::new("channel", "must be inbox, email, sms or webhook"))
    }
}

/// Where a notification is on its way out (its stored `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryState {
    /// Waiting for its attempt time.
    #[default]
    Pending,
    /// Claimed by a notifier that is sending it now.
    Sending,
    Sent,
    /// Every attempt failed; an admin may put it back in the queue.
    Dead,
    /// No longer worth sending (its stage is over).
    Moot,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Dead,
        DeliveryState::Moot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
            DeliveryState::Moot => "moot",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new("state", "must be one of pending, sending, sent, dead, moot")
                    .zh("须为 pending、sending、sent、dead 或 moot")
            })
    }
}

/// Compares with the stored text: `state == "sent"`.
impl PartialEq<&str> for DeliveryState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A case changed state.
    Status,
    /// A deadline reminder; moot once its stage is over.
    Sla,
    /// A pledge runs out.
    Pledge,
    /// About an account, not a case (registration codes).
    Account,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Status => "status",
            NoticeKind::Sla => "sla",
            NoticeKind::Pledge => "pledge",
            NoticeKind::Account => "account",
        }
    }
}

/// Who, relative to a case, hears about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Whoever reported it: their account, or the phone an anonymous reporter left.
    Reporter,
    /// The officer it is dispatched to.
    Assignee,
    /// The command centre (every active dispatcher).
    Dispatchers,
    /// Leaders whose jurisdiction covers the case.
    Leaders,
    /// Members of the property companies and owners' committees of the case's community.
    Partners,
}

/// The notices a timeline action causes. Actions not listed (sign, verify, comment, rate…)
/// notify no one: the people who care did them.
pub fn status_notices(action: &str) -> &'static [(Audience, Template)] {
    use Audience as A;
    use Template as T;
    match action {
        "report" => &[(A::Partners, T::CaseReportedInCompound)],
        "accept" => &[(A::Reporter, T::CaseAccepted)],
        "reject" => &[(A::Reporter, T::CaseRejected)],
        "dispatch" => &[
            (A::Reporter, T::CaseDispatched),
            (A::Assignee, T::Assignment),
        ],
        "return" => &[(A::Dispatchers, T::CaseReturned)],
        "rework" => &[(A::Assignee, T::Rework)],
        "resolve" => &[(A::Reporter, T::CaseResolved)],
        "close" => &[
            (A::Reporter, T::CaseClosed),
            (A::Partners, T::CaseClosedInCompound),
        ],
        "reopen" => &[(A::Dispatchers, T::CaseReopened)],
        "escalate" => &[(A::Leaders, T::CaseEscalated)],
        _ => &[],
    }
}

/// Whether a timeline action must be queued for the notifier.
pub fn is_notable(action: &str) -> bool {
    !status_notices(action).is_empty()
}

/// The audiences of a deadline reminder: the one handling the stage, and for 督办 also the
/// leaders over the case and the command centre.
pub fn sla_audiences(level: SlaLevel, has_assignee: bool) -> Vec<Audience> {
    let mut out = Vec::new();
    if has_assignee {
        out.push(Audience::Assignee);
    }
    if level == SlaLevel::Escalation {
        out.push(Audience::Leaders);
    }
    if !has_assignee || level == SlaLevel::Escalation {
        // Accepting and dispatching are the command centre's stages.
        out.push(Audience::Dispatchers);
    }
    out
}

/// A recipient as far as channels and quiet hours are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    /// A resident (or partner) account.
    Resident,
    /// Officers, leaders, dispatchers, admins.
    Staff,
    /// A reporter without an account, known only by the phone they left.
    Anonymous,
}

impl RecipientKind {
    pub fn of_role(role: Role) -> Self {
        match role {
            Role::Resident | Role::Partner => RecipientKind::Resident,
            _ => RecipientKind::Staff,
        }
    }
}

/// The channels one recipient gets a notice on. Residents are on their phones: the inbox plus
/// SMS and e-mail where they left them. Staff live in the app and their mail; SMS only when the
/// field has to move (a new assignment, 督办).
pub fn channels_for(
    kind: RecipientKind,
    template: Template,
    has_email: bool,
    has_phone: bool,
) -> Vec<Channel> {
    let mut out = Vec::new();
    match kind {
        RecipientKind::Anonymous => {
            if has_phone {
                out.push(Channel::Sms);
            }
        }
        RecipientKind::Resident => {
            out.push(Channel::Inbox);
            if has_phone {
                out.push(Channel::Sms);
            }
            if has_email {
                out.push(Channel::Email);
            }
        }
        RecipientKind::Staff => {
            out.push(Channel::Inbox);
            if has_email {
                out.push(Channel::Email);
            }
            let urgent = matches!(template, Template::Assignment | Template::SlaEscalation);
            if urgent && has_phone {
                out.push(Channel::Sms);
            }
        }
    }
    out
}

/// An e-mail address an account gives for notices: one `@`, a dotted domain, no spaces, at
/// most 254 characters. (Deliverability is the mail server's to judge.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let bad = || ValueError::new("email", "must be an e-mail address like name@example.com");
        if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && !l.contains(['@', '<', '>', '(', ')', ',', ';', ':', '"', '[', ']'])
        });
        if local.is_empty()
            || local.len() > 64
            || local.contains(['@', '<', '>', '(', ')', ',', ';', ':', '"', '[', ']'])
            || !domain.contains('.')
            || !labels_ok
        {
            return Err(bad());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Stage;
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use proptest::prelude::*;
    use std::time::Duration;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, h, m, 0).unwrap()
    }

    #[test]
    fn sla_plan_walks_warning_overdue_escalation() {
        let th = SlaThresholds::new(0.75, 1.5).unwrap();
        let (start, due) = (t(8, 0), t(12, 0));
        // Planned right after the stage began: nothing to send, look again at 11:00.
        let p = th.plan(start, due, t(8, 1), None);
        assert_eq!(
            (p.send, p.level, p.next_check),
            (None, None, Some(t(11, 0)))
        );
        let p = th.plan(start, due, t(11, 0), None);
        assert_eq!(p.send, Some(SlaLevel::Warning));
        assert_eq!(p.next_check, Some(t(12, 0)));
        let p = th.plan(start, due, t(12, 30), Some(SlaLevel::Warning));
        assert_eq!(p.send, Some(SlaLevel::Overdue));
        assert_eq!(p.next_check, Some(t(14, 0)));
        let p = th.plan(start, due, t(14, 0), Some(SlaLevel::Overdue));
        assert_eq!(p.send, Some(SlaLevel::Escalation));
        assert_eq!(p.next_check, None);
    }

    #[test]
    fn a_sweep_that_was_away_sends_only_the_highest_level() {
        let th = SlaThresholds::new(0.75, 1.5).unwrap();
        let p = th.plan(t(8, 0), t(12, 0), t(13, 0), None);
        assert_eq!(p.send, Some(SlaLevel::Overdue));
        assert_eq!(p.level, Some(SlaLevel::Overdue));
        assert_eq!(p.next_check, Some(t(14, 0)));
    }

    #[test]
    fn thresholds_must_make_sense() {
        assert!(SlaThresholds::new(0.0, 1.5).is_err());
        assert!(SlaThresholds::new(1.0, 1.5).is_err());
        assert!(SlaThresholds::new(0.5, 1.0).is_err());
        assert!(SlaThresholds::new(f64::NAN, 2.0).is_err());
    }

    proptest! {
        #[test]
        fn a_level_is_sent_at_most_once_and_in_order(
            window_min in 1i64..10_000,
            steps in proptest::collection::vec(0i64..3_000, 1..20),
        ) {
            let th = SlaThresholds::new(0.75, 1.5).unwrap();
            let start = t(0, 0);
            let due = start + chrono::Duration::minutes(window_min);
            let mut now = start;
            let mut level = None;
            let mut sent = Vec::new();
            for s in steps {
                now += chrono::Duration::minutes(s);
                let p = th.plan(start, due, now, level);
                if let Some(l) = p.send {
                    sent.push(l);
                }
                prop_assert!(p.level >= level);
                if let Some(next) = p.next_check {
                    prop_assert!(next > now || p.send.is_none() && next >= now);
                }
                level = p.level;
            }
            let mut sorted = sent.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(sorted, sent);
        }
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours::parse("22:00-07:00").unwrap().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let at = |h, m| d.and_hms_opt(h, m, 0).unwrap();
        assert_eq!(q.release(at(21, 59)), None);
        assert_eq!(
            q.release(at(22, 0)),
            Some(d.succ_opt().unwrap().and_hms_opt(7, 0, 0).unwrap())
        );
        assert_eq!(q.release(at(3, 0)), Some(at(7, 0)));
        assert_eq!(q.release(at(7, 0)), None);
        assert_eq!(QuietHours::parse("off").unwrap(), None);
        assert!(QuietHours::parse("22:00").is_err());
        assert!(QuietHours::parse("07:00-07:00").is_err());
        let day = QuietHours::parse("12:00-14:00").unwrap().unwrap();
        assert_eq!(day.release(at(13, 0)), Some(at(14, 0)));
        assert_eq!(day.release(at(14, 30)), None);
    }

    #[test]
    fn quiet_hours_hold_only_residents_sms_and_email() {
        assert!(QuietHours::applies(RecipientKind::Resident, Channel::Sms));
        assert!(QuietHours::applies(
            RecipientKind::Anonymous,
            Channel::Email
        ));
        assert!(!QuietHours::applies(
            RecipientKind::Resident,
            Channel::Inbox
        ));
        assert!(!QuietHours::applies(RecipientKind::Staff, Channel::Sms));
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let s = Duration::from_secs;
        assert_eq!(backoff(1, s(30), s(3600), 1.0), s(30));
        assert_eq!(backoff(1, s(30), s(3600), 0.0), s(15));
        assert_eq!(backoff(3, s(30), s(3600), 1.0), s(120));
        assert_eq!(backoff(30, s(30), s(3600), 1.0), s(3600));
    }

    #[test]
    fn every_template_has_both_languages_and_uses_its_facts() {
        let facts = Facts {
            case_number: Some("HZ20261126000001".into()),
            category: Some("占道经营".into()),
            reason: Some("duplicate".into()),
            stage: Some(Stage::Resolve),
            due_local: Some("2026-11-26 17:30".into()),
            merchant: Some("老王面馆".into()),
            valid_until: Some("2026-12-01".into()),
            code: Some("123456".into()),
            code_minutes: Some(10),
            hotline: Some("96196".into()),
            officer: Some("田警官".into()),
        };
        for t in Template::ALL {
            assert_eq!(Template::parse(t.as_str()).unwrap(), t);
            let zh = render(t, Locale::Zh, &facts);
            let en = render(t, Locale::En, &facts);
            assert!(!zh.title.is_empty() && !en.title.is_empty());
            assert_ne!(zh.body, en.body, "{t}");
            let mentions = |r: &Rendered, s: &str| r.title.contains(s) || r.body.contains(s);
            if t == Template::PledgeExpiring {
                assert!(mentions(&zh, "老王面馆") && mentions(&en, "2026-12-01"));
            } else if t == Template::RegistrationCode {
                assert!(mentions(&zh, "123456") && mentions(&en, "123456"));
            } else if t == Template::RegistrationAttempt {
                assert!(mentions(&zh, "96196") && !mentions(&en, "123456"));
            } else {
                assert!(mentions(&zh, "HZ20261126000001") && mentions(&en, "HZ20261126000001"));
            }
        }
        let r = render(Template::CaseRejected, Locale::Zh, &facts);
        assert!(r.body.contains("重复"), "{}", r.body);
        let r = render(Template::SlaOverdue, Locale::En, &facts);
        assert!(r.body.contains("handling") && r.body.contains("17:30"));
    }

    #[test]
    fn a_reporter_is_told_who_handles_what_and_asked_to_rate_once_closed() {
        let facts = Facts {
            case_number: Some("HZ-20261201-000003".into()),
            category: Some("噪声扰民".into()),
            officer: Some("田警官".into()),
            ..Facts::default()
        };
        let d = render(Template::CaseDispatched, Locale::Zh, &facts);
        assert!(
            d.body.contains("田警官") && d.body.contains("噪声扰民"),
            "{}",
            d.body
        );
        let r = render(Template::CaseResolved, Locale::Zh, &facts);
        assert!(!r.title.contains("请评价"), "{}", r.title);
        assert!(r.body.contains("结案后"), "{}", r.body);
        let c = render(Template::CaseClosed, Locale::Zh, &facts);
        assert!(c.title.contains("请评价"), "{}", c.title);
        let en = render(Template::CaseClosed, Locale::En, &facts);
        assert!(en.title.contains("rate"), "{}", en.title);
        assert!(
            Template::Assignment.is_instruction() && !Template::CaseDispatched.is_instruction()
        );
    }

    #[test]
    fn email_addresses() {
        for ok in [
            "wang@example.com",
            "li.na+cases@mail.lyg.gov.cn",
            " a@b.cn ",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "wang",
            "wang@",
            "@example.com",
            "wang@example",
            "a b@c.cn",
            "a@b..cn",
            "a@-b.cn",
            "<a@b.cn>",
            "a@b.cn\r\nBcc: x@y.cn",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn who_hears_what() {
        assert!(is_notable("dispatch") && is_notable("report"));
        assert!(!is_notable("sign") && !is_notable("comment"));
        assert_eq!(
            sla_audiences(SlaLevel::Warning, false),
            vec![Audience::Dispatchers]
        );
        assert_eq!(
            sla_audiences(SlaLevel::Overdue, true),
            vec![Audience::Assignee]
        );
        assert_eq!(
            sla_audiences(SlaLevel::Escalation, true),
            vec![Audience::Assignee, Audience::Leaders, Audience::Dispatchers]
        );
        assert_eq!(
            channels_for(
                RecipientKind::Anonymous,
                Template::CaseAccepted,
                false,
                true
            ),
            vec![Channel::Sms]
        );
        assert_eq!(
            channels_for(RecipientKind::Staff, Template::SlaWarning, true, true),
            vec![Channel::Inbox, Channel::Email]
        );
        assert_eq!(
            channels_for(RecipientKind::Staff, Template::Assignment, false, true),
            vec![Channel::Inbox, Channel::Sms]
        );
        assert_eq!(Locale::parse("zh-CN").unwrap(), Locale::Zh);
        assert_eq!(Locale::parse("en_US").unwrap(), Locale::En);
        assert!(Locale::parse("fr").is_err());
    }
}
