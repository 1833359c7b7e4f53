//! Several notifiers at once, `--once`, and `/metrics`.

use std::collections::HashSet;

use whistle_domain::notice::Channel;
use whistle_persistence::repo::notifications as outbox_repo;

use crate::helpers::{TestApp, notifier, notifier_settings, outbox, webhook_rows};
use crate::receivers::Receivers;

#[tokio::test]
async fn three_notifiers_deliver_a_thousand_notifications_exactly_once() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    // Whatever the demo city queued, out of the way first.
    let warmup = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    warmup.drain().await.unwrap();
    let already = rx.hooks().len();
    let written = outbox_repo::insert_new(&app.db, &webhook_rows("race", 1000))
        .await
        .unwrap();
    assert_eq!(written, 1000);
    // Writing them again (a repeated sweep) writes nothing.
    assert_eq!(
        outbox_repo::insert_new(&app.db, &webhook_rows("race", 1000))
            .await
            .unwrap(),
        0
    );
    let mut notifiers = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let s = notifier_settings(
            app.test_db.url(),
            &rx,
            &[
                ("WHISTLE__NOTIFIER__WORKER_ID", name),
                ("WHISTLE__NOTIFIER__BATCH_SIZE", "50"),
            ],
        );
        notifiers.push(notifier(s).await);
    }
    let (a, b, c) = tokio::join!(
        notifiers[0].drain(),
        notifiers[1].drain(),
        notifiers[2].drain()
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    // Any notifier stopped early while another still held claims: finish with one more pass.
    let d = notifiers[0].drain().await.unwrap();
    assert_eq!(
        a.sent + b.sent + c.sent + d.sent,
        1000,
        "{a:?} {b:?} {c:?} {d:?}"
    );
    {
        let seen = rx.seen.lock().unwrap();
        let ids: HashSet<i64> = seen.hooks.iter().map(|h| h.id).collect();
        assert_eq!(seen.hooks.len() - already, 1000);
        assert_eq!(ids.len(), seen.hooks.len(), "no id twice");
        assert_eq!(seen.repeats, 0, "no delivery repeated");
    }
    let per: Vec<u64> = notifiers
        .iter()
        .map(|n| n.metrics().sent_count(Channel::Webhook))
        .collect();
    assert_eq!(per.iter().sum::<u64>(), 1000, "{per:?}");
    if app.test_db.backend() == whistle_persistence::Backend::Postgres {
        assert!(
            per.iter().filter(|n| **n > 0).count() >= 2,
            "on PostgreSQL the notifiers share the work: {per:?}"
        );
    }
    assert!(outbox(&app.db).await.iter().all(|r| r.3 == "sent"));
}

#[tokio::test]
async fn once_mode_delivers_what_is_due_and_exits() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    outbox_repo::insert_new(&app.db, &webhook_rows("once", 5))
        .await
        .unwrap();
    let config = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[notifier]\nquiet_hours = \"off\"\n[[notifier.webhooks]]\nname = \"command-centre\"\nurl = \"{}\"\nsecret = \"{}\"\n",
            rx.url("/hook/ok"),
            crate::helpers::SECRET
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-notifier"))
        .arg("--once")
        .arg("--config")
        .arg(config.path())
        .env("DATABASE_URL", app.test_db.url())
        .env("WHISTLE__LOG__FORMAT", "json")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["sent"].as_u64().unwrap() >= 5, "{report}");
    assert!(rx.hooks().len() >= 5);
    // A configuration that cannot work is refused before anything is sent.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_whistle-notifier"))
        .arg("--once")
        .env("DATABASE_URL", app.test_db.url())
        .env("WHISTLE__NOTIFIER__WARN_FRACTION", "1.5")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warn_fraction"));
}

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_format() {
    let app = TestApp::spawn().await;
    let rx = Receivers::start().await;
    let n = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    n.drain().await.unwrap();
    let addr = whistle_notifier::serve_metrics("127.0.0.1:0", n.metrics())
        .await
        .unwrap();
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for name in [
        "whistle_notifier_sent_total{channel=\"webhook\"}",
        "whistle_notifier_dead_total",
        "whistle_notifier_queue_depth",
        "whistle_notifier_sweep_duration_seconds_count",
    ] {
        assert!(text.contains(name), "{name} in {text}");
    }
}
