//! Reads that a replica may answer, with the primary as fallback.
//!
//! Some reads tolerate data a few seconds old (the leaders' figures, CSV exports, the public
//! map, Open311 lists); on a replicated installation they are sent to a replica (`read_url`,
//! typically HAProxy's read port in front of Patroni's replicas), which keeps that load off the
//! primary. Everything else, and every write, stays on the primary.
//!
//! The replica is used only while it is known good: a check, at most once per `check_every`,
//! connects if needed and measures how far its replay is behind. A replica that cannot be
//! reached, or is more than `max_lag` behind, is left aside and the reads go to the primary until
//! a later check finds it good again. The check runs in the background, started by whichever
//! read finds the last one too old, so no request waits on it; between checks a replica that
//! just died fails the reads sent to it as `RepoError::Unavailable` (503), for at most
//! `check_every` plus the pool's acquire timeout.
//!
//! What a read on the replica may miss is therefore bounded by `max_lag` + `check_every`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::db::{DbSettings, connect, redact_url};

/// Where reads that tolerate staleness go.
#[derive(Debug, Clone)]
pub struct ReadPool {
    primary: DatabaseConnection,
    replica: Option<Arc<Replica>>,
}

/// How to reach and judge the replica.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    pub db: DbSettings,
    /// A replica further behind than this is not used.
    pub max_lag: Duration,
    /// How old the last check may be before a read starts another.
    pub check_every: Duration,
}

/// What the last check found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplicaState {
    /// Not checked yet: reads go to the primary.
    Unknown,
    /// In use; replay was this far behind.
    InUse { lag: Duration },
    /// Reachable but too far behind: reads go to the primary.
    Lagging { lag: Duration },
    /// Could not be reached or did not answer: reads go to the primary.
    Unreachable,
}

impl ReplicaState {
    /// What a check's outcome means under a lag bound.
    pub fn judge(lag: Option<Duration>, max_lag: Duration) -> ReplicaState {
        match lag {
            None => ReplicaState::Unreachable,
            Some(lag) if lag > max_lag => ReplicaState::Lagging { lag },
            Some(lag) => ReplicaState::InUse { lag },
        }
    }

    fn usable(self) -> bool {
        matches!(self, ReplicaState::InUse { .. })
    }
}

#[derive(Debug)]
struct Replica {
    settings: ReplicaSettings,
    /// Connected by the first check that reaches the replica, then kept (the pool reconnects
    /// by itself after an outage).
    pool: OnceLock<DatabaseConnection>,
    state: Mutex<(ReplicaState, Option<Instant>)>,
    checking: AtomicBool,
}

/// How far a PostgreSQL server's replay is behind, in seconds: 0 on a primary, and 0 on a
/// replica that has replayed everything it received (an idle primary commits nothing, so the
/// age of the last replayed commit would otherwise grow without the replica falling behind).
const PG_LAG: &str = "SELECT CASE \
     WHEN NOT pg_is_in_recovery() THEN 0::float8 \
     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, 0) \
     END AS lag";

impl ReadPool {
    /// Reads on the primary only.
    pub fn primary_only(primary: DatabaseConnection) -> ReadPool {
        ReadPool {
            primary,
            replica: None,
        }
    }

    /// Reads on the replica while it is good, else on the primary. Nothing is connected yet;
    /// the first read starts the first check.
    pub fn with_replica(primary: DatabaseConnection, settings: ReplicaSettings) -> ReadPool {
        ReadPool {
            primary,
            replica: Some(Arc::new(Replica {
                settings,
                pool: OnceLock::new(),
                state: Mutex::new((ReplicaState::Unknown, None)),
                checking: AtomicBool::new(false),
            })),
        }
    }

