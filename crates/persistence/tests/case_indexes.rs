//! The indexes on `cases` that hold only assigned, keyed or reported-by-account rows (migration
//! 000021) are still the ones the lookups use, on both databases. That the idempotency rule
//! still holds (one case per key, any number without one) is tested through the API, in
//! `crates/api/tests/api/` (concurrent retries with one key; reports without a key).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use whistle_persistence::testing::TestDatabase;

/// The plan of `sql` as text. On PostgreSQL sequential scans are priced out (for this
/// transaction only, so on the connection that explains), so that an empty table still shows
/// which index the planner can use at all.
async fn plan(db: &DatabaseConnection, sql: &str) -> String {
    let backend = db.get_database_backend();
    let txn = db.begin().await.unwrap();
    let explain = match backend {
        DbBackend::Postgres => {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            format!("EXPLAIN {sql}")
        }
        _ => format!("EXPLAIN QUERY PLAN {sql}"),
    };
    let rows = txn
        .query_all_raw(Statement::from_string(backend, explain))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    // PostgreSQL answers one line per row; SQLite's detail is the fourth column.
    let column = if backend == DbBackend::Postgres { 0 } else { 3 };
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(column).unwrap())
        .collect::<Vec<_>>()
        .join(
            "
",
        )
}

#[tokio::test]
async fn lookups_by_assignee_key_and_reporter_still_use_their_indexes() {
    let (_guard, db) = TestDatabase::migrated().await;
    for (sql, index) in [
        (
            "SELECT * FROM cases WHERE assignee_id = 7 ORDER BY stage_due ASC NULLS LAST, id ASC LIMIT 51",
            "idx_case_assignee_due",
        ),
        (
            "SELECT COUNT(c.assignee_id) FROM cases c WHERE c.assignee_id = 7 \
             AND c.status NOT IN ('closed', 'rejected')",
            "idx_case_open_assignee",
        ),
        (
            "SELECT * FROM cases WHERE idempotency_scope = 'user:1' AND idempotency_key = 'k'",
            "ux_case_idempotency",
        ),
        (
            "SELECT * FROM cases WHERE reporter_id = 7",
            "idx_case_reporter",
        ),
        (
            "SELECT * FROM cases WHERE merchant_id = 7",
            "idx_cases_merchant",
        ),
    ] {
        let plan = plan(&db, sql).await;
        assert!(plan.contains(index), "{sql}\nuses {index}, got:\n{plan}");
    }
}
