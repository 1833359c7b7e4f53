//! The notifier's Prometheus metrics, per process, in the text exposition format.
//!
//! Kept in plain atomics owned by each [`crate::Notifier`] (no global registry), so several
//! notifiers in one test process count separately.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use whistle_domain::notice::Channel;

#[derive(Debug, Default)]
pub struct Metrics {
    sent: [AtomicU64; 4],
    failed: [AtomicU64; 4],
    dead: [AtomicU64; 4],
    moot: AtomicU64,
    created: AtomicU64,
    queue_depth: AtomicI64,
    events_waiting: AtomicI64,
    sweeps: AtomicU64,
    sweep_errors: AtomicU64,
    /// Seconds of the last sweep, and their sum (for the average).
    sweep_last: Mutex<f64>,
    sweep_sum: Mutex<f64>,
}

fn slot(c: Channel) -> usize {
    match c {
        Channel::Inbox => 0,
        Channel::Email => 1,
        Channel::Sms => 2,
        Channel::Webhook => 3,
    }
}

impl Metrics {
    pub fn sent(&self, c: Channel) {
        self.sent[slot(c)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, c: Channel) {
        self.failed[slot(c)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn dead(&self, c: Channel) {
        self.dead[slot(c)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn moot(&self) {
        self.moot.fetch_add(1, Ordering::Relaxed);
    }

    pub fn created(&self, n: u64) {
        self.created.fetch_add(n, Ordering::Relaxed);
    }

    pub fn depth(&self, queue: i64, events: i64) {
        self.queue_depth.store(queue, Ordering::Relaxed);
        self.events_waiting.store(events, Ordering::Relaxed);
    }

    pub fn sweep(&self, secs: f64) {
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        *self.sweep_last.lock().expect("metrics lock") = secs;
        *self.sweep_sum.lock().expect("metrics lock") += secs;
    }

    pub fn sweep_error(&self) {
        self.sweep_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Notifications this process delivered on a channel.
    pub fn sent_count(&self, c: Channel) -> u64 {
        self.sent[slot(c)].load(Ordering::Relaxed)
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let per_channel = |out: &mut String, name: &str, help: &str, values: &[AtomicU64; 4]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for c in Channel::ALL {
                let _ = writeln!(
                    out,
                    "{name}{{channel=\"{}\"}} {}",
                    c.as_str(),
                    values[slot(c)].load(Ordering::Relaxed)
                );
            }
        };
        per_channel(
            &mut out,
            "whistle_notifier_sent_total",
            "Notifications delivered.",
            &self.sent,
        );
        per_channel(
            &mut out,
            "whistle_notifier_failed_total",
            "Delivery attempts that failed (retried or given up).",
            &self.failed,
        );
        per_channel(
            &mut out,
            "whistle_notifier_dead_total",
            "Notifications given up after their last attempt or a permanent error.",
            &self.dead,
        );
        let scalar = |out: &mut String, name: &str, kind: &str, help: &str, v: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {v}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        scalar(
            &mut out,
            "whistle_notifier_moot_total",
            "counter",
            "Reminders dropped because their stage ended first.",
            load(&self.moot),
        );
        scalar(
            &mut out,
            "whistle_notifier_created_total",
            "counter",
            "Notifications written to the outbox by this process.",
            load(&self.created),
        );
        scalar(
            &mut out,
            "whistle_notifier_queue_depth",
            "gauge",
            "Notifications pending or being sent.",
            self.queue_depth.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "whistle_notifier_events_waiting",
            "gauge",
            "Case events not yet turned into notifications.",
            self.events_waiting.load(Ordering::Relaxed).to_string(),
        );
        let last = *self.sweep_last.lock().expect("metrics lock");
        let sum = *self.sweep_sum.lock().expect("metrics lock");
        scalar(
            &mut out,
            "whistle_notifier_sweep_duration_seconds_last",
            "gauge",
            "Duration of the last sweep (events, deadlines, pledges).",
            format!("{last:.6}"),
        );
        let _ = writeln!(
            out,
            "# HELP whistle_notifier_sweep_duration_seconds Duration of sweeps."
        );
        let _ = writeln!(
            out,
            "# TYPE whistle_notifier_sweep_duration_seconds summary"
        );
        let _ = writeln!(out, "whistle_notifier_sweep_duration_seconds_sum {sum:.6}");
        let _ = writeln!(
            out,
            "whistle_notifier_sweep_duration_seconds_count {}",
            self.sweeps.load(Ordering::Relaxed)
        );
        scalar(
            &mut out,
            "whistle_notifier_sweep_errors_total",
            "counter",
            "Sweeps or deliveries that stopped on an error (the database, mostly).",
            load(&self.sweep_errors),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_per_channel() {
        let m = Metrics::default();
        m.sent(Channel::Sms);
        m.sent(Channel::Sms);
        m.dead(Channel::Email);
        m.sweep(0.25);
        let text = m.render();
        assert!(text.contains("whistle_notifier_sent_total{channel=\"sms\"} 2"));
        assert!(text.contains("whistle_notifier_dead_total{channel=\"email\"} 1"));
        assert!(text.contains("whistle_notifier_sweep_duration_seconds_count 1"));
        assert!(text.contains("# TYPE whistle_notifier_queue_depth gauge"));
    }
}
