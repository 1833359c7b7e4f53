//! What a notification says: the templates and their words in Chinese and English, written
//! from the facts of a case.

use std::fmt;

use super::{Locale, NoticeKind};
use crate::ValueError;
use crate::calendar::Stage;

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
