//! The database goes away in the middle of the work: the notifier logs, waits, and resumes,
//! and every notification reaches the receiver once.
//!
//! The outage is real: the notifier talks to PostgreSQL through a TCP relay on loopback that
//! the test cuts and restores. An embedded SQLite file has no server to lose, so this test
//! needs PostgreSQL; `.ci/run` runs it in its PostgreSQL pass with `--include-ignored`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use whistle_domain::notice::{Channel, Locale, Template};
use whistle_persistence::repo::notifications::{self as outbox_repo, NewNotification};

use crate::helpers::{TestApp, notifier, notifier_settings, outbox};
use crate::receivers::Receivers;

/// Relays loopback connections to `target` while up; `down()` drops every live connection.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Relay { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL (WHISTLE_TEST_DATABASE_URL); .ci/run runs it with --include-ignored"]
async fn a_database_outage_mid_work_loses_nothing_and_writes_nothing_twice() {
    let app = TestApp::spawn().await;
    assert!(
        app.test_db.admin_url().is_some(),
        "this test needs WHISTLE_TEST_DATABASE_URL pointing at PostgreSQL"
    );
    let rx = Receivers::start().await;
    // The demo city's own notices first, directly.
    let direct = notifier(notifier_settings(app.test_db.url(), &rx, &[])).await;
    direct.drain().await.unwrap();
    let before: HashSet<i64> = rx.hooks().iter().map(|h| h.id).collect();
    // Rows of the demo city's notices that are not webhooks (inbox, SMS…).
    let direct_rows = outbox(&app.db).await.len() - before.len();

    let rows: Vec<NewNotification> = (0..300)
        .map(|i| NewNotification {
            dedupe_key: format!("outage-{i}"),
            template: Template::CaseClosed,
            case_id: None,
            user_id: None,
            channel: Channel::Webhook,
            address: Some("command-centre".to_owned()),
            locale: Locale::Zh,
            title: format!("通知 {i}"),
            body: "正文".to_owned(),
            payload: json!({"n": i}),
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
        })
        .collect();
    outbox_repo::insert_new(&app.db, &rows).await.unwrap();

    let mut url = url::Url::parse(app.test_db.url()).unwrap();
    let relay = Relay::start(format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port().unwrap_or(5432)
    ))
    .await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let settings = notifier_settings(
        url.as_str(),
        &rx,
        &[
            ("WHISTLE__NOTIFIER__BATCH_SIZE", "10"),
            ("WHISTLE__NOTIFIER__CONCURRENCY", "2"),
            ("WHISTLE__NOTIFIER__POLL_INTERVAL_MS", "50"),
            ("WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
        ],
    );
    let n = notifier(settings).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = {
        let n = n.clone();
        tokio::spawn(async move {
            n.run_until(async move {
                let _ = stopped.await;
            })
            .await
        })
    };
    // Let it get going, then take the database away for a while.
    let new = |rx: &Receivers| rx.hooks().len() - before.len();
    for _ in 0..200 {
        if new(&rx) >= 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(new(&rx) >= 30, "the notifier got going");
    relay.down();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = new(&rx);
    assert!(during < 300, "the outage came before the end");
    relay.restore();
    // Claims interrupted by the outage expire and are taken over; wait until the outbox says
    // everything went.
    let all_sent = || async { outbox(&app.db).await.iter().all(|r| r.3 == "sent") };
    for _ in 0..600 {
        if all_sent().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    runner.await.unwrap();
    {
        let seen = rx.seen.lock().unwrap();
        let ids: HashSet<i64> = seen.hooks.iter().map(|h| h.id).collect();
        assert_eq!(ids.len() - before.len(), 300, "every notification arrived");
        assert_eq!(
            ids.len(),
            seen.hooks.len(),
            "none processed twice by the receiver"
        );
        // A delivery cut off between sending and recording it goes again once its claim
        // expires (at least once); the receiver recognises the id and drops it.
        eprintln!(
            "repeated deliveries dropped by the receiver: {}",
            seen.repeats
        );
    }
    assert!(all_sent().await, "every notification is recorded as sent");
    assert_eq!(
        outbox(&app.db).await.len() - before.len(),
        300 + direct_rows
    );
    assert!(
        n.metrics()
            .render()
            .contains("whistle_notifier_sweep_errors_total "),
        "errors are counted"
    );
}
