//! Connecting to the database and bringing its schema up to date.

use std::fmt;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use whistle_migration::{Migrator, MigratorTrait};

use crate::nodelay;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn of(db: &DatabaseConnection) -> Backend {
        match db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// How to reach the database.
#[derive(Clone)]
pub struct DbSettings {
    /// `sqlite://path/to/file.db` or `postgres://user:password@host:port/db`.
    pub url: String,
    /// Upper bound of the pool. `None` picks per backend: 16 for PostgreSQL, 4 for SQLite (one
    /// writer at a time either way; more readers do not help on two cores).
    pub max_connections: Option<u32>,
    /// How long a request waits for a pooled connection before failing (and `/readyz` with it).
    pub acquire_timeout: Duration,
    /// PostgreSQL only: the server cancels a statement of this pool's connections that runs
    /// longer (`statement_timeout`). `None` leaves the server's setting; migrations need that.
    pub statement_timeout: Option<Duration>,
}

/// The URL may carry a password: show only scheme and host.
impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable database url>".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database url (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("cannot create the directory for the SQLite file {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: DbErr },
}

/// A pooled connection idle this long is pinged before it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Opens a pool. A SQLite file (and its directory) is created if missing, in WAL mode with
/// foreign keys on; PostgreSQL must exist already.
pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection, ConnectError> {
    let backend = Backend::of_url(&settings.url)
        .ok_or_else(|| ConnectError::UnsupportedUrl(redact_url(&settings.url)))?;
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(&settings.url)?;
    }
    let mut options = ConnectOptions::new(settings.url.clone());
    let max = settings.max_connections.unwrap_or(match backend {
        Backend::Postgres => 16,
        Backend::Sqlite => 4,
    });
    options
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout)
        // A pooled connection that sat idle may belong to a server that restarted meanwhile;
        // checking it first is what lets the process recover by itself after an outage. sqlx
        // already pings every connection as it goes back to the pool, so one used moments ago
        // is known good: only those idle for a second or more are pinged again before use.
        // (Pinging on every acquire cost a round trip per statement: whistle-bench api.)
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .idle_timeout(Duration::from_secs(300))
        // sqlx logs every statement at INFO; keep only the slow ones.
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts: SqliteConnectOptions| {
            opts.create_if_missing(true)
                // WAL lets readers proceed while one writer commits; NORMAL sync is durable
                // across application crashes and loses at most the last commits on power loss.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    if let Some(port) = tcp_port(&settings.url) {
        // sqlx 0.9.0 leaves Nagle's algorithm on; see `nodelay`.
        options.map_sqlx_postgres_pool_opts(move |pool| {
            pool.after_connect(move |_connection, _metadata| {
                Box::pin(async move {
                    nodelay::on_new_connection(port);
                    Ok(())
                })
            })
        });
    }
    if let Some(limit) = settings.statement_timeout {
        let millis = limit.as_millis().max(1).to_string();
        options.map_sqlx_postgres_opts(move |opts: PgConnectOptions| {
            opts.options([("statement_timeout", millis.as_str())])
        });
    }
    Database::connect(options)
        .await
        .map_err(|source| ConnectError::Connect {
            url: redact_url(&settings.url),
            source,
        })
}

/// The server's port when a PostgreSQL URL reaches it over TCP (not through a Unix socket).
fn tcp_port(url: &str) -> Option<u16> {
    if Backend::of_url(url) != Some(Backend::Postgres) {
        return None;
    }
    let options: PgConnectOptions = url.parse().ok()?;
    let through_socket = options.get_socket().is_some() || options.get_host().starts_with('/');
    (!through_socket).then(|| options.get_port())
}

fn ensure_sqlite_dir(url: &str) -> Result<(), ConnectError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// Applies every pending migration. Safe to call on every start: applied ones are skipped.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://whistle:hunter2@db.example:5432/whistle"),
            "postgres://whistle:***@db.example:5432/whistle"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        let s = DbSettings {
            url: "postgres://u:topsecret@h/d".into(),
            max_connections: None,
            acquire_timeout: Duration::from_secs(1),
            statement_timeout: None,
        };
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://h/d"), None);
    }
}
