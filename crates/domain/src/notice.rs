//! Who hears about what, in which words, over which channel, and when: the notifier's rules,
//! with no IO. The notifier applies them; the API's inbox shows what they produced.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};

use crate::ValueError;
use crate::calendar::Stage;
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

/// How urgent a deadline reminder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlaLevel {
    /// 预警: most of the stage's window has passed.
    Warning,
    /// 超时: the deadline has passed.
    Overdue,
    /// 督办: long overdue; the assignee's leader and the command centre step in.
    Escalation,
}

impl SlaLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaLevel::Warning => "warning",
            SlaLevel::Overdue => "overdue",
            SlaLevel::Escalation => "escalation",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "warning" => Ok(SlaLevel::Warning),
            "overdue" => Ok(SlaLevel::Overdue),
            "escalation" => Ok(SlaLevel::Escalation),
            _ => Err(ValueError::new(
                "sla_level",
                "must be warning, overdue or escalation",
            )),
        }
    }

    pub fn template(self) -> Template {
        match self {
            SlaLevel::Warning => Template::SlaWarning,
            SlaLevel::Overdue => Template::SlaOverdue,
            SlaLevel::Escalation => Template::SlaEscalation,
        }
    }
}

/// What a notification says. Each has words in Chinese and English ([`render`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// To the reporter: 已受理 (立案).
    CaseAccepted,
    /// To the reporter: not accepted, with the reason.
    CaseRejected,
    /// To the reporter: an officer is on it.
    CaseDispatched,
    /// To the reporter: handled; a rating will be asked for once it is closed.
    CaseResolved,
    /// To the reporter: closed; please rate (or reopen).
    CaseClosed,
    /// To partners: a new report in their compound.
    CaseReportedInCompound,
    /// To partners: a case in their compound is closed.
    CaseClosedInCompound,
    /// To the officer: a case is dispatched to you.
    Assignment,
    /// To the officer: verification failed, handle it again (返工).
    Rework,
    /// To the command centre: an officer returned a case (退单).
    CaseReturned,
    /// To the command centre: a reporter reopened a closed case.
    CaseReopened,
    /// To leaders: a case was escalated to them (上报).
    CaseEscalated,
    SlaWarning,
    SlaOverdue,
    SlaEscalation,
    /// To the stationed officer: a merchant's 门前四包 pledge runs out soon.
    PledgeExpiring,
    /// To a phone being registered: the verification code.
    RegistrationCode,
    /// To the owner of a phone someone tried to register again: no code, a warning.
    RegistrationAttempt,
}

impl Template {
    pub const ALL: [Template; 18] = [
        Template::CaseAccepted,
        Template::CaseRejected,
        Template::CaseDispatched,
        Template::CaseResolved,
        Template::CaseClosed,
        Template::CaseReportedInCompound,
        Template::CaseClosedInCompound,
        Template::Assignment,
        Template::Rework,
        Template::CaseReturned,
        Template::CaseReopened,
        Template::CaseEscalated,
        Template::SlaWarning,
        Template::SlaOverdue,
        Template::SlaEscalation,
        Template::PledgeExpiring,
        Template::RegistrationCode,
        Template::RegistrationAttempt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Template::CaseAccepted => "case.accepted",
            Template::CaseRejected => "case.rejected",
            Template::CaseDispatched => "case.dispatched",
            Template::CaseResolved => "case.resolved",
            Template::CaseClosed => "case.closed",
            Template::CaseReportedInCompound => "compound.reported",
            Template::CaseClosedInCompound => "compound.closed",
            Template::Assignment => "officer.assignment",
            Template::Rework => "officer.rework",
            Template::CaseReturned => "dispatch.returned",
            Template::CaseReopened => "dispatch.reopened",
            Template::CaseEscalated => "leader.escalated",
            Template::SlaWarning => "sla.warning",
            Template::SlaOverdue => "sla.overdue",
            Template::SlaEscalation => "sla.escalation",
            Template::PledgeExpiring => "pledge.expiring",
            Template::RegistrationCode => "account.registration_code",
            Template::RegistrationAttempt => "account.registration_attempt",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| ValueError::new("template", "unknown template"))
    }

    /// A notice that tells someone to do the running stage by its deadline ("请于…前签收").
    /// Once the case has moved on to another stage it is moot, and it is not sent.
    pub fn is_instruction(self) -> bool {
        matches!(
            self,
            Template::Assignment
                | Template::Rework
                | Template::CaseReturned
                | Template::CaseReopened
        )
    }

    pub fn kind(self) -> NoticeKind {
        match self {
            Template::SlaWarning | Template::SlaOverdue | Template::SlaEscalation => {
                NoticeKind::Sla
            }
            Template::PledgeExpiring => NoticeKind::Pledge,
            Template::RegistrationCode | Template::RegistrationAttempt => NoticeKind::Account,
            _ => NoticeKind::Status,
        }
    }
}

