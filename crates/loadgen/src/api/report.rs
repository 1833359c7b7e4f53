//! The table and the JSON a run leaves.

use anyhow::Context;
use serde_json::json;

use super::drive::{ProcSample, Stats};
use super::{Args, Row};

pub(super) fn report(
    args: &Args,
    rows: &[Row],
    seed_secs: f64,
    end: ProcSample,
) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = String::new();
    md.push_str("## whistle-bench api\n\n");
    md.push_str(&format!(
        "{} cases (seeded in {seed_secs:.1} s), {} clients, {} s per scenario, {cpus} CPUs; \
         PostgreSQL; whistle-api peak RSS {:.1} MB\n\n",
        args.cases,
        args.concurrency,
        args.duration,
        end.peak_rss_kb as f64 / 1024.0
    ));
    md.push_str(
        "| scenario | API µs/op | PG µs/op | Whistle /s | p50 ms | p95 ms | p99 ms | raw /s | raw p50 \
         | raw p95 | raw p99 | Whistle ÷ raw | API CPU (cores) | PG CPU (cores) | API RSS MB \
         | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let f = |s: &Option<Stats>, g: &dyn Fn(&Stats) -> String| s.as_ref().map_or("–".into(), g);
    for r in rows {
        let ratio = match (&r.api, &r.raw) {
            (Some(a), Some(b)) if b.per_sec() > 0.0 => format!("{:.2}", a.per_sec() / b.per_sec()),
            _ => "–".into(),
        };
        let errors =
            r.api.as_ref().map_or(0, |s| s.errors) + r.raw.as_ref().map_or(0, |s| s.errors);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {ratio} | {} | {} | {} \
             | {errors} |\n",
            r.scenario,
            r.micros_per_op(r.api_cpu)
                .map_or("–".into(), |u| format!("{u:.0}")),
            r.micros_per_op(r.pg_cpu)
                .map_or("–".into(), |u| format!("{u:.0}")),
            f(&r.api, &|s| format!("{:.0}", s.per_sec())),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.5))),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.95))),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.99))),
            f(&r.raw, &|s| format!("{:.0}", s.per_sec())),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.5))),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.95))),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.99))),
            r.api_cpu.map_or("–".into(), |c| format!("{c:.2}")),
            r.pg_cpu.map_or("–".into(), |c| format!("{c:.2}")),
            r.api_rss_mb.map_or("–".into(), |m| format!("{m:.0}")),
        ));
    }
    println!("{md}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.out {
        let json = json!({
            "cases": args.cases,
            "concurrency": args.concurrency,
            "duration_secs": args.duration,
            "seed_secs": seed_secs,
            "cpus": cpus,
            "api_peak_rss_mb": end.peak_rss_kb as f64 / 1024.0,
            "api_cpu_secs_total": end.cpu_secs,
            "scenarios": rows.iter().map(|r| json!({
                "scenario": r.scenario,
                "whistle": r.api.as_ref().map(Stats::json),
                "raw": r.raw.as_ref().map(Stats::json),
                "ratio": match (&r.api, &r.raw) {
                    (Some(a), Some(b)) if b.per_sec() > 0.0 => Some(a.per_sec() / b.per_sec()),
                    _ => None,
                },
                "api_cpu_cores": r.api_cpu,
                "postgres_cpu_cores": r.pg_cpu,
                "api_cpu_micros_per_op": r.micros_per_op(r.api_cpu),
                "postgres_cpu_micros_per_op": r.micros_per_op(r.pg_cpu),
                "api_rss_mb": r.api_rss_mb,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
