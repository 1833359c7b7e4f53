//! Cases and their timeline; SLA policies and the working calendar; case-number counters.
//!
//! Indexes are chosen for the queries the API runs (explained next to each). Statuses, sources
//! and priorities are short strings validated by the domain crate.

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
                    .table(SlaPolicy::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SlaPolicy::Id))
                    .col(big_integer(SlaPolicy::CategoryId))
                    .col(string_len(SlaPolicy::Priority, 16))
                    // Limits as `4h` (natural hours), `8wh` (working hours), `3wd` (working days).
                    .col(string_len(SlaPolicy::AcceptLimit, 16))
                    .col(string_len(SlaPolicy::DispatchLimit, 16))
                    .col(string_len(SlaPolicy::SignLimit, 16))
                    .col(string_len(SlaPolicy::ResolveLimit, 16))
                    .col(string_len(SlaPolicy::VerifyLimit, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_policy_category")
                            .from(SlaPolicy::Table, SlaPolicy::CategoryId)
                            .to(CaseCategory::Table, CaseCategory::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One policy per category × priority; also the lookup at intake.
        manager
            .create_index(
                Index::create()
                    .name("ux_sla_policy")
                    .table(SlaPolicy::Table)
                    .col(SlaPolicy::CategoryId)
                    .col(SlaPolicy::Priority)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkCalendar::Table)
                    .if_not_exists()
                    // A single row (id 1): the city's working windows and weekend.
                    .col(big_integer(WorkCalendar::Id).primary_key())
                    .col(string_len(WorkCalendar::Windows, 200))
                    .col(string_len(WorkCalendar::Weekend, 40))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarDay::Table)
                    .if_not_exists()
                    // `YYYY-MM-DD`; a holiday or a make-up working day.
                    .col(string_len(CalendarDay::Day, 10).primary_key())
                    .col(string_len(CalendarDay::Kind, 16))
                    .col(string_len_null(CalendarDay::Name, 100))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CaseNumberCounter::Table)
                    .if_not_exists()
                    .col(string_len(CaseNumberCounter::Prefix, 6))
                    .col(string_len(CaseNumberCounter::Day, 8))
                    .col(big_integer(CaseNumberCounter::LastSeq))
                    .primary_key(
                        Index::create()
                            .col(CaseNumberCounter::Prefix)
                            .col(CaseNumberCounter::Day),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Case::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Case::Id))
                    .col(string_len_uniq(Case::Number, 32))
                    .col(big_integer(Case::CategoryId))
                    .col(string_len(Case::CaseType, 16))
                    .col(string_len(Case::Priority, 16))
                    .col(string_len(Case::Source, 16))
                    .col(string_len(Case::Status, 16))
                    .col(text(Case::Description))
                    .col(string_len_null(Case::Address, 200))
                    .col(double(Case::Lat))
                    .col(double(Case::Lon))
                    // The routed place at every level, so jurisdiction checks and statistics
                    // need no joins.
                    .col(big_integer(Case::GridId))
                    .col(big_integer(Case::CommunityId))
                    .col(big_integer(Case::StreetId))
                    .col(big_integer(Case::DistrictId))
                    .col(big_integer_null(Case::ReporterId))
                    .col(string_len_null(Case::ReporterName, 100))
                    .col(string_len_null(Case::ReporterPhone, 11))
                    // Anonymous reporters follow their case with a token; only its hash is kept.
                    .col(string_len_null(Case::TrackingTokenHash, 64))
                    .col(big_integer_null(Case::SuggestedOfficerId))
                    .col(big_integer_null(Case::AssigneeId))
                    // The stage whose clock is running, and its deadline (UTC).
                    .col(string_len_null(Case::Stage, 16))
                    .col(timestamp_with_time_zone_null(Case::StageDue))
                    .col(integer(Case::Version).default(1))
                    .col(integer_null(Case::Rating))
                    .col(text_null(Case::RatingComment))
                    .col(string_len_null(Case::IdempotencyScope, 80))
                    .col(string_len_null(Case::IdempotencyKey, 100))
                    .col(timestamp_with_time_zone(Case::CreatedAt))
                    .col(timestamp_with_time_zone(Case::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Case::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_category")
                            .from(Case::Table, Case::CategoryId)
                            .to(CaseCategory::Table, CaseCategory::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_grid")
                            .from(Case::Table, Case::GridId)
                            .to(Grid::Table, Grid::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_reporter")
                            .from(Case::Table, Case::ReporterId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_assignee")
                            .from(Case::Table, Case::AssigneeId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // A retried intake finds the case it already created: one per (requester, key). NULL
        // keys (no Idempotency-Key header) are distinct on both databases.
        manager
            .create_index(
                Index::create()
                    .name("ux_case_idempotency")
                    .table(Case::Table)
                    .col(Case::IdempotencyScope)
                    .col(Case::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // An officer's queue: open cases assigned to them, most urgent deadline first.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_assignee_due")
                    .table(Case::Table)
                    .col(Case::AssigneeId)
                    .col(Case::StageDue)
                    .to_owned(),
            )
            .await?;
        // A community's cases by status (officers, partners), and the resident's own cases.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_community_status")
                    .table(Case::Table)
                    .col(Case::CommunityId)
                    .col(Case::Status)
                    .to_owned(),
            )
            .await?;
        // Duplicate suggestions at intake: recent cases of the same category near a point.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_category_created")
                    .table(Case::Table)
                    .col(Case::CategoryId)
                    .col(Case::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_reporter")
                    .table(Case::Table)
                    .col(Case::ReporterId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CaseEvent::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseEvent::Id))
                    .col(big_integer(CaseEvent::CaseId))
                    .col(timestamp_with_time_zone(CaseEvent::At))
                    .col(big_integer_null(CaseEvent::ActorId))
                    .col(string_len(CaseEvent::ActorRole, 16))
                    .col(string_len(CaseEvent::Action, 24))
                    .col(string_len_null(CaseEvent::FromStatus, 16))
                    .col(string_len(CaseEvent::ToStatus, 16))
                    .col(text_null(CaseEvent::Note))
                    // Action details (assignee, reason, rating…) as JSON text.
                    .col(text_null(CaseEvent::Data))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_event_case")
                            .from(CaseEvent::Table, CaseEvent::CaseId)
                            .to(Case::Table, Case::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The timeline of one case, in order.
        manager
            .create_index(
                Index::create()
                    .name("idx_case_event_case")
                    .table(CaseEvent::Table)
                    .col(CaseEvent::CaseId)
                    .col(CaseEvent::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CaseEvent::Table.into_iden(),
            Case::Table.into_iden(),
            CaseNumberCounter::Table.into_iden(),
            CalendarDay::Table.into_iden(),
            WorkCalendar::Table.into_iden(),
            SlaPolicy::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CaseCategory {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Grid {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SlaPolicy {
    Table,
    Id,
    CategoryId,
    Priority,
    AcceptLimit,
    DispatchLimit,
    SignLimit,
    ResolveLimit,
    VerifyLimit,
}

#[derive(DeriveIden)]
enum WorkCalendar {
    Table,
    Id,
    Windows,
    Weekend,
}

#[derive(DeriveIden)]
enum CalendarDay {
    Table,
    Day,
    Kind,
    Name,
}

#[derive(DeriveIden)]
enum CaseNumberCounter {
    Table,
    Prefix,
    Day,
    LastSeq,
}

// Column names mirror the table (`case_type` in `cases`), whatever clippy thinks of the prefix.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Case {
    #[sea_orm(iden = "cases")]
    Table,
    Id,
    Number,
    CategoryId,
    CaseType,
    Priority,
    Source,
    Status,
    Description,
    Address,
    Lat,
    Lon,
    GridId,
    CommunityId,
    StreetId,
    DistrictId,
    ReporterId,
    ReporterName,
    ReporterPhone,
    TrackingTokenHash,
    SuggestedOfficerId,
    AssigneeId,
    Stage,
    StageDue,
    Version,
    Rating,
    RatingComment,
    IdempotencyScope,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum CaseEvent {
    Table,
    Id,
    CaseId,
    At,
    ActorId,
    ActorRole,
    Action,
    FromStatus,
    ToStatus,
    Note,
    Data,
}