impl fmt::Display for Template {
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

/// The facts a message is written from; what a template does not use may stay empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub case_number: Option<String>,
    /// The category's name in the recipient's language.
    pub category: Option<String>,
    /// `invalid`, `duplicate`, `out_of_scope` for a rejection.
    pub reason: Option<String>,
    pub stage: Option<Stage>,
    /// The deadline in local time, already formatted (`2026-11-26 17:30`).
    pub due_local: Option<String>,
    pub merchant: Option<String>,
    pub valid_until: Option<String>,
    /// A registration code, and how many minutes it works.
    pub code: Option<String>,
    pub code_minutes: Option<i64>,
    /// The bureau's hotline, for messages that send people to it.
    pub hotline: Option<String>,
    /// The officer handling the case, as residents are told ("田警官").
    pub officer: Option<String>,
}

/// A message's subject and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub title: String,
    pub body: String,
}

fn stage_name(stage: Option<Stage>, locale: Locale) -> &'static str {
    match (stage, locale) {
        (Some(Stage::Accept), Locale::Zh) => "受理",
        (Some(Stage::Dispatch), Locale::Zh) => "派遣",
        (Some(Stage::Sign), Locale::Zh) => "签收",
        (Some(Stage::Resolve), Locale::Zh) => "处置",
        (Some(Stage::Verify), Locale::Zh) => "核查",
        (None, Locale::Zh) => "办理",
        (Some(Stage::Accept), Locale::En) => "acceptance",
        (Some(Stage::Dispatch), Locale::En) => "dispatch",
        (Some(Stage::Sign), Locale::En) => "signing",
        (Some(Stage::Resolve), Locale::En) => "handling",
        (Some(Stage::Verify), Locale::En) => "verification",
        (None, Locale::En) => "handling",
    }
}

fn reason_text(reason: Option<&str>, locale: Locale) -> &'static str {
    match (reason, locale) {
        (Some("duplicate"), Locale::Zh) => "与已有案件重复",
        (Some("out_of_scope"), Locale::Zh) => "不属于城管职责范围",
        (_, Locale::Zh) => "反映的问题不成立",
        (Some("duplicate"), Locale::En) => "it duplicates an existing case",
        (Some("out_of_scope"), Locale::En) => "it is outside the bureau's remit",
        (_, Locale::En) => "the problem could not be confirmed",
    }
}

