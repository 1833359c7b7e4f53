//! A database that goes away and comes back: `/readyz` says 503 meanwhile, the process keeps
//! running, and it recovers on its own.
//!
//! The outage is real: the server talks to PostgreSQL through a TCP relay on loopback that the
//! test cuts and restores. An embedded SQLite file has no server to lose, so this test needs
//! PostgreSQL; `.ci/run` runs it in its PostgreSQL pass with `--include-ignored`.

use std::time::Duration;

use whistle_api::App;
use whistle_persistence::testing::{Relay, TestDatabase};

use crate::helpers::{assert_problem, settings_for};

#[tokio::test]
#[ignore = "needs PostgreSQL (WHISTLE_TEST_DATABASE_URL); .ci/run runs it with --include-ignored"]
async fn readyz_reports_a_database_outage_and_recovers() {
    let db = TestDatabase::create().await;
    let (Some(_), Some(name)) = (db.admin_url(), db.name()) else {
        panic!("this test needs WHISTLE_TEST_DATABASE_URL pointing at PostgreSQL");
    };
    let relay = Relay::start(db.url()).await;
    let through_relay = relay.url_for(db.url());
    assert!(through_relay.ends_with(name));

    let settings = settings_for(
        &through_relay,
        &[("WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS", "1")],
    );
    let app = App::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let ready = |c: &reqwest::Client| {
        let c = c.clone();
        let url = format!("{base}/readyz");
        async move { c.get(url).send().await.unwrap() }
    };

    assert_eq!(ready(&client).await.status(), 200);
    let communities = || {
        let c = client.clone();
        let url = format!("{base}/api/v1/communities");
        async move { c.get(url).send().await.unwrap() }
    };
    // A connection used a moment ago goes back to the pool and is handed out again without a
    // ping; the outage must still be a clean 503 when a statement on it is what finds out.
    assert_eq!(communities().await.status(), 200);

    relay.down();
    assert_problem(communities().await, 503, "database_unavailable").await;
    let res = ready(&client).await;
    assert_problem(res, 503, "database_unavailable").await;
    // Still serving what does not need the database.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A database-backed endpoint fails cleanly too, without a 500.
    assert_problem(communities().await, 503, "database_unavailable").await;

    relay.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if ready(&client).await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "/readyz did not recover after the database came back"
    );
    assert_eq!(communities().await.status(), 200);
}
