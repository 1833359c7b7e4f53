//! Photos attached to cases. The bytes live in content-addressed files (their SHA-256 names
//! them); the table records which case a photo belongs to, who added it and why.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseAttachment::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseAttachment::Id))
                    .col(big_integer(CaseAttachment::CaseId))
                    .col(string_len(CaseAttachment::Sha256, 64))
                    .col(string_len(CaseAttachment::Mime, 32))
                    .col(big_integer(CaseAttachment::Size))
                    // `report` (with the report) or `after` (the officer's after-photo).
                    .col(string_len(CaseAttachment::Kind, 16))
                    .col(big_integer_null(CaseAttachment::UploadedBy))
                    .col(timestamp_with_time_zone(CaseAttachment::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachment_case")
                            .from(CaseAttachment::Table, CaseAttachment::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // A case's photos, in order.
        manager
            .create_index(
                Index::create()
                    .name("idx_attachment_case")
                    .table(CaseAttachment::Table)
                    .col(CaseAttachment::CaseId)
                    .col(CaseAttachment::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseAttachment::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CaseAttachment {
    Table,
    Id,
    CaseId,
    Sha256,
    Mime,
    Size,
    Kind,
    UploadedBy,
    CreatedAt,
}
