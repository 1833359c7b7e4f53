//! The case-category catalogue. SLA time limits per category × priority arrive with cases.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseCategory::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseCategory::Id))
                    .col(string_len_uniq(CaseCategory::Code, 32))
                    .col(string_len(CaseCategory::NameZh, 100))
                    .col(string_len(CaseCategory::NameEn, 100))
                    .col(string_len(CaseCategory::CaseType, 16))
                    .col(string_len(CaseCategory::DefaultPriority, 16))
                    .col(boolean(CaseCategory::Active).default(true))
                    .col(integer(CaseCategory::SortOrder).default(0))
                    .col(timestamp_with_time_zone(CaseCategory::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseCategory::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CaseCategory {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
    CaseType,
    DefaultPriority,
    Active,
    SortOrder,
    CreatedAt,
}
