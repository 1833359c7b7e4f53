//! Delivering the outbox: claim what is due, send each over its channel, record the outcome
//! under the claim.
//!
//! At least once: a notifier that dies after sending but before recording leaves its claim to
//! expire, and the notification goes again. Webhooks carry the notification id
//! (`Whistle-Notification-Id`) so receivers drop the repeat; SMS and e-mail cannot, which is
//! why a claim lasts well beyond the longest delivery.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use whistle_domain::notice::{Channel, NoticeKind, QuietHours};
use whistle_persistence::RepoError;
use whistle_persistence::repo::notifications::{self as outbox, Notification};

use crate::Notifier;
use crate::channels::{Deliver, DeliveryError};
use crate::sweep::kind_of;

/// What happened to one claimed notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry,
    Dead,
    /// A reminder whose stage ended before it went.
    Moot,
    /// Held back by quiet hours.
    Deferred,
    /// The claim was lost meanwhile (another notifier took the expired claim over).
    Lost,
}

impl Notifier {
    /// How long a claim holds: long enough for a whole batch at the configured concurrency,
    /// each delivery taking its full timeout, twice over.
    pub(crate) fn claim_duration(&self) -> Duration {
        let n = &self.settings.notifier;
        let rounds = n.batch_size.div_ceil(n.concurrency as u64).max(1);
        Duration::from_secs(n.send_timeout_secs.max(1) * rounds * 2 + 5)
    }

    /// Claims one batch and delivers it. Returns the outcomes.
    pub(crate) async fn deliver_batch(
        self: &Arc<Self>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, RepoError> {
        let until = now
            + chrono::Duration::from_std(self.claim_duration()).unwrap_or(chrono::Duration::MAX);
        let claimed = outbox::claim(
            &self.db,
            &self.worker,
            now,
            until,
            self.settings.notifier.batch_size,
        )
        .await?;
        let mut outcomes = Vec::with_capacity(claimed.len());
        let mut tasks = JoinSet::new();
        let limit = Arc::new(tokio::sync::Semaphore::new(
            self.settings.notifier.concurrency,
        ));
        for n in claimed {
            let me = Arc::clone(self);
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("never closed");
                me.deliver_one(n, now).await
            });
        }
        let mut first_error = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(o)) => outcomes.push(o),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    tracing::error!(error = %join, "a delivery task panicked");
                }
            }
        }
        match first_error {
            // What was delivered is recorded; the rest keeps its claim and comes back when it
            // expires.
            Some(e) if outcomes.is_empty() => Err(e),
            Some(e) => {
                tracing::warn!(error = %e, "some outcomes could not be recorded");
                Ok(outcomes)
            }
            None => Ok(outcomes),
        }
    }

    async fn send(&self, n: &Notification) -> Result<(), DeliveryError> {
        match n.channel {
            Channel::Inbox => self.inbox.deliver(n).await,
            Channel::Webhook => self.webhooks.deliver(n).await,
            Channel::Sms => match &self.sms {
                Some(s) => s.deliver(n).await,
                None => Err(DeliveryError::Permanent(
                    "SMS is not configured (notifier.sms.url)".into(),
                )),
            },
            Channel::Email => match &self.email {
                Some(e) => e.deliver(n).await,
                None => Err(DeliveryError::Permanent(
                    "e-mail is not configured (notifier.smtp.host)".into(),
                )),
            },
        }
    }

    async fn deliver_one(&self, n: Notification, now: DateTime<Utc>) -> Result<Outcome, RepoError> {
        let w = self.worker.as_str();
        if n.kind == NoticeKind::Sla && !self.reminder_is_current(&n).await? {
            let recorded = outbox::mark_moot(
                &self.db,
                n.id,
                w,
                "the stage changed before the reminder went out",
            )
            .await?;
            if recorded {
                self.metrics.moot();
            }
            return Ok(if recorded {
                Outcome::Moot
            } else {
                Outcome::Lost
            });
        }
        let kind = kind_of(&n.payload);
        if QuietHours::applies(kind, n.channel) {
            let release = self.not_before(kind, n.channel, now);
            if release > now {
                let recorded = outbox::defer(&self.db, n.id, w, release).await?;
                return Ok(if recorded {
                    Outcome::Deferred
                } else {
                    Outcome::Lost
                });
            }
        }
        let started = std::time::Instant::now();
        let result = self.send(&n).await;
        let outcome = match result {
            Ok(()) => {
                if outbox::mark_sent(&self.db, n.id, w, self.clock.now()).await? {
                    self.metrics.sent(n.channel);
                    Outcome::Sent
                } else {
                    Outcome::Lost
                }
            }
            Err(DeliveryError::Permanent(e)) => {
                self.metrics.failed(n.channel);
                tracing::warn!(notification_id = n.id, channel = n.channel.as_str(), error = %e, "delivery refused; giving up");
                if outbox::mark_dead(&self.db, n.id, w, &e).await? {
                    self.metrics.dead(n.channel);
                    Outcome::Dead
                } else {
                    Outcome::Lost
                }
            }
            Err(DeliveryError::Transient(e)) => {
                self.metrics.failed(n.channel);
                if n.attempts >= self.settings.notifier.max_attempts {
                    tracing::warn!(notification_id = n.id, channel = n.channel.as_str(), attempts = n.attempts, error = %e, "delivery failed; no attempts left");
                    let why = format!("gave up after {} attempts: {e}", n.attempts);
                    if outbox::mark_dead(&self.db, n.id, w, &why).await? {
                        self.metrics.dead(n.channel);
                        Outcome::Dead
                    } else {
                        Outcome::Lost
                    }
                } else {
                    let wait = whistle_domain::notice::backoff(
                        n.attempts.max(1) as u32,
                        Duration::from_secs(self.settings.notifier.backoff_base_secs),
                        Duration::from_secs(self.settings.notifier.backoff_max_secs),
                        jitter(),
                    );
                    let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    let at = self.not_before(kind, n.channel, at);
                    tracing::info!(notification_id = n.id, channel = n.channel.as_str(), attempts = n.attempts, retry_at = %at, error = %e, "delivery failed; will retry");
                    if outbox::reschedule(&self.db, n.id, w, &e, at).await? {
                        Outcome::Retry
                    } else {
                        Outcome::Lost
                    }
                }
            }
        };
        tracing::debug!(
            notification_id = n.id,
            channel = n.channel.as_str(),
            ?outcome,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "delivery"
        );
        Ok(outcome)
    }

    /// A deadline reminder is current while its case still runs that stage to that deadline.
    async fn reminder_is_current(&self, n: &Notification) -> Result<bool, RepoError> {
        let stage = n.payload["stage"].as_str();
        let due = n.payload["due"]
            .as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
        match (n.case_id, stage, due) {
            (Some(case), Some(stage), Some(due)) => {
                outbox::deadline_is_current(&self.db, case, stage, due.with_timezone(&Utc)).await
            }
            _ => Ok(false),
        }
    }
}

/// A number in [0, 1) from the OS's randomness, to spread retries.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}
