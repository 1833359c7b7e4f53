//! When a notice may go out: residents' quiet hours, and the backoff between retries.

use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime};

use super::{Channel, RecipientKind};
use crate::ValueError;

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
