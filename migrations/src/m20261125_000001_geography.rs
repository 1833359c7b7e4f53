//! The administrative hierarchy: districts → streets → communities → grids.
//!
//! Boundaries are stored as GeoJSON text, which both SQLite and PostgreSQL hold without
//! extensions; routing happens in memory through an R-tree built from them (see
//! `whistle_domain::routing`). The bounding box is kept in plain columns so that later spatial
//! prefilters ("grids near this point") can use an ordinary B-tree index on either database.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(District::Table)
                    .if_not_exists()
                    .col(big_pk_auto(District::Id))
                    .col(string_len_uniq(District::Code, 32))
                    .col(string_len(District::Name, 100))
                    .col(string_len_uniq(District::CasePrefix, 6))
                    .col(timestamp_with_time_zone(District::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Street::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Street::Id))
                    .col(big_integer(Street::DistrictId))
                    .col(string_len_uniq(Street::Code, 32))
                    .col(string_len(Street::Name, 100))
                    .col(timestamp_with_time_zone(Street::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_street_district")
                            .from(Street::Table, Street::DistrictId)
                            .to(District::Table, District::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_street_district")
                    .table(Street::Table)
                    .col(Street::DistrictId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Community::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Community::Id))
                    .col(big_integer(Community::StreetId))
                    .col(string_len_uniq(Community::Code, 32))
                    .col(string_len(Community::Name, 100))
                    .col(text(Community::Boundary))
                    .col(double(Community::MinLon))
                    .col(double(Community::MinLat))
                    .col(double(Community::MaxLon))
                    .col(double(Community::MaxLat))
                    .col(timestamp_with_time_zone(Community::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_community_street")
                            .from(Community::Table, Community::StreetId)
                            .to(Street::Table, Street::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_community_street")
                    .table(Community::Table)
                    .col(Community::StreetId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Grid::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Grid::Id))
                    .col(big_integer(Grid::CommunityId))
                    .col(string_len_uniq(Grid::Code, 32))
                    .col(string_len(Grid::Name, 100))
                    .col(text(Grid::Boundary))
                    .col(double(Grid::MinLon))
                    .col(double(Grid::MinLat))
                    .col(double(Grid::MaxLon))
                    .col(double(Grid::MaxLat))
                    .col(timestamp_with_time_zone(Grid::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grid_community")
                            .from(Grid::Table, Grid::CommunityId)
                            .to(Community::Table, Community::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // `GET /grids?community_id=` lists a community's grids.
        manager
            .create_index(
                Index::create()
                    .name("idx_grid_community")
                    .table(Grid::Table)
                    .col(Grid::CommunityId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Grid::Table.into_iden(),
            Community::Table.into_iden(),
            Street::Table.into_iden(),
            District::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub(crate) enum District {
    Table,
    Id,
    Code,
    Name,
    CasePrefix,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Street {
    Table,
    Id,
    DistrictId,
    Code,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Community {
    Table,
    Id,
    StreetId,
    Code,
    Name,
    Boundary,
    MinLon,
    MinLat,
    MaxLon,
    MaxLat,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Grid {
    Table,
    Id,
    CommunityId,
    Code,
    Name,
    Boundary,
    MinLon,
    MinLat,
    MaxLon,
    MaxLat,
    CreatedAt,
}
