//! Building and running the server, drivable from tests: `App::build(settings)` binds (port 0
//! picks a free one), `run_until_stopped()` serves until SIGINT/SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use whistle_persistence::{Backend, DatabaseConnection, DbSettings, connect, migrate};

use crate::config::Settings;
use crate::routes;
use crate::state::AppState;

/// Connects to the configured database and, unless turned off, applies pending migrations.
///
/// Migrations run on a connection of their own, without the pool's statement timeout: building
/// an index on a large table may take minutes, a request's statement may not.
pub async fn open_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db_settings = settings.database.db_settings();
    if settings.database.migrate_on_start {
        let migrating = connect(&DbSettings {
            max_connections: Some(1),
            statement_timeout: None,
            ..db_settings.clone()
        })
        .await
        .context("connecting to the database")?;
        migrate(&migrating).await.context("applying migrations")?;
        migrating
            .close()
            .await
            .context("closing the migration connection")?;
    }
    let db = connect(&db_settings)
        .await
        .context("connecting to the database")?;
    tracing::info!(backend = ?Backend::of(&db), "database ready");
    Ok(db)
}

/// A bound, ready-to-run API server.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
    addr: SocketAddr,
}

impl App {
    /// Opens the database, loads the grid index and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let db = open_database(&settings).await?;
        Self::build_with(settings, db).await
    }

    /// As `build`, with a database the caller already opened (and possibly seeded).
    pub async fn build_with(settings: Settings, db: DatabaseConnection) -> anyhow::Result<App> {
        let bind = format!("{}:{}", settings.server.host, settings.server.port);
        settings
            .map
            .check()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        if crate::web::is_loopback_base(&settings.server.public_base_url) {
            tracing::warn!(
                public_base_url = %settings.server.public_base_url,
                "server.public_base_url is a loopback address: contact-card QR codes will not open \
                 on residents' phones; set WHISTLE__SERVER__PUBLIC_BASE_URL to the public address"
            );
        }
        let state = AppState::new(db, settings)
            .await
            .context("preparing the application state")?;
        let listener = TcpListener::bind(&bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        Ok(App {
            listener,
            state,
            addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM, then drains in-flight requests for up to the configured
    /// grace period.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes (tests pass their own trigger).
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_secs);
        let app = routes::app(self.state);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("shutting down: draining in-flight requests");
            let _ = stopping_tx.send(());
        });
        tracing::info!(addr = %self.addr, "listening");
        tokio::select! {
            result = server => result,
            () = async move {
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(?grace, "grace period over; closing remaining connections");
                Ok(())
            }
        }
    }
}

pub use whistle_process::shutdown_signal;
