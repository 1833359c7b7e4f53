//! Extra questions per category, and the answers given with each case, as JSON text (the
//! questions vary per category; no query filters on them).

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
                    .add_column(text_null(CaseCategory::Attributes))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(text_null(Cases::Attributes))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::Attributes)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CaseCategory::Table)
                    .drop_column(CaseCategory::Attributes)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CaseCategory {
    Table,
    Attributes,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Attributes,
}
