//! Open311: the API keys of client applications, and which client submitted which case.
//!
//! A key is stored only as its SHA-256 (the plaintext is shown once, at creation); revoking sets
//! `revoked_at` and keeps the row, so the cases a client submitted still name it. The case itself
//! is an ordinary row of `cases` (source `open311`); `open311_request` only adds what the Open311
//! client sent that a case has no column for.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_people::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKey::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiKey::Id))
                    // The client application, e.g. "街道微信小程序".
                    .col(string_len(ApiKey::Name, 100))
                    // Lowercase hex SHA-256 of the key; unique, and the lookup on every POST.
                    .col(string_len_uniq(ApiKey::KeyHash, 64))
                    // The first characters of the key, to tell keys apart in lists.
                    .col(string_len(ApiKey::Hint, 16))
                    // The admin who issued it; none when issued from the command line.
                    .col(big_integer_null(ApiKey::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_key_created_by")
                            .from(ApiKey::Table, ApiKey::CreatedBy)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Open311Request::Table)
                    .if_not_exists()
                    // One row per case at most: the case's own id is the key.
                    .col(big_integer(Open311Request::CaseId).primary_key())
                    .col(big_integer(Open311Request::ApiKeyId))
                    // The client's `media_url`: a public link to a picture kept elsewhere.
                    .col(text_null(Open311Request::MediaUrl))
                    .col(timestamp_with_time_zone(Open311Request::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_open311_request_case")
                            .from(Open311Request::Table, Open311Request::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_open311_request_api_key")
                            .from(Open311Request::Table, Open311Request::ApiKeyId)
                            .to(ApiKey::Table, ApiKey::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // "What did this client submit?" when a key is reviewed or revoked.
        manager
            .create_index(
                Index::create()
                    .name("idx_open311_request_api_key")
                    .table(Open311Request::Table)
                    .col(Open311Request::ApiKeyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Open311Request::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ApiKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    Name,
    KeyHash,
    Hint,
    CreatedBy,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Open311Request {
    Table,
    CaseId,
    ApiKeyId,
    MediaUrl,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}
