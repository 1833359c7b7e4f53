//! Accounts: a password that must be changed, sessions their owner can see, and login
//! throttling that cannot be turned against the account's owner.
//!
//! All additive (expand only), safe on a live database:
//!
//! - `users.must_change_password`: set by an admin's reset; such an account's tokens only work
//!   for changing the password. (`users.failed_logins` and `users.locked_until` are no longer
//!   used: the account-wide lock they held let anyone who knew a username keep its owner out.
//!   They stay until a later contract step drops them.)
//! - `refresh_token.started_at`, `user_agent`, `client_ip`: what the owner's session list shows
//!   (when the login happened, from which program and address it was last used). Old rows have
//!   none; the list falls back to the row's `created_at`.
//! - `login_attempt`: failed and successful logins counted per login name and *source* — a
//!   client address, a known device (`d:<id>`), or `*` for the account as a whole. Delays grow
//!   per source; the account-wide count only slows sources that never logged in successfully.
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
                    .table(Users::Table)
                    .add_column(boolean(Users::MustChangePassword).default(false))
                    .to_owned(),
            )
            .await?;
        for col in [
            timestamp_with_time_zone_null(RefreshToken::StartedAt),
            string_len_null(RefreshToken::UserAgent, 200),
            string_len_null(RefreshToken::ClientIp, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshToken::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempt::Table)
                    .if_not_exists()
                    .col(big_pk_auto(LoginAttempt::Id))
                    // The login name as tried (lower case, at most 64 characters): unknown
                    // names are counted exactly like real ones, so delays tell nothing.
                    .col(string_len(LoginAttempt::Account, 64))
                    // A client address, `d:<device id>` or `*` (the whole account).
                    .col(string_len(LoginAttempt::Source, 80))
                    // Failures since the last success or since the count was forgotten.
                    .col(integer(LoginAttempt::Failures).default(0))
                    .col(timestamp_with_time_zone_null(LoginAttempt::FirstFailureAt))
                    .col(timestamp_with_time_zone_null(LoginAttempt::LastFailureAt))
                    // No attempt from this source is looked at before this instant.
                    .col(timestamp_with_time_zone_null(LoginAttempt::BlockedUntil))
                    // The last successful login from this source: it is then a known one.
                    .col(timestamp_with_time_zone_null(LoginAttempt::SucceededAt))
                    .col(timestamp_with_time_zone(LoginAttempt::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_login_attempt")
                    .table(LoginAttempt::Table)
                    .col(LoginAttempt::Account)
                    .col(LoginAttempt::Source)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Forgetting rows nobody has used for a long time.
        manager
            .create_index(
                Index::create()
                    .name("idx_login_attempt_updated")
                    .table(LoginAttempt::Table)
                    .col(LoginAttempt::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginAttempt::Table).to_owned())
            .await?;
        for col in [
            RefreshToken::ClientIp,
            RefreshToken::UserAgent,
            RefreshToken::StartedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshToken::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::MustChangePassword)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    MustChangePassword,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    StartedAt,
    UserAgent,
    ClientIp,
}

#[derive(DeriveIden)]
enum LoginAttempt {
    Table,
    Id,
    Account,
    Source,
    Failures,
    FirstFailureAt,
    LastFailureAt,
    BlockedUntil,
    SucceededAt,
    UpdatedAt,
}
