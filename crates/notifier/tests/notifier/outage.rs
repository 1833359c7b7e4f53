//! The database goes away in the middle of the work: the notifier logs, waits, and resumes,
//! and every notification reaches the receiver once.
//!
//! The outage is real: the notifier talks to PostgreSQL through a TCP relay on loopback that
//! the test cuts and restores. An embedded SQLite file has no server to lose, so this test
//! needs PostgreSQL; `.ci/run` runs it in its PostgreSQL pass with `--include-ignored`.

use std::collections::HashSet;
use std::time::Duration;

use whistle_persistence::repo::notifications as outbox_repo;
use whistle_persistence::testing::Relay;

use crate::helpers::{TestApp, notifier, notifier_settings, outbox, webhook_rows};
use crate::receivers::Receivers;

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

    let rows = webhook_rows("outage", 300);
    outbox_repo::insert_new(&app.db, &rows).await.unwrap();

    let relay = Relay::start(app.test_db.url()).await;
    let settings = notifier_settings(
        &relay.url_for(app.test_db.url()),
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
