//! A fresh database per test, so tests run in parallel and never see each other's rows.
//!
//! Without `WHISTLE_TEST_DATABASE_URL` each test gets a new SQLite file in a temporary directory.
//! With it (e.g. `postgres://postgres@127.0.0.1:5432/postgres`), each test gets a new PostgreSQL
//! database `whistle_test_<random>` created through that server and dropped on `Drop`.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::db::Backend;

/// The environment variable naming the PostgreSQL server tests should use.
pub const TEST_DATABASE_URL_VAR: &str = "WHISTLE_TEST_DATABASE_URL";

#[derive(Debug)]
enum Kind {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

/// A database that exists for the life of this value.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    kind: Kind,
}

impl TestDatabase {
    /// Creates the database (empty, not migrated). Panics with a clear message when PostgreSQL
    /// was asked for and cannot be reached: a test run must not silently fall back to SQLite.
    pub async fn create() -> Self {
        match std::env::var(TEST_DATABASE_URL_VAR) {
            Ok(admin_url) if !admin_url.trim().is_empty() => Self::postgres(admin_url).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}/whistle.db", dir.path().display());
        TestDatabase {
            url,
            kind: Kind::Sqlite { _dir: dir },
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!("whistle_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| {
                panic!("{TEST_DATABASE_URL_VAR} is set but PostgreSQL is unreachable: {e}")
            });
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("a valid PostgreSQL url");
        url.set_path(&format!("/{name}"));
        TestDatabase {
            url: url.to_string(),
            kind: Kind::Postgres { admin_url, name },
        }
    }

    /// A new database with every migration applied, and a pool of four connections to it.
    pub async fn migrated() -> (Self, DatabaseConnection) {
        let test_db = Self::create().await;
        let db = crate::connect(&crate::DbSettings {
            url: test_db.url().to_owned(),
            max_connections: Some(4),
            acquire_timeout: std::time::Duration::from_secs(5),
            statement_timeout: None,
        })
        .await
        .expect("connect");
        crate::migrate(&db).await.expect("migrate");
        (test_db, db)
    }

    /// The URL to give to `connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite { .. } => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }

    /// PostgreSQL only: the server URL with administrative rights over this database.
    pub fn admin_url(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { admin_url, .. } => Some(admin_url),
            Kind::Sqlite { .. } => None,
        }
    }

    /// PostgreSQL only: the database's name.
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { name, .. } => Some(name),
            Kind::Sqlite { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::Postgres { admin_url, name } = &self.kind else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // small runtime does the async work. WITH (FORCE) ends connections a pool still holds.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_raw(Statement::from_string(
                            admin.get_database_backend(),
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// A TCP relay on loopback in front of a database server, for tests of outages: while it is up
/// it forwards connections to `target`; [`Relay::down`] drops every live connection and refuses
/// new ones until [`Relay::restore`]; [`Relay::black_hole`] keeps every connection open and
/// accepts new ones, but nothing flows any more (a path that swallows packets).
#[derive(Debug)]
pub struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: std::sync::Arc<tokio::sync::Notify>,
    hole: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stall: std::sync::Arc<tokio::sync::Notify>,
}

impl Relay {
    /// Relays to the server of `database_url` (`host:port`).
    pub async fn start(database_url: &str) -> Relay {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::net::{TcpListener, TcpStream};
        let parsed = url::Url::parse(database_url).expect("a database url with a host");
        let target = format!(
            "{}:{}",
            parsed.host_str().expect("a host"),
            parsed.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let hole = Arc::new(AtomicBool::new(false));
        let stall = Arc::new(tokio::sync::Notify::new());
        let (up2, cut2, hole2, stall2) = (up.clone(), cut.clone(), hole.clone(), stall.clone());
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
                let stall = stall2.clone();
                if hole2.load(Ordering::SeqCst) {
                    // Held open, never answered, until the relay is cut.
                    tokio::spawn(async move {
                        cut.notified().await;
                        drop(inbound);
                    });
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.notified() => {}
                        () = stall.notified() => {
                            // Both sockets stay open; nothing is copied any more.
                            cut.notified().await;
                        }
                    }
                });
            }
        });
        Relay {
            port,
            up,
            cut,
            hole,
            stall,
        }
    }

    /// `database_url` pointed at the relay instead of the server.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a database url");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.port)).expect("a port");
        url.to_string()
    }

    pub fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.hole.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    /// Connections stay open and new ones are accepted, but no byte goes through any more.
    pub fn black_hole(&self) {
        self.hole.store(true, std::sync::atomic::Ordering::SeqCst);
        self.stall.notify_waiters();
    }

    /// Back to forwarding. Connections held in a black hole are dropped first, as the TCP
    /// timeouts of a real network would drop them in the end.
    pub fn restore(&self) {
        self.hole.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.notify_waiters();
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
