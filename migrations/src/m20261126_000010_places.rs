//! The address book (标准地址库): named places with a WGS-84 point, routed to their grid when
//! they are entered, so that a report naming a place instead of sending coordinates is routed
//! like any other. `cases.place_id` records which entry placed a case.
//!
//! - `key` is the name reduced to what identifies it (see `whistle_domain::place`); it is
//!   unique, so an import that names an entry again updates it instead of adding a twin.
//! - `idx_place_community` (community_id, active): the address book of one community, for the
//!   hotline's picker.
//! - Address matching looks up every piece of the address text that could be a key (3–40
//!   characters) through the unique key index, so its cost grows with the address's length, not
//!   with the size of the book.
//! - Entries are retired (`active = false`), never deleted, so a case's `place_id` keeps
//!   pointing at the entry that placed it; the column has no foreign key for the same reason
//!   SQLite could not add one to an existing table.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_geography::Grid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Place::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Place::Id))
                    .col(string_len_uniq(Place::Key, 200))
                    .col(string_len(Place::Name, 100))
                    .col(string_len(Place::Kind, 16))
                    .col(double(Place::Lat))
                    .col(double(Place::Lon))
                    .col(big_integer(Place::GridId))
                    .col(big_integer(Place::CommunityId))
                    .col(big_integer(Place::StreetId))
                    .col(big_integer(Place::DistrictId))
                    .col(boolean(Place::Active).default(true))
                    .col(timestamp_with_time_zone(Place::CreatedAt))
                    .col(timestamp_with_time_zone(Place::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_place_grid")
                            .from(Place::Table, Place::GridId)
                            .to(Grid::Table, Grid::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_place_community")
                    .table(Place::Table)
                    .col(Place::CommunityId)
                    .col(Place::Active)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(big_integer_null(Cases::PlaceId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::PlaceId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Place::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Place {
    Table,
    Id,
    Key,
    Name,
    Kind,
    Lat,
    Lon,
    GridId,
    CommunityId,
    StreetId,
    DistrictId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    PlaceId,
}
