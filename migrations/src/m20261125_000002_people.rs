//! Accounts of every role, and the officer record attached to officers' and leaders' accounts.
//!
//! `role` is a short string checked by the application (the domain's `Role`), not a database
//! enum: adding a role must not need an `ALTER TYPE` that PostgreSQL cannot run in a transaction.
//! Phone numbers are unique when present (residents log in with theirs); SQL's NULL-distinct
//! semantics let staff accounts without a phone coexist on both databases.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    .col(big_pk_auto(User::Id))
                    .col(string_len_uniq(User::Username, 32))
                    .col(string_len(User::DisplayName, 100))
                    .col(string_len_null(User::Phone, 11).unique_key())
                    .col(string_len(User::Role, 16))
                    .col(text(User::PasswordHash))
                    .col(boolean(User::Disabled).default(false))
                    .col(timestamp_with_time_zone(User::CreatedAt))
                    .col(timestamp_with_time_zone(User::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_role")
                    .table(User::Table)
                    .col(User::Role)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Officer::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Officer::Id))
                    .col(big_integer_uniq(Officer::UserId))
                    .col(string_len_uniq(Officer::BadgeNumber, 32))
                    .col(string_len_null(Officer::Squad, 100))
                    .col(timestamp_with_time_zone(Officer::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_user")
                            .from(Officer::Table, Officer::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Officer::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(User::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub(crate) enum User {
    #[sea_orm(iden = "users")]
    Table,
    Id,
    Username,
    DisplayName,
    Phone,
    Role,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Officer {
    Table,
    Id,
    UserId,
    BadgeNumber,
    Squad,
    CreatedAt,
}
