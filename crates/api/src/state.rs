//! The state every handler shares.

use std::sync::{Arc, RwLock};

use whistle_domain::routing::GridIndex;
use whistle_persistence::{DatabaseConnection, RepoError, repo};

use crate::authn::AuthContext;
use crate::config::Settings;

/// Shared by all requests; cheap to clone (everything inside is reference-counted).
///
/// - `db`: the connection pool. Handlers pass it (or a transaction begun from it) to
///   `whistle_persistence::repo` functions; they never build SQL themselves.
/// - `grids`: the in-memory spatial index that routes points to grids, rebuilt from the database
///   by [`AppState::reload_grids`] at start and whenever the geography changes through this
///   process. Readers take the current `Arc` and never wait on a rebuild.
/// - `settings`: the configuration the process started with.
/// - `auth`: the token key ring and the login limiters.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    grids: Arc<RwLock<Arc<GridIndex>>>,
    pub settings: Arc<Settings>,
    pub auth: Arc<AuthContext>,
}

impl AppState {
    pub async fn new(db: DatabaseConnection, settings: Settings) -> anyhow::Result<Self> {
        let auth = AuthContext::new(&settings)?;
        let state = AppState {
            db,
            grids: Arc::new(RwLock::new(Arc::new(GridIndex::new([])))),
            settings: Arc::new(settings),
            auth: Arc::new(auth),
        };
        state.reload_grids().await?;
        Ok(state)
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