/// The words of a notice in a language. Never fails: missing facts read as blanks.
pub fn render(template: Template, locale: Locale, f: &Facts) -> Rendered {
    let no = f.case_number.as_deref().unwrap_or("-");
    let cat = f.category.as_deref().unwrap_or("");
    let due = f.due_local.as_deref().unwrap_or("-");
    let stage = stage_name(f.stage, locale);
    let merchant = f.merchant.as_deref().unwrap_or("");
    let until = f.valid_until.as_deref().unwrap_or("-");
    let code = f.code.as_deref().unwrap_or("-");
    let minutes = f.code_minutes.unwrap_or(10);
    let hotline = f.hotline.as_deref().unwrap_or("12345");
    let reason = reason_text(f.reason.as_deref(), locale);
    let officer = f.officer.as_deref();
    let (title, body) = match (template, locale) {
        (Template::CaseAccepted, Locale::Zh) => (
            format!("您反映的问题已受理（{no}）"),
            format!("您反映的{cat}问题已立案，编号{no}，我们会尽快派员处置。"),
        ),
        (Template::CaseAccepted, Locale::En) => (
            format!("Your report {no} is accepted"),
            format!("Your report ({cat}) is accepted as case {no}; an officer will be sent."),
        ),
        (Template::CaseRejected, Locale::Zh) => (
            format!("您反映的问题未予立案（{no}）"),
            format!("您反映的{cat}问题（{no}）未予立案，原因：{reason}。"),
        ),
        (Template::CaseRejected, Locale::En) => (
            format!("Your report {no} was not accepted"),
            format!("Your report {no} ({cat}) was not accepted: {reason}."),
        ),
        (Template::CaseDispatched, Locale::Zh) => (
            format!("已派员处置（{no}）"),
            match officer {
                Some(o) => format!("您反映的{cat}问题（{no}）已交由社区城管队员{o}处置。"),
                None => format!("您反映的{cat}问题（{no}）已交由社区城管队员处置。"),
            },
        ),
        (Template::CaseDispatched, Locale::En) => (
            format!("An officer is on case {no}"),
            match officer {
                Some(o) => {
                    format!("Your report {no} ({cat}) is with the community's officer, {o}.")
                }
                None => format!("Your report {no} ({cat}) is with the community's officer."),
            },
        ),
        (Template::CaseResolved, Locale::Zh) => (
            format!("问题已处置（{no}）"),
            match officer {
                Some(o) => format!(
                    "您反映的{cat}问题（{no}）已由{o}处置完毕，核查结案后请您评价处置结果。"
                ),
                None => {
                    format!("您反映的{cat}问题（{no}）已处置完毕，核查结案后请您评价处置结果。")
                }
            },
        ),
        (Template::CaseResolved, Locale::En) => (
            format!("Case {no} is handled"),
            format!(
                "Your report {no} ({cat}) has been handled. Once it is checked and closed, \
                 please rate the result."
            ),
        ),
        (Template::CaseClosed, Locale::Zh) => (
            format!("案件已结案，请评价（{no}）"),
            format!(
                "您反映的{cat}问题（{no}）已结案，感谢您的监督。请在应用中对处置结果进行评价；\
                 如不满意，可在结案后申请重新办理。"
            ),
        ),
        (Template::CaseClosed, Locale::En) => (
            format!("Case {no} is closed: please rate it"),
            format!(
                "Your report {no} ({cat}) is closed. Thank you for reporting it. Please rate the \
                 result in the app; if you are not satisfied, you can reopen it."
            ),
        ),
        (Template::CaseReportedInCompound, Locale::Zh) => (
            format!("小区内有新的问题反映（{no}）"),
            format!("您服务的小区有新的{cat}问题反映，编号{no}。"),
        ),
        (Template::CaseReportedInCompound, Locale::En) => (
            format!("New report {no} in your compound"),
            format!("A new report ({cat}) was made in your compound: {no}."),
        ),
        (Template::CaseClosedInCompound, Locale::Zh) => (
            format!("小区内案件已结案（{no}）"),
            format!("您服务的小区内案件{no}（{cat}）已结案。"),
        ),
        (Template::CaseClosedInCompound, Locale::En) => (
            format!("Case {no} in your compound is closed"),
            format!("Case {no} ({cat}) in your compound is closed."),
        ),
        (Template::Assignment, Locale::Zh) => (
            format!("新派遣案件（{no}）"),
            format!("案件{no}（{cat}）已派遣给您，请于{due}前签收。"),
        ),
        (Template::Assignment, Locale::En) => (
            format!("Case {no} is dispatched to you"),
            format!("Case {no} ({cat}) is dispatched to you; sign for it by {due}."),
        ),
        (Template::Rework, Locale::Zh) => (
            format!("案件核查未通过，请返工（{no}）"),
            format!("案件{no}核查未通过，请于{due}前重新处置。"),
        ),
        (Template::Rework, Locale::En) => (
            format!("Case {no} failed verification"),
            format!("Case {no} failed verification; handle it again by {due}."),
        ),
        (Template::CaseReturned, Locale::Zh) => (
            format!("案件被退回（{no}）"),
            format!("案件{no}（{cat}）被处置人员退回，请重新派遣，期限{due}。"),
        ),
        (Template::CaseReturned, Locale::En) => (
            format!("Case {no} was returned"),
            format!("Case {no} ({cat}) was returned by the officer; dispatch it again by {due}."),
        ),
        (Template::CaseReopened, Locale::Zh) => (
            format!("案件被重新打开（{no}）"),
            format!("反映人对案件{no}的处置结果不满意，已重新打开，请重新派遣，期限{due}。"),
        ),
        (Template::CaseReopened, Locale::En) => (
            format!("Case {no} was reopened"),
            format!("The reporter reopened case {no}; dispatch it again by {due}."),
        ),
        (Template::CaseEscalated, Locale::Zh) => (
            format!("案件上报待您处理（{no}）"),
            format!("案件{no}（{cat}）已上报，请及时协调处理。"),
        ),
        (Template::CaseEscalated, Locale::En) => (
            format!("Case {no} was escalated to you"),
            format!("Case {no} ({cat}) was escalated; please step in."),
        ),
        (Template::SlaWarning, Locale::Zh) => (
            format!("预警：案件即将超时（{no}）"),
            format!("案件{no}的{stage}环节将于{due}到期，请抓紧办理。"),
        ),
        (Template::SlaWarning, Locale::En) => (
            format!("Due soon: case {no}"),
            format!("The {stage} of case {no} is due at {due}."),
        ),
        (Template::SlaOverdue, Locale::Zh) => (
            format!("超时：案件已超期（{no}）"),
            format!("案件{no}的{stage}环节已于{due}超时，请立即办理。"),
        ),
        (Template::SlaOverdue, Locale::En) => (
            format!("Overdue: case {no}"),
            format!("The {stage} of case {no} was due at {due} and is overdue."),
        ),
        (Template::SlaEscalation, Locale::Zh) => (
            format!("督办：案件严重超时（{no}）"),
            format!("案件{no}的{stage}环节已于{due}超时且仍未办理，请督办。"),
        ),
        (Template::SlaEscalation, Locale::En) => (
            format!("Supervise: case {no} is long overdue"),
            format!("The {stage} of case {no} was due at {due} and is still open; please step in."),
        ),
        (Template::PledgeExpiring, Locale::Zh) => (
            format!("门前四包责任书即将到期：{merchant}"),
            format!("{merchant}的门前四包责任书将于{until}到期，请及时上门续签。"),
        ),
        (Template::PledgeExpiring, Locale::En) => (
            format!("Pledge expiring: {merchant}"),
            format!("The four-responsibility pledge of {merchant} runs out on {until}; renew it."),
        ),
        (Template::RegistrationCode, Locale::Zh) => (
            "注册验证码".to_owned(),
            format!(
                "您的注册验证码为{code}，{minutes}分钟内有效。请勿告诉他人；如非本人操作，请忽略本短信。"
            ),
        ),
        (Template::RegistrationCode, Locale::En) => (
            "Your registration code".to_owned(),
            format!(
                "Your registration code is {code}; it works for {minutes} minutes. Do not share \
                 it. If you did not ask for it, ignore this message."
            ),
        ),
        (Template::RegistrationAttempt, Locale::Zh) => (
            "注册提醒".to_owned(),
            format!(
                "有人尝试用您的手机号注册账号。该号码已有账号，未作任何更改：您可直接用手机号登录；\
                 如忘记密码，请致电{hotline}。如非本人操作，请忽略本短信。"
            ),
        ),
        (Template::RegistrationAttempt, Locale::En) => (
            "Registration attempt".to_owned(),
            format!(
                "Someone tried to register an account with your phone number. It has an account \
                 already and nothing was changed: log in with your phone number, or call \
                 {hotline} if you forgot your password. If this was not you, ignore this message."
            ),
        ),
    };
    Rendered { title, body }
}

