//! `idx_case_open_assignee`: the cases an officer still has open, for intake's suggested
//! officer (`repo::cases::suggest_officer` counts each stationed officer's open cases on every
//! report). Without it the count read every case the officer was ever assigned through
//! `idx_case_assignee_due` and fetched each row to look at its status: with 1,000,000 cases
//! that made intake ~30 reports/s (`whistle-bench api`, docs/PERFORMANCE.md). A partial index
//! holds only the open ones — a few percent of the table — and answers the count by itself.
//!
//!
//! `idx_case_open_category_created`: open cases by category and report time, for intake's
//! duplicate check (`repo::cases::open_near`: same category, still open, reported within the
//! window, near the point). It walked `idx_case_created_at` over every recent case and filtered
//! them (~44,000 rows, 29 ms at 1,000,000 cases); the partial index holds only open ones.
//!
//! Additive and safe to apply on a live database (expand only); `down` drops it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The predicate is written as the query writes it, so both planners match it.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_case_open_assignee ON cases (assignee_id) \
                 WHERE status NOT IN ('closed', 'rejected')",
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_case_open_category_created \
                 ON cases (category_id, created_at) WHERE status NOT IN ('closed', 'rejected')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_case_open_category_created")
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_case_open_assignee")
            .await?;
        Ok(())
    }
}
