//! Registrations waiting for their SMS code.
//!
//! `POST /api/v1/auth/register` answers the same whether or not the phone already has an
//! account, so the account is created only once the phone's owner proves they read the code we
//! texted (`POST /api/v1/auth/register/verify`). Until then the request waits here: one row per
//! phone, replaced by every new request for the phone. The row is also what limits how often a
//! phone can be texted, which is why a request for a phone that already has an account writes
//! one too (with a code nobody is sent): both cases must be throttled alike.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PendingRegistration::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PendingRegistration::Id))
                    // 11 digits, as in `users.phone`; one pending registration per phone.
                    .col(string_len_uniq(PendingRegistration::Phone, 11))
                    .col(string_len(PendingRegistration::DisplayName, 100))
                    // Argon2id, computed when the request came: the account gets it as is.
                    .col(text(PendingRegistration::PasswordHash))
                    // Lowercase hex HMAC-SHA256 of the phone and the code; the code itself is
                    // never stored here.
                    .col(string_len(PendingRegistration::CodeHash, 64))
                    // Codes tried so far; at the limit the registration is void.
                    .col(integer(PendingRegistration::Attempts).default(0))
                    // When the last SMS was queued: the next one waits a while after it.
                    .col(timestamp_with_time_zone(PendingRegistration::SentAt))
                    .col(timestamp_with_time_zone(PendingRegistration::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        // Removing registrations whose code ran out (each new request clears them).
        manager
            .create_index(
                Index::create()
                    .name("idx_pending_registration_expires")
                    .table(PendingRegistration::Table)
                    .col(PendingRegistration::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingRegistration::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PendingRegistration {
    Table,
    Id,
    Phone,
    DisplayName,
    PasswordHash,
    CodeHash,
    Attempts,
    SentAt,
    ExpiresAt,
}