/// When reminders fire, as fractions of a stage's window (start → deadline).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaThresholds {
    warn: f64,
    escalate: f64,
}

/// What the sweep does with one case's running deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPlan {
    /// The reminder to send now, if any.
    pub send: Option<SlaLevel>,
    /// The highest level sent for this stage after this step.
    pub level: Option<SlaLevel>,
    /// When to look again; `None` once escalated (nothing more to send).
    pub next_check: Option<DateTime<Utc>>,
}

impl SlaThresholds {
    /// `warn` in (0, 1), `escalate` > 1: e.g. 0.75 and 1.5 warn at three quarters of the window
    /// and escalate when it has run half again past its deadline.
    pub fn new(warn: f64, escalate: f64) -> Result<Self, ValueError> {
        if !(warn > 0.0 && warn < 1.0) {
            return Err(ValueError::new("warn_fraction", "must be between 0 and 1"));
        }
        if !(escalate > 1.0 && escalate <= 100.0) {
            return Err(ValueError::new(
                "escalate_fraction",
                "must be more than 1 (past the deadline)",
            ));
        }
        Ok(Self { warn, escalate })
    }

    fn at(started: DateTime<Utc>, due: DateTime<Utc>, fraction: f64) -> DateTime<Utc> {
        let window = (due - started).num_milliseconds().max(0) as f64;
        started + chrono::Duration::milliseconds((window * fraction).round() as i64)
    }

