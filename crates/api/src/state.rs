//! The state every handler shares.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use whistle_domain::routing::GridIndex;
use whistle_domain::time::{CityOffset, Clock, SystemClock};
use whistle_persistence::{DatabaseConnection, ReadPool, RepoError, repo};

use crate::authn::{AuthContext, SessionCutoffs};
use crate::config::Settings;
use crate::photo_store::PhotoStore;
use crate::reference::ReferenceCache;

/// Shared by all requests; cheap to clone (everything inside is reference-counted).
///
/// - `db`: the connection pool. Handlers pass it (or a transaction begun from it) to
///   `whistle_persistence::repo` functions; they never build SQL themselves.
/// - `read_pool`: where reads that tolerate a few seconds' staleness go ([`AppState::reads`]): the
///   replica of `database.read_url` while it is reachable and close enough, else `db`.
/// - `grids`: the in-memory spatial index that routes points to grids, rebuilt from the database
///   by [`AppState::reload_grids`] at start and whenever the geography changes through this
///   process. Readers take the current `Arc` and never wait on a rebuild.
/// - `reference`: the geography, categories, SLA policies and calendar, kept in memory
///   (`crate::reference`).
/// - `photos`: where photos are kept (`crate::photo_store`).
/// - `settings`: the configuration the process started with.
/// - `auth`: the token key ring and the login limiters.
/// - `cutoffs`: when accounts' sessions were last ended, so tokens issued before are refused
///   (`crate::authn::SessionCutoffs`).
/// - `clock`: where "now" comes from ([`AppState::now`]); the system's, or a fixed one in tests.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub read_pool: ReadPool,
    grids: Arc<RwLock<Arc<GridIndex>>>,
    pub reference: Arc<ReferenceCache>,
    pub photos: PhotoStore,
    pub settings: Arc<Settings>,
    pub auth: Arc<AuthContext>,
    pub cutoffs: Arc<SessionCutoffs>,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub async fn new(db: DatabaseConnection, settings: Settings) -> anyhow::Result<Self> {
        let auth = AuthContext::new(&settings)?;
        let photos = PhotoStore::open(&settings.attachments)?;
        let reference = ReferenceCache::load(
            &db,
            std::time::Duration::from_secs(settings.database.reference_cache_secs),
        )
        .await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let cutoffs = SessionCutoffs::load(
            &db,
            std::time::Duration::from_millis(settings.auth.session_poll_ms),
            auth.access_ttl_secs,
            clock.now(),
        )
        .await?;
        let read_pool = match settings.database.replica_settings() {
            Some(replica) => ReadPool::with_replica(db.clone(), replica),
            None => ReadPool::primary_only(db.clone()),
        };
        let state = AppState {
            db,
            read_pool,
            grids: Arc::new(RwLock::new(Arc::new(GridIndex::new([])))),
            reference: Arc::new(reference),
            photos,
            settings: Arc::new(settings),
            auth: Arc::new(auth),
            cutoffs: Arc::new(cutoffs),
            clock,
        };
        state.reload_grids().await?;
        Ok(state)
    }

    /// The same state reading the time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The connection for a read that may be a few seconds behind the latest writes (the
    /// leaders' figures and exports, the public map, Open311 reads): the replica while it is
    /// good, else the primary. Never for a read that decides a write.
    pub fn reads(&self) -> &DatabaseConnection {
        self.read_pool.connection()
    }

    /// Now, to the microsecond, by the state's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in the city.
    pub fn today(&self) -> chrono::NaiveDate {
        self.city().today(self.now())
    }

    /// The city's offset from UTC (`cases.utc_offset_minutes`).
    pub fn city(&self) -> CityOffset {
        self.settings.cases.utc_offset_minutes
    }

    /// The current grid index.
    pub fn grids(&self) -> Arc<GridIndex> {
        // A poisoned lock only means a writer panicked between two whole-`Arc` assignments; the
        // value inside is still a complete index.
        match self.grids.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The geography, categories, SLA policies or calendar changed through this process: load
    /// them again now, so that the next request sees the change. The change is committed
    /// already, so a failed reload does not fail the request; it is logged, and the cache catches
    /// up within `database.reference_cache_secs`.
    pub async fn reference_changed(&self) {
        if let Err(e) = self.reference.invalidate(&self.db).await {
            tracing::warn!(error = %e, "reloading the reference data after a change failed");
        }
    }

    /// Rebuilds the grid index from the database.
    pub async fn reload_grids(&self) -> Result<usize, RepoError> {
        let grids = repo::geography::list_grids(&self.db, None).await?;
        let index = Arc::new(GridIndex::new(grids));
        let n = index.len();
        match self.grids.write() {
            Ok(mut guard) => *guard = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
        tracing::info!(grids = n, "grid index loaded");
        Ok(n)
    }
}
