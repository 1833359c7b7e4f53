//! Five indexes on `cases` hold only the rows some query can look up. Every intake wrote an
//! entry into each of the eleven indexes on `cases`; these five kept entries no query reads:
//!
//! - `idx_case_assignee_due` (an officer's queue, `assignee_id = ?` by deadline) and
//!   `idx_case_open_assignee` (intake's suggested officer counts an officer's open cases,
//!   `c.assignee_id = s.officer_id`): a new report has no assignee yet, so its entry under
//!   `NULL` served nothing. Both now hold assigned cases only; a report enters them when it is
//!   dispatched.
//! - `ux_case_idempotency` (a retried intake finds its case, `scope = ? AND key = ?`): reports
//!   sent without an `Idempotency-Key` (hotline, patrol, most partners) had an entry under a
//!   `NULL` key, which is never looked up and never clashes. The unique rule is unchanged:
//!   one case per (scope, key) for every key.
//! - `idx_case_reporter` (a resident's own cases, `reporter_id = ?`): anonymous, hotline and
//!   Open311 reports have no reporter account.
//! - `idx_cases_merchant` (the cases about a merchant, `merchant_id = ?`): most reports are
//!   about no merchant.
//!
//! Every query that used them compares the column with `=`, which both planners take as proof
//! of `IS NOT NULL`, so each still uses its index (plans in docs/PERFORMANCE.md). So does the
//! `ON DELETE SET NULL` of the foreign keys (`WHERE assignee_id = $1`).
//!
//! Each index is dropped and rebuilt in turn. On PostgreSQL the migration is one transaction,
//! so no other session ever sees `cases` without it (the unique rule holds throughout); the
//! rebuild locks `cases` against writes while it runs (seconds per million cases), so apply it
//! in a quiet hour. `down` restores the full indexes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, unique, columns, the partial index's condition beyond the earlier one's, the earlier
/// one's own condition).
const NARROWED: [(&str, bool, &str, &str, Option<&str>); 5] = [
    (
        "idx_case_assignee_due",
        false,
        "assignee_id, stage_due",
        "assignee_id IS NOT NULL",
        None,
    ),
    (
        "idx_case_open_assignee",
        false,
        "assignee_id",
        "assignee_id IS NOT NULL",
        Some("status NOT IN ('closed', 'rejected')"),
    ),
    (
        "ux_case_idempotency",
        true,
        "idempotency_scope, idempotency_key",
        "idempotency_key IS NOT NULL",
        None,
    ),
    (
        "idx_case_reporter",
        false,
        "reporter_id",
        "reporter_id IS NOT NULL",
        None,
    ),
    (
        "idx_cases_merchant",
        false,
        "merchant_id",
        "merchant_id IS NOT NULL",
        None,
    ),
];

/// Drops the index and creates it anew, as one batch: on SQLite the two must run on the same
/// connection, since another connection of the pool parses the `CREATE` against the schema it
/// last read, where the index still exists.
fn rebuild(name: &str, unique: bool, columns: &str, conditions: &[&str]) -> String {
    format!(
        "DROP INDEX IF EXISTS {name}; {}",
        create(name, unique, columns, conditions)
    )
}

fn create(name: &str, unique: bool, columns: &str, conditions: &[&str]) -> String {
    let unique = if unique { "UNIQUE " } else { "" };
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!("CREATE {unique}INDEX {name} ON cases ({columns}){filter}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, unique, columns, narrower, earlier) in NARROWED {
            let conditions: Vec<&str> = earlier.into_iter().chain([narrower]).collect();
            db.execute_unprepared(&rebuild(name, unique, columns, &conditions))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, unique, columns, _, earlier) in NARROWED {
            let conditions: Vec<&str> = earlier.into_iter().collect();
            db.execute_unprepared(&rebuild(name, unique, columns, &conditions))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_narrowed_index_keeps_the_earlier_condition() {
        assert_eq!(
            create(
                "idx_case_open_assignee",
                false,
                "assignee_id",
                &[
                    "status NOT IN ('closed', 'rejected')",
                    "assignee_id IS NOT NULL"
                ]
            ),
            "CREATE INDEX idx_case_open_assignee ON cases (assignee_id) \
             WHERE status NOT IN ('closed', 'rejected') AND assignee_id IS NOT NULL"
        );
        assert_eq!(
            create(
                "ux_case_idempotency",
                true,
                "idempotency_scope, idempotency_key",
                &[]
            ),
            "CREATE UNIQUE INDEX ux_case_idempotency ON cases (idempotency_scope, idempotency_key)"
        );
    }
}
