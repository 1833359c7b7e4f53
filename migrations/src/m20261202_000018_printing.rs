//! Pledge numbers (责任书编号): a printed pledge carries a number of its own, like a case number,
//! instead of its database id.
//!
//! - `pledge_number_counter`: the last number taken per year of signing. Taking a number bumps
//!   the year's row inside the signing transaction, so two pledges never share one.
//! - `pledge.number`: `MQ-2026-000001` (门前, year of signing, sequence in that year), unique.
//!   Existing pledges are numbered here in order of signing, and the counters start after them.
//!
//! The column is added with an empty default (SQLite cannot add a `NOT NULL` column without
//! one), filled, and only then made unique, so a half-applied migration cannot leave duplicates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PledgeNumberCounter::Table)
                    .if_not_exists()
                    .col(integer(PledgeNumberCounter::Year).primary_key())
                    .col(big_integer(PledgeNumberCounter::LastSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pledge::Table)
                    .add_column(string_len(Pledge::Number, 20).default(""))
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, signed_on FROM pledge ORDER BY signed_on, id",
            ))
            .await?;
        let mut last: std::collections::BTreeMap<i32, i64> = Default::default();
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let signed_on: String = row.try_get_by_index(1)?;
            let year: i32 = signed_on
                .get(..4)
                .and_then(|y| y.parse().ok())
                .ok_or_else(|| DbErr::Custom(format!("pledge {id}: bad signed_on {signed_on}")))?;
            let seq = last.entry(year).or_insert(0);
            *seq += 1;
            let update = Query::update()
                .table(Pledge::Table)
                .value(Pledge::Number, format!("MQ-{year}-{:06}", *seq))
                .and_where(Expr::col(Pledge::Id).eq(id))
                .to_owned();
            manager.exec_stmt(update).await?;
        }
        for (year, seq) in last {
            let insert = Query::insert()
                .into_table(PledgeNumberCounter::Table)
                .columns([PledgeNumberCounter::Year, PledgeNumberCounter::LastSeq])
                .values_panic([year.into(), seq.into()])
                .to_owned();
            manager.exec_stmt(insert).await?;
        }

        manager
            .create_index(
                Index::create()
                    .name("idx_pledge_number")
                    .table(Pledge::Table)
                    .col(Pledge::Number)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_pledge_number")
                    .table(Pledge::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pledge::Table)
                    .drop_column(Pledge::Number)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PledgeNumberCounter::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Pledge {
    Table,
    Id,
    Number,
}

#[derive(DeriveIden)]
enum PledgeNumberCounter {
    Table,
    Year,
    LastSeq,
}