    /// The thresholds of a window: warning, deadline, escalation.
    pub fn thresholds(
        &self,
        started: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> [(SlaLevel, DateTime<Utc>); 3] {
        let escalate = if due > started {
            Self::at(started, due, self.escalate)
        } else {
            // A window of nothing (bad data): escalate an hour after the deadline.
            due + chrono::Duration::hours(1)
        };
        [
            (SlaLevel::Warning, Self::at(started, due, self.warn)),
            (SlaLevel::Overdue, due),
            (SlaLevel::Escalation, escalate),
        ]
    }

    /// One step of the sweep for a deadline at `now`, knowing what was already sent. When the
    /// sweep was away past several thresholds, only the highest is sent: a warning about
    /// something already overdue says nothing new.
    pub fn plan(
        &self,
        started: DateTime<Utc>,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        sent: Option<SlaLevel>,
    ) -> SlaPlan {
        let thresholds = self.thresholds(started, due);
        let reached = thresholds
            .iter()
            .filter(|(_, at)| *at <= now)
            .map(|(l, _)| *l)
            .max();
        let send = reached.filter(|r| sent.is_none_or(|s| *r > s));
        let level = reached.max(sent);
        let next_check = thresholds
            .iter()
            .find(|(l, _)| level.is_none_or(|done| *l > done))
            .map(|(_, at)| *at);
        SlaPlan {
            send,
            level,
            next_check,
        }
    }
}

/// Hours in which residents get no SMS or e-mail (the inbox still fills).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: NaiveTime,
    end: NaiveTime,
}

impl QuietHours {
    /// `22:00-07:00` (may wrap midnight) or `off`.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || ValueError::new("quiet_hours", "must be HH:MM-HH:MM or off");
        let (a, b) = raw.split_once('-').ok_or_else(bad)?;
        let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (t(a)?, t(b)?);
        if start == end {
            return Err(bad());
        }
        Ok(Some(Self { start, end }))
    }

    fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When a message held at local time `local` may go: `None` if it may go now, else the
    /// next end of the quiet hours.
    pub fn release(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        if !self.contains(local.time()) {
            return None;
        }
        let today_end = local.date().and_time(self.end);
        Some(if today_end > local {
            today_end
        } else {
            today_end + chrono::Duration::days(1)
        })
    }

    /// Quiet hours hold SMS and e-mail to residents and anonymous reporters, nothing else.
    pub fn applies(kind: RecipientKind, channel: Channel) -> bool {
        kind != RecipientKind::Staff && matches!(channel, Channel::Sms | Channel::Email)
    }
}

/// The wait before retry number `attempt` (1 = after the first failure): doubling from `base`
/// up to `max`, then spread by `jitter` in [0, 1) over the upper half, so that notifications
/// failing together do not come back together.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = jitter.clamp(0.0, 1.0);
    capped.mul_f64(0.5 + 0.5 * jitter)
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
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;

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
