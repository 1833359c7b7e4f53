//! A database that goes away and comes back: `/readyz` says 503 meanwhile, the process keeps
//! running, and it recovers on its own.
//!
//! The outage is real: the server talks to PostgreSQL through a TCP relay on loopback that the
//! test cuts and restores. An embedded SQLite file has no server to lose, so this test needs
//! PostgreSQL; `.ci/run` runs it in its PostgreSQL pass with `--include-ignored`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use whistle_api::App;
use whistle_persistence::testing::TestDatabase;

use crate::helpers::{assert_problem, settings_for};

/// Relays loopback connections to `target` while `up`; `cut()` drops every live connection.
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
async fn readyz_reports_a_database_outage_and_recovers() {
    let db = TestDatabase::create().await;
    let (Some(_), Some(name)) = (db.admin_url(), db.name()) else {
        panic!("this test needs WHISTLE_TEST_DATABASE_URL pointing at PostgreSQL");
    };
    let mut direct = url::Url::parse(db.url()).unwrap();
    let target = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    direct.set_host(Some("127.0.0.1")).unwrap();
    direct.set_port(Some(relay.port)).unwrap();
    assert!(direct.path().ends_with(name));

    let settings = settings_for(
        direct.as_str(),
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

    relay.down();
    let res = ready(&client).await;
    assert_problem(res, 503, "database_unavailable").await;
    // Still serving what does not need the database.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A database-backed endpoint fails cleanly too, without a 500.
    let res = client
        .get(format!("{base}/api/v1/communities"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 503, "database_unavailable").await;

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
    let res = client
        .get(format!("{base}/api/v1/communities"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
