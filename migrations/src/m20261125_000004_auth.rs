//! Identity: where staff act (jurisdiction), refresh tokens, the audit log, and the columns that
//! lock an account after repeated failed logins.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_people::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Lockout state lives in the database, not in process memory, so it holds across API
        // processes and restarts. One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .add_column(integer(UserExtra::FailedLogins).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .add_column(timestamp_with_time_zone_null(UserExtra::LockedUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserArea::Table)
                    .if_not_exists()
                    .col(big_pk_auto(UserArea::Id))
                    .col(big_integer(UserArea::UserId))
                    .col(string_len(UserArea::Level, 16))
                    .col(big_integer(UserArea::AreaId))
                    .col(timestamp_with_time_zone(UserArea::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_area_user")
                            .from(UserArea::Table, UserArea::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One row per (user, area); also serves "the areas of this user" at login.
        manager
            .create_index(
                Index::create()
                    .name("ux_user_area")
                    .table(UserArea::Table)
                    .col(UserArea::UserId)
                    .col(UserArea::Level)
                    .col(UserArea::AreaId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // "Who acts in this community?" (routing a case to its stationed officers, notifying).
        manager
            .create_index(
                Index::create()
                    .name("idx_user_area_area")
                    .table(UserArea::Table)
                    .col(UserArea::Level)
                    .col(UserArea::AreaId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RefreshToken::Id))
                    .col(big_integer(RefreshToken::UserId))
                    // All tokens descending from one login share a family; reuse of a rotated
                    // token revokes the family.
                    .col(string_len(RefreshToken::FamilyId, 36))
                    .col(string_len_uniq(RefreshToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshToken::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::RotatedAt))
                    .col(timestamp_with_time_zone_null(RefreshToken::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_token_user")
                            .from(RefreshToken::Table, RefreshToken::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Revoking a family, and revoking all of a user's tokens when the account is disabled.
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_token_family")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_token_user")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(string_len(AuditLog::Event, 40))
                    // Who did it (none for an anonymous failed login) and to whom.
                    .col(big_integer_null(AuditLog::ActorId))
                    .col(big_integer_null(AuditLog::SubjectId))
                    // The login name tried, for failures against unknown accounts.
                    .col(string_len_null(AuditLog::Username, 64))
                    .col(string_len_null(AuditLog::Ip, 64))
                    .col(text_null(AuditLog::Detail))
                    .to_owned(),
            )
            .await?;
        // The audit list is read newest first, optionally for one account.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_subject")
                    .table(AuditLog::Table)
                    .col(AuditLog::SubjectId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            RefreshToken::Table.into_iden(),
            UserArea::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .drop_column(UserExtra::LockedUntil)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .drop_column(UserExtra::FailedLogins)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum UserExtra {
    FailedLogins,
    LockedUntil,
}

#[derive(DeriveIden)]
enum UserArea {
    Table,
    Id,
    UserId,
    Level,
    AreaId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Event,
    ActorId,
    SubjectId,
    Username,
    Ip,
    Detail,
}
