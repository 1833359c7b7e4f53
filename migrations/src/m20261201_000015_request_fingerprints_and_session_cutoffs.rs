//! Two nullable columns, both additive (expand only) and safe on a live database:
//!
//! - `cases.idempotency_fingerprint`: a digest of the request that created a case under an
//!   `Idempotency-Key`. A retry must be the same request; the same key with another request is
//!   refused instead of answered with somebody else's case (keys are chosen by clients, and all
//!   anonymous reporters, like all users of one Open311 application, share a scope).
//! - `users.sessions_valid_after`: access tokens of the account issued before this instant are
//!   refused (disabling, a change of role or jurisdiction, logging out everywhere). API processes
//!   keep the recent ones in memory and read what changed since their last look, through
//!   `idx_users_sessions_valid_after`, at most once a second.
//!
//! SQLite adds one column per `ALTER TABLE`, so each change is its own statement.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string_len_null(Cases::IdempotencyFingerprint, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::SessionsValidAfter))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_sessions_valid_after")
                    .table(Users::Table)
                    .col(Users::SessionsValidAfter)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_sessions_valid_after")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::SessionsValidAfter)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::IdempotencyFingerprint)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    IdempotencyFingerprint,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    SessionsValidAfter,
}
