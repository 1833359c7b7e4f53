//! Driving a scenario: `--concurrency` tasks for `--duration`, the latency histogram, and the
//! CPU and memory of the server and of PostgreSQL read from `/proc`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

// ---- measuring -------------------------------------------------------------------------------

/// One unit of work: `Ok(true)` done, `Ok(false)` nothing left to do (the worker stops).
pub(super) type Op = Arc<
    dyn Fn(usize, u64) -> Pin<Box<dyn Future<Output = anyhow::Result<bool>> + Send>> + Send + Sync,
>;

pub(super) fn op<F, Fut>(f: F) -> Op
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
{
    Arc::new(move |w, i| Box::pin(f(w, i)))
}

#[derive(Debug)]
pub(super) struct Stats {
    pub(super) ok: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    pub(super) secs: f64,
    pub(super) hist: Histogram<u64>,
}

impl Stats {
    pub(super) fn per_sec(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }
    pub(super) fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
    pub(super) fn json(&self) -> serde_json::Value {
        json!({
            "ok": self.ok, "errors": self.errors, "first_error": self.first_error,
            "secs": self.secs, "per_sec": self.per_sec(),
            "p50_ms": self.ms(0.50), "p95_ms": self.ms(0.95), "p99_ms": self.ms(0.99),
            "max_ms": self.hist.max() as f64 / 1000.0,
        })
    }
}

pub(super) fn histogram() -> Histogram<u64> {
    // Microseconds, from 1 µs to 60 s, three significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs `op` from `concurrency` workers until `duration` has passed (or the work runs out).
pub(super) async fn drive(concurrency: usize, duration: Duration, op: Op) -> Stats {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut hist = histogram();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match op(w, i).await {
                    Ok(true) => {
                        ok += 1;
                        let us = t.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        hist.saturating_record(us);
                    }
                    Ok(false) => break,
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                i += 1;
            }
            (hist, ok, errors, first_error)
        }));
    }
    let mut stats = Stats {
        ok: 0,
        errors: 0,
        first_error: None,
        secs: 0.0,
        hist: histogram(),
    };
    for w in workers {
        match w.await {
            Ok((h, ok, errors, first)) => {
                stats.hist.add(&h).expect("same bounds");
                stats.ok += ok;
                stats.errors += errors;
                if stats.first_error.is_none() {
                    stats.first_error = first;
                }
            }
            Err(e) => {
                stats.errors += 1;
                stats.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    stats.secs = start.elapsed().as_secs_f64();
    stats
}

/// A child process's CPU time (user + system) and memory, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ProcSample {
    pub(super) cpu_secs: f64,
    /// All PostgreSQL processes together (`postgres_cpu_secs`).
    pub(super) pg_cpu_secs: f64,
    pub(super) rss_kb: u64,
    pub(super) peak_rss_kb: u64,
}

pub(super) fn sample(pid: u32) -> ProcSample {
    let mut s = ProcSample {
        pg_cpu_secs: postgres_cpu_secs(),
        ..ProcSample::default()
    };
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the command name (which may hold spaces) start at field 3.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name; Linux
            // reports them in USER_HZ, which is 100 on every mainstream architecture.
            s.cpu_secs = (ticks(11) + ticks(12)) / 100.0;
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kb = || {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                s.rss_kb = kb();
            } else if line.starts_with("VmHWM:") {
                s.peak_rss_kb = kb();
            }
        }
    }
    s
}

/// CPU time (user + system) of every PostgreSQL server process on this host, in seconds: the
/// database's share of the two cores during a scenario. Backends that exit in between are lost,
/// but the pools here keep theirs for the whole run.
pub(super) fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| {
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (ticks(11) + ticks(12)) / 100.0
        })
        .sum()
}
