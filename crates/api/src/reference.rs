//! Reference data that nearly every case request reads and that admins change a few times a
//! year: the geography around each grid, the category catalogue, the SLA policies and the
//! working calendar.
//!
//! Reading them from the database cost a case detail seven statements and a page of the officer
//! queue a dozen (whistle-bench api), so one [`Snapshot`] of all of them is kept in memory:
//!
//! - loaded at start;
//! - loaded again when this process changes any of it ([`ReferenceCache::invalidate`], called by
//!   the admin handlers after their transaction commits);
//! - loaded again by the first request that finds it older than `database.reference_cache_secs`,
//!   which is how a change made by another API process or by hand in the database arrives. That
//!   request pays for the reload; the others keep using the old snapshot meanwhile.
//!
//! A lookup the snapshot cannot answer (a category or grid added since it was loaded) goes to the
//! database, so new entries are never missed. Admin screens read the database directly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use whistle_domain::calendar::{SlaPolicy, WorkingCalendar};
use whistle_domain::case::Priority;
use whistle_domain::category::Category;
use whistle_domain::ids::{CategoryId, CommunityId, GridId};
use whistle_persistence::repo::geography::{CommunityInContext, GridInContext};
use whistle_persistence::repo::{categories, geography, sla};
use whistle_persistence::{DatabaseConnection, RepoError};

/// One consistent load of the reference data.
#[derive(Debug)]
pub struct Snapshot {
    loaded_at: Instant,
    grids: HashMap<GridId, Arc<GridInContext>>,
    communities: HashMap<CommunityId, Arc<CommunityInContext>>,
    categories: HashMap<CategoryId, Arc<Category>>,
    /// Category codes (every category, retired ones too) to ids.
    codes: HashMap<String, CategoryId>,
    policies: HashMap<(CategoryId, Priority), SlaPolicy>,
    calendar: Arc<WorkingCalendar>,
}

impl Snapshot {
    async fn load(db: &DatabaseConnection) -> Result<Snapshot, RepoError> {
        let grids: HashMap<GridId, Arc<GridInContext>> = geography::all_grids_in_context(db)
            .await?
            .into_iter()
            .map(|g| (g.grid.id, Arc::new(g)))
            .collect();
        let communities = grids
            .values()
            .map(|g| (g.community.community.id, Arc::new(g.community.clone())))
            .collect();
        let list = categories::list_categories(db, true).await?;
        let codes = list
            .iter()
            .map(|c| (c.code.as_str().to_owned(), c.id))
            .collect();
        let categories = list.into_iter().map(|c| (c.id, Arc::new(c))).collect();
        let policies = sla::all_policies(db)
            .await?
            .into_iter()
            .map(|(c, p, policy)| ((c, p), policy))
            .collect();
        let calendar = Arc::new(sla::load_calendar(db).await?);
        Ok(Snapshot {
            loaded_at: Instant::now(),
            grids,
            communities,
            categories,
            codes,
            policies,
            calendar,
        })
    }
}

/// The current [`Snapshot`], and the rules for replacing it.
#[derive(Debug)]
pub struct ReferenceCache {
    current: RwLock<Arc<Snapshot>>,
    /// Held while a reload runs, so that one request reloads and the others read the old one.
    reloading: tokio::sync::Mutex<()>,
    max_age: Duration,
}

impl ReferenceCache {
    pub async fn load(db: &DatabaseConnection, max_age: Duration) -> Result<Self, RepoError> {
        Ok(ReferenceCache {
            current: RwLock::new(Arc::new(Snapshot::load(db).await?)),
            reloading: tokio::sync::Mutex::new(()),
            max_age,
        })
    }

    fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a writer panicked between two whole-`Arc` assignments.
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// The snapshot to answer from: the current one, reloaded first when it is too old and no
    /// other request is reloading it already. A failed reload keeps the old snapshot (and is
    /// logged): the request in hand is answered from it rather than failed.
    async fn fresh(&self, db: &DatabaseConnection) -> Arc<Snapshot> {
        let snapshot = self.current();
        if snapshot.loaded_at.elapsed() < self.max_age {
            return snapshot;
        }
        let Ok(_reloading) = self.reloading.try_lock() else {
            return snapshot;
        };
        // Another request may have reloaded while this one waited for the lock.
        let latest = self.current();
        if latest.loaded_at.elapsed() < self.max_age {
            return latest;
        }
        match Snapshot::load(db).await {
            Ok(loaded) => {
                self.replace(loaded);
                self.current()
            }
            Err(e) => {
                tracing::warn!(error = %e, "reloading the reference data failed; using the previous load");
                latest
            }
        }
    }

    /// Loads everything again now: the reference data changed through this process.
    pub async fn invalidate(&self, db: &DatabaseConnection) -> Result<(), RepoError> {
        let _reloading = self.reloading.lock().await;
        self.replace(Snapshot::load(db).await?);
        Ok(())
    }

    /// A grid with its community, street and district.
    pub async fn grid(
        &self,
        db: &DatabaseConnection,
        id: GridId,
    ) -> Result<Arc<GridInContext>, RepoError> {
        match self.fresh(db).await.grids.get(&id) {
            Some(found) => Ok(found.clone()),
            None => Ok(Arc::new(geography::get_grid_in_context(db, id).await?)),
        }
    }

    /// A community with its street and district.
    pub async fn community(
        &self,
        db: &DatabaseConnection,
        id: CommunityId,
    ) -> Result<Arc<CommunityInContext>, RepoError> {
        match self.fresh(db).await.communities.get(&id) {
            Some(found) => Ok(found.clone()),
            None => Ok(Arc::new(geography::get_community(db, id).await?)),
        }
    }

    /// A category by id, retired or not.
    pub async fn category(
        &self,
        db: &DatabaseConnection,
        id: CategoryId,
    ) -> Result<Arc<Category>, RepoError> {
        match self.fresh(db).await.categories.get(&id) {
            Some(found) => Ok(found.clone()),
            None => Ok(Arc::new(categories::get(db, id).await?)),
        }
    }

    /// A category by code, retired or not; `None` when there is no such code.
    pub async fn category_by_code(
        &self,
        db: &DatabaseConnection,
        code: &str,
    ) -> Result<Option<Arc<Category>>, RepoError> {
        let snapshot = self.fresh(db).await;
        match snapshot
            .codes
            .get(code)
            .and_then(|id| snapshot.categories.get(id))
        {
            Some(found) => Ok(Some(found.clone())),
            None => Ok(categories::get_by_code(db, code).await?.map(Arc::new)),
        }
    }

    /// The configured policy of a category × priority, if there is one.
    ///
    /// A policy configured since the snapshot was loaded is found once the snapshot is reloaded
    /// (at once when configured through this process).
    pub async fn policy(
        &self,
        db: &DatabaseConnection,
        category: CategoryId,
        priority: Priority,
    ) -> Option<SlaPolicy> {
        self.fresh(db)
            .await
            .policies
            .get(&(category, priority))
            .cloned()
    }

    /// The city's working calendar.
    pub async fn calendar(&self, db: &DatabaseConnection) -> Arc<WorkingCalendar> {
        self.fresh(db).await.calendar.clone()
    }
}
