//! Officers' work logs (线上工作记录): one row per piece of work, with who took part, which cases
//! and merchants it concerned, and its photos.
//!
//! `activity` and `class` (the 721 class) are short strings checked by the domain crate, like the
//! case statuses. `minutes` is stored next to the two timestamps because the 721 mix sums it per
//! class: subtracting timestamps has no portable SQL (SQLite keeps them as text), and an
//! `integer` column sums to a plain 64-bit integer on both databases. The place is kept at every
//! level (community, street, district) so jurisdiction filters need no joins, as for cases.
//!
//! Merchant links carry no foreign key: the merchant table arrives with a separate change. Once
//! it exists everywhere, a later migration checks the stored ids and adds the key (expand, then
//! contract).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_geography::{Community, Grid};
use crate::m20261125_000002_people::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WorkLog::Id))
                    // The account (users.id) of the officer or leader who did the work.
                    .col(big_integer(WorkLog::OfficerId))
                    .col(string_len(WorkLog::Activity, 24))
                    .col(string_len(WorkLog::Class, 16))
                    // True when the officer chose a class other than the activity's default.
                    .col(boolean(WorkLog::ClassOverridden).default(false))
                    // UTC, whole seconds.
                    .col(timestamp_with_time_zone(WorkLog::StartedAt))
                    .col(timestamp_with_time_zone(WorkLog::EndedAt))
                    .col(integer(WorkLog::Minutes))
                    .col(big_integer(WorkLog::CommunityId))
                    .col(big_integer(WorkLog::StreetId))
                    .col(big_integer(WorkLog::DistrictId))
                    .col(big_integer_null(WorkLog::GridId))
                    // WGS-84, both or neither.
                    .col(double_null(WorkLog::Lat))
                    .col(double_null(WorkLog::Lon))
                    .col(text_null(WorkLog::Notes))
                    .col(timestamp_with_time_zone(WorkLog::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_officer")
                            .from(WorkLog::Table, WorkLog::OfficerId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_community")
                            .from(WorkLog::Table, WorkLog::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_grid")
                            .from(WorkLog::Table, WorkLog::GridId)
                            .to(Grid::Table, Grid::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // An officer's own log and their 721 mix over a period: newest first, keyset on
        // (started_at, id).
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_officer_started")
                    .table(WorkLog::Table)
                    .col(WorkLog::OfficerId)
                    .col(WorkLog::StartedAt)
                    .col(WorkLog::Id)
                    .to_owned(),
            )
            .await?;
        // A community's work over a period (a leader's view of one community, its mix).
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_community_started")
                    .table(WorkLog::Table)
                    .col(WorkLog::CommunityId)
                    .col(WorkLog::StartedAt)
                    .col(WorkLog::Id)
                    .to_owned(),
            )
            .await?;
        // A street leader's whole jurisdiction over a period, without a filter by community.
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_street_started")
                    .table(WorkLog::Table)
                    .col(WorkLog::StreetId)
                    .col(WorkLog::StartedAt)
                    .to_owned(),
            )
            .await?;

        // Who took part besides the officer: a staff account or a name as the officer wrote it
        // (the property company's staff have no accounts). Exactly one of the two is set.
        manager
            .create_table(
                Table::create()
                    .table(WorkLogParticipant::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WorkLogParticipant::Id))
                    .col(big_integer(WorkLogParticipant::WorkLogId))
                    .col(big_integer_null(WorkLogParticipant::UserId))
                    .col(string_len_null(WorkLogParticipant::Name, 100))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_participant_log")
                            .from(WorkLogParticipant::Table, WorkLogParticipant::WorkLogId)
                            .to(WorkLog::Table, WorkLog::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_participant_user")
                            .from(WorkLogParticipant::Table, WorkLogParticipant::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // An entry's participants, in the order given.
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_participant_log")
                    .table(WorkLogParticipant::Table)
                    .col(WorkLogParticipant::WorkLogId)
                    .col(WorkLogParticipant::Id)
                    .to_owned(),
            )
            .await?;
        // "Work I took part in" for a colleague named as a participant.
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_participant_user")
                    .table(WorkLogParticipant::Table)
                    .col(WorkLogParticipant::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkLogCase::Table)
                    .if_not_exists()
                    .col(big_integer(WorkLogCase::WorkLogId))
                    .col(big_integer(WorkLogCase::CaseId))
                    .primary_key(
                        Index::create()
                            .col(WorkLogCase::WorkLogId)
                            .col(WorkLogCase::CaseId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_case_log")
                            .from(WorkLogCase::Table, WorkLogCase::WorkLogId)
                            .to(WorkLog::Table, WorkLog::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_case_case")
                            .from(WorkLogCase::Table, WorkLogCase::CaseId)
                            .to(Case::Table, Case::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The work done on a case (the primary key serves the other direction).
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_case_case")
                    .table(WorkLogCase::Table)
                    .col(WorkLogCase::CaseId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkLogMerchant::Table)
                    .if_not_exists()
                    .col(big_integer(WorkLogMerchant::WorkLogId))
                    // No foreign key yet: see the module documentation.
                    .col(big_integer(WorkLogMerchant::MerchantId))
                    .primary_key(
                        Index::create()
                            .col(WorkLogMerchant::WorkLogId)
                            .col(WorkLogMerchant::MerchantId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_merchant_log")
                            .from(WorkLogMerchant::Table, WorkLogMerchant::WorkLogId)
                            .to(WorkLog::Table, WorkLog::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The work done at a merchant (repeat visits to the same shop).
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_merchant_merchant")
                    .table(WorkLogMerchant::Table)
                    .col(WorkLogMerchant::MerchantId)
                    .to_owned(),
            )
            .await?;

        // Photos of the work; the bytes are content-addressed files like case photos.
        manager
            .create_table(
                Table::create()
                    .table(WorkLogPhoto::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WorkLogPhoto::Id))
                    .col(big_integer(WorkLogPhoto::WorkLogId))
                    .col(string_len(WorkLogPhoto::Sha256, 64))
                    .col(string_len(WorkLogPhoto::Mime, 32))
                    .col(big_integer(WorkLogPhoto::Size))
                    .col(timestamp_with_time_zone(WorkLogPhoto::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_work_log_photo_log")
                            .from(WorkLogPhoto::Table, WorkLogPhoto::WorkLogId)
                            .to(WorkLog::Table, WorkLog::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // An entry's photos, in order (also counted against the per-entry cap).
        manager
            .create_index(
                Index::create()
                    .name("idx_work_log_photo_log")
                    .table(WorkLogPhoto::Table)
                    .col(WorkLogPhoto::WorkLogId)
                    .col(WorkLogPhoto::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WorkLogPhoto::Table.into_iden(),
            WorkLogMerchant::Table.into_iden(),
            WorkLogCase::Table.into_iden(),
            WorkLogParticipant::Table.into_iden(),
            WorkLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Case {
    #[sea_orm(iden = "cases")]
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WorkLog {
    Table,
    Id,
    OfficerId,
    Activity,
    Class,
    ClassOverridden,
    StartedAt,
    EndedAt,
    Minutes,
    CommunityId,
    StreetId,
    DistrictId,
    GridId,
    Lat,
    Lon,
    Notes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkLogParticipant {
    Table,
    Id,
    WorkLogId,
    UserId,
    Name,
}

#[derive(DeriveIden)]
enum WorkLogCase {
    Table,
    WorkLogId,
    CaseId,
}

#[derive(DeriveIden)]
enum WorkLogMerchant {
    Table,
    WorkLogId,
    MerchantId,
}

#[derive(DeriveIden)]
enum WorkLogPhoto {
    Table,
    Id,
    WorkLogId,
    Sha256,
    Mime,
    Size,
    CreatedAt,
}
