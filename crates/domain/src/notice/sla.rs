//! How urgent a deadline reminder is, and when reminders fire within a stage's window.

use chrono::{DateTime, Utc};

use super::Template;
use crate::ValueError;

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
