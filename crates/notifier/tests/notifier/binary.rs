//! The notifier binary: connects without migrating, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use whistle_migration::{Migrator, MigratorTrait};
use whistle_persistence::testing::TestDatabase;
use whistle_persistence::{DbSettings, connect};

const BIN: &str = env!("CARGO_BIN_EXE_whistle-notifier");

#[tokio::test]
async fn connects_without_migrating_and_stops_on_sigterm() {
    let db = TestDatabase::create().await;
    let mut child = Command::new(BIN)
        .env("DATABASE_URL", db.url())
        .env("WHISTLE_CONFIG", "/nonexistent/whistle.toml")
        .env("RUST_LOG", "info")
        .env("WHISTLE__LOG__FORMAT", "json")
        .env("WHISTLE__NOTIFIER__METRICS_ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Keep draining stderr after "ready" so the notifier never writes into a closed pipe.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("notifier ready")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .expect("the notifier said it is ready in time")
        .expect("the notifier said it is ready");

    let conn = connect(&DbSettings {
        url: db.url().to_owned(),
        max_connections: Some(1),
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(&conn).await.unwrap().len(),
        Migrator::migrations().len(),
        "the notifier never migrates"
    );

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn an_unreachable_database_is_a_clear_failure() {
    let out = Command::new(BIN)
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("WHISTLE_CONFIG", "/nonexistent/whistle.toml")
        .env("WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connecting to the database"), "{stderr}");
}

#[test]
fn bad_configuration_exits_2() {
    let out = Command::new(BIN)
        .env("WHISTLE_CONFIG", "/nonexistent/whistle.toml")
        .env("WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
