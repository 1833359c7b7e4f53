#![doc = include_str!("../README.md")]

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use whistle_persistence::{Backend, DbSettings, connect};

/// The notifier's settings: the database and logging sections of the shared configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub log: LogSettings,
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    url: String,
    pub max_connections: Option<u32>,
    pub acquire_timeout_secs: u64,
}

/// The database URL may hold a password; it is never printed.
impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &whistle_persistence::db::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub filter: String,
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(file, std::env::vars().collect())
    }

    /// Same sources and precedence as the API: defaults → file → `WHISTLE__…` → `DATABASE_URL`.
    pub fn load_from(file: Option<&Path>, env: HashMap<String, String>) -> anyhow::Result<Self> {
        let file: PathBuf = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("WHISTLE_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("whistle.toml"));
        let database_url = env.get("DATABASE_URL").filter(|u| !u.is_empty()).cloned();
        let built = config::Config::builder()
            .set_default("database.url", "sqlite://data/whistle.db")?
            .set_default("database.acquire_timeout_secs", 5)?
            .set_default("log.format", "pretty")?
            .set_default("log.filter", "info,sqlx=warn,sea_orm=warn")?
            .add_source(config::File::from(file).required(false))
            .add_source(
                config::Environment::with_prefix("WHISTLE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env.into_iter().collect())),
            )
            .set_override_option("database.url", database_url)?
            .build()
            .context("reading configuration")?;
        built
            .try_deserialize()
            .context("configuration has invalid values")
    }

    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            url: self.database.url.clone(),
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_secs(self.database.acquire_timeout_secs),
        }
    }
}

pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log.filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.log.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// Connects, then waits for `stop`. The database must exist; the notifier never migrates it.
pub async fn run(settings: Settings, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = connect(&settings.db_settings())
        .await
        .context("connecting to the database")?;
    db.ping().await.context("pinging the database")?;
    tracing::info!(backend = ?Backend::of(&db), "notifier ready; waiting for work");
    stop.await;
    tracing::info!("notifier stopping");
    db.close().await.context("closing the database pool")?;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
