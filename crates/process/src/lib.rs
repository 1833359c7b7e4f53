//! What every Whistle process (`whistle-api`, `whistle-notifier`) does when it starts and
//! stops, written once: where its configuration comes from and in which order, how it logs,
//! and when it is asked to stop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// A configuration under construction.
pub type Builder = config::ConfigBuilder<config::builder::DefaultState>;

/// The configuration from its sources, later ones winning: the defaults every process shares
/// (database, logs, the city's offset from UTC), the process's own `defaults`, the file
/// (`file`, else `$WHISTLE_CONFIG`, else `./whistle.toml`; absent is fine), the
/// `WHISTLE__SECTION__KEY` variables of `env`, and `DATABASE_URL` over everything.
///
/// `env` is passed in so that tests never touch the process's variables.
pub fn layered(
    file: Option<&Path>,
    env: HashMap<String, String>,
    defaults: impl FnOnce(Builder) -> Result<Builder, config::ConfigError>,
) -> Result<config::Config, config::ConfigError> {
    let file: PathBuf = file
        .map(Path::to_path_buf)
        .or_else(|| env.get("WHISTLE_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("whistle.toml"));
    let database_url = env.get("DATABASE_URL").filter(|u| !u.is_empty()).cloned();
    let shared = config::Config::builder()
        .set_default("database.url", "sqlite://data/whistle.db")?
        .set_default("database.acquire_timeout_secs", 5)?
        .set_default("log.format", "pretty")?
        .set_default("log.filter", "info,sqlx=warn,sea_orm=warn")?
        .set_default("cases.utc_offset_minutes", 480)?;
    defaults(shared)?
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
}

/// `[log]`: how a process writes its logs.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter; `RUST_LOG` overrides it.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Installs the global log subscriber, writing to stderr; later calls (tests) are no-ops.
pub fn init_logs(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what orchestrators send).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Seen {
        database: Database,
        log: LogSettings,
        cases: Cases,
        own: Own,
    }
    #[derive(Debug, Deserialize)]
    struct Database {
        url: String,
        acquire_timeout_secs: u64,
    }
    #[derive(Debug, Deserialize)]
    struct Cases {
        utc_offset_minutes: i32,
    }
    #[derive(Debug, Deserialize)]
    struct Own {
        knob: u32,
    }

    fn load(file: Option<&Path>, env: &[(&str, &str)]) -> Seen {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        layered(file, env, |b| b.set_default("own.knob", 1))
            .unwrap()
            .try_deserialize()
            .unwrap()
    }

    #[test]
    fn defaults_then_file_then_variables_then_database_url() {
        let none = load(Some(Path::new("/nonexistent/whistle.toml")), &[]);
        assert_eq!(none.database.url, "sqlite://data/whistle.db");
        assert_eq!(none.database.acquire_timeout_secs, 5);
        assert_eq!(none.log.format, LogFormat::Pretty);
        assert_eq!(none.cases.utc_offset_minutes, 480);
        assert_eq!(none.own.knob, 1);

        let dir = std::env::temp_dir().join(format!("whistle-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("w.toml");
        std::fs::write(&file, "[own]\nknob = 2\n[log]\nformat = \"json\"\n").unwrap();
        let from_file = load(Some(&file), &[]);
        assert_eq!(
            (from_file.own.knob, from_file.log.format),
            (2, LogFormat::Json)
        );

        let from_env = load(
            Some(&file),
            &[
                ("WHISTLE__OWN__KNOB", "3"),
                ("WHISTLE__DATABASE__URL", "postgres://a/b"),
                ("DATABASE_URL", "postgres://c/d"),
            ],
        );
        assert_eq!(from_env.own.knob, 3);
        assert_eq!(from_env.database.url, "postgres://c/d");

        // WHISTLE_CONFIG names the file when none is given.
        let named = load(None, &[("WHISTLE_CONFIG", file.to_str().unwrap())]);
        assert_eq!(named.own.knob, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
