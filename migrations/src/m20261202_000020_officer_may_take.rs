//! `case_category.officer_may_take` (小事一格解决): whether the officer stationed in a case's
//! community may accept a report of this category himself, which dispatches it to him in the
//! same step. On by default (most of what residents report are small matters: noise, stalls,
//! litter); bureaus switch it off for the categories the command centre must weigh first
//! (illegal construction, large rubble dumps). Additive, with a default: safe on a live database.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseCategory::Table)
                    .add_column(boolean(CaseCategory::OfficerMayTake).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseCategory::Table)
                    .drop_column(CaseCategory::OfficerMayTake)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CaseCategory {
    Table,
    OfficerMayTake,
}