    /// The connection for a read that tolerates `max_lag`. Starts a background check of the
    /// replica when the last one is older than `check_every` (needs a Tokio runtime).
    pub fn connection(&self) -> &DatabaseConnection {
        let Some(replica) = &self.replica else {
            return &self.primary;
        };
        let (state, checked_at) = *lock(&replica.state);
        let due = checked_at.is_none_or(|at| at.elapsed() >= replica.settings.check_every);
        if due && !replica.checking.swap(true, Ordering::AcqRel) {
            let replica = Arc::clone(replica);
            tokio::spawn(async move {
                replica.check().await;
                replica.checking.store(false, Ordering::Release);
            });
        }
        match replica.pool.get() {
            Some(pool) if state.usable() => pool,
            _ => &self.primary,
        }
    }

    /// Checks the replica now and returns what was found (`None` when none is configured).
    pub async fn check_now(&self) -> Option<ReplicaState> {
        match &self.replica {
            Some(replica) => Some(replica.check().await),
            None => None,
        }
    }

    /// What the last check found (`None` when no replica is configured).
    pub fn replica_state(&self) -> Option<ReplicaState> {
        self.replica.as_ref().map(|r| lock(&r.state).0)
    }

    /// The primary, for reads that must see the latest writes.
    pub fn primary(&self) -> &DatabaseConnection {
        &self.primary
    }
}

impl Replica {
    async fn check(&self) -> ReplicaState {
        let lag = self.measure().await;
        let state = ReplicaState::judge(lag, self.settings.max_lag);
        let mut guard = lock(&self.state);
        if guard.0 != state && !(guard.0.usable() && state.usable()) {
            match state {
                ReplicaState::InUse { lag } => {
                    tracing::info!(lag_ms = lag.as_millis() as u64, "reads go to the replica")
                }
                ReplicaState::Lagging { lag } => tracing::warn!(
                    lag_ms = lag.as_millis() as u64,
                    max_lag_ms = self.settings.max_lag.as_millis() as u64,
                    "the replica is too far behind: reads go to the primary"
                ),
                ReplicaState::Unreachable | ReplicaState::Unknown => tracing::warn!(
                    replica = %redact_url(&self.settings.db.url),
                    "the replica cannot be reached: reads go to the primary"
                ),
            }
        }
        *guard = (state, Some(Instant::now()));
        state
    }

    /// The replica's replay lag, or `None` when it cannot be reached within the acquire timeout.
    async fn measure(&self) -> Option<Duration> {
        let limit = self.settings.db.acquire_timeout;
        let pool = match self.pool.get() {
            Some(pool) => pool,
            None => match tokio::time::timeout(limit, connect(&self.settings.db)).await {
                Ok(Ok(pool)) => self.pool.get_or_init(|| pool),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "connecting to the replica failed");
                    return None;
                }
                Err(_) => return None,
            },
        };
        let backend = pool.get_database_backend();
        let query = async {
            match backend {
                DbBackend::Postgres => {
                    let row = pool
                        .query_one_raw(Statement::from_string(backend, PG_LAG))
                        .await?;
                    let secs: f64 = match row {
                        Some(row) => row.try_get("", "lag")?,
                        None => 0.0,
                    };
                    Ok::<_, sea_orm::DbErr>(Duration::from_secs_f64(secs.max(0.0)))
                }
                _ => pool.ping().await.map(|()| Duration::ZERO),
            }
        };
        match tokio::time::timeout(limit, query).await {
            Ok(Ok(lag)) => Some(lag),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "measuring the replica's lag failed");
                None
            }
            Err(_) => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_used_only_when_reachable_and_within_the_bound() {
        let max = Duration::from_secs(10);
        assert_eq!(ReplicaState::judge(None, max), ReplicaState::Unreachable);
        let close = Duration::from_millis(300);
        assert_eq!(
            ReplicaState::judge(Some(close), max),
            ReplicaState::InUse { lag: close }
        );
        assert_eq!(
            ReplicaState::judge(Some(max), max),
            ReplicaState::InUse { lag: max }
        );
        let far = Duration::from_secs(11);
        assert_eq!(
            ReplicaState::judge(Some(far), max),
            ReplicaState::Lagging { lag: far }
        );
        assert!(ReplicaState::judge(Some(close), max).usable());
        assert!(!ReplicaState::judge(Some(far), max).usable());
        assert!(!ReplicaState::Unknown.usable());
    }
}
