//! Community operations (城管进社区): officers stationed in communities, partner organisations,
//! merchants, their four-responsibility pledges (门前四包) and inspections against them.
//!
//! Calendar dates are ISO `YYYY-MM-DD` strings, as in the working calendar: they compare and sort
//! correctly as text on both databases and carry no time zone to misread.
//!
//! Indexes, by the query each serves:
//! - `idx_stationing_community` (community_id, starts_on): a community's current officers, read
//!   on every intake (routing) and by the contact card.
//! - `idx_stationing_officer` (officer_id, starts_on): the overlap check when stationing an
//!   officer, and an officer's history.
//! - `idx_merchant_community` (community_id, name) and `idx_merchant_grid` (grid_id): the
//!   registry's search by community or grid, ordered by name.
//! - `idx_pledge_merchant` (merchant_id, valid_from): a merchant's pledges and its active one.
//! - `idx_pledge_valid_until` (valid_until): pledges expiring within N days, for the list and
//!   for the notifier's reminders, without scanning every pledge.
//! - `idx_inspection_merchant` (merchant_id, inspected_at): compliance history, last N.
//! - `idx_cases_merchant` (merchant_id): cases opened against a merchant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Stationing::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Stationing::Id))
                    .col(big_integer(Stationing::OfficerId))
                    .col(big_integer(Stationing::CommunityId))
                    .col(text_null(Stationing::Duties))
                    .col(text_null(Stationing::EnforcementScope))
                    .col(string_len_null(Stationing::OfficeHours, 200))
                    .col(string_len_null(Stationing::ContactPhone, 11))
                    .col(string_len(Stationing::StartsOn, 10))
                    // Inclusive; NULL while open-ended.
                    .col(string_len_null(Stationing::EndsOn, 10))
                    .col(big_integer_null(Stationing::CreatedBy))
                    .col(timestamp_with_time_zone(Stationing::CreatedAt))
                    .col(timestamp_with_time_zone(Stationing::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_stationing_officer",
                        (Stationing::Table, Stationing::OfficerId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_stationing_community",
                        (Stationing::Table, Stationing::CommunityId),
                        (Community::Table, Community::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_stationing_community",
            Stationing::Table,
            &[Stationing::CommunityId, Stationing::StartsOn],
        )
        .await?;
        index(
            manager,
            "idx_stationing_officer",
            Stationing::Table,
            &[Stationing::OfficerId, Stationing::StartsOn],
        )
        .await?;

        // An officer's portrait for the contact card.
        manager
            .alter_table(
                Table::alter()
                    .table(Officer::Table)
                    .add_column(string_len_null(Officer::PhotoSha256, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Officer::Table)
                    .add_column(string_len_null(Officer::PhotoMime, 32))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Organisation::Id))
                    // `property_company` (物业公司) or `homeowners_committee` (业委会).
                    .col(string_len(Organisation::Kind, 32))
                    .col(string_len(Organisation::Name, 100))
                    .col(big_integer(Organisation::CommunityId))
                    .col(string_len_null(Organisation::ContactName, 100))
                    .col(string_len_null(Organisation::ContactPhone, 11))
                    .col(timestamp_with_time_zone(Organisation::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_organisation_community",
                        (Organisation::Table, Organisation::CommunityId),
                        (Community::Table, Community::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_organisation_community",
            Organisation::Table,
            &[Organisation::CommunityId],
        )
        .await?;
        // A partner account belongs to at most one organisation.
        manager
            .create_table(
                Table::create()
                    .table(OrganisationMember::Table)
                    .if_not_exists()
                    .col(big_integer(OrganisationMember::UserId).primary_key())
                    .col(big_integer(OrganisationMember::OrganisationId))
                    .foreign_key(&mut fk(
                        "fk_member_user",
                        (OrganisationMember::Table, OrganisationMember::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_member_organisation",
                        (
                            OrganisationMember::Table,
                            OrganisationMember::OrganisationId,
                        ),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Merchant::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Merchant::Id))
                    .col(string_len(Merchant::Name, 100))
                    .col(string_len_uniq(Merchant::LicenceNumber, 18))
                    .col(string_len(Merchant::OwnerName, 100))
                    .col(string_len(Merchant::OwnerPhone, 11))
                    .col(string_len(Merchant::Address, 200))
                    .col(string_len(Merchant::BusinessType, 100))
                    .col(double(Merchant::Lat))
                    .col(double(Merchant::Lon))
                    .col(big_integer(Merchant::GridId))
                    .col(big_integer(Merchant::CommunityId))
                    .col(big_integer(Merchant::StreetId))
                    .col(big_integer(Merchant::DistrictId))
                    .col(big_integer_null(Merchant::CreatedBy))
                    .col(timestamp_with_time_zone(Merchant::CreatedAt))
                    .col(timestamp_with_time_zone(Merchant::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_merchant_grid",
                        (Merchant::Table, Merchant::GridId),
                        (Grid::Table, Grid::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_merchant_community",
                        (Merchant::Table, Merchant::CommunityId),
                        (Community::Table, Community::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_merchant_community",
            Merchant::Table,
            &[Merchant::CommunityId, Merchant::Name],
        )
        .await?;
        index(
            manager,
            "idx_merchant_grid",
            Merchant::Table,
            &[Merchant::GridId],
        )
        .await?;

        // The city's pledge items; empty means the built-in four (市容整洁, 环境卫生, 公共秩序,
        // 绿化与设施).
        manager
            .create_table(
                Table::create()
                    .table(PledgeItem::Table)
                    .if_not_exists()
                    .col(string_len(PledgeItem::Code, 32).primary_key())
                    .col(string_len(PledgeItem::NameZh, 100))
                    .col(string_len(PledgeItem::NameEn, 100))
                    .col(text(PledgeItem::Body))
                    .col(integer(PledgeItem::Position))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Pledge::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Pledge::Id))
                    .col(big_integer(Pledge::MerchantId))
                    .col(big_integer(Pledge::OfficerId))
                    .col(text(Pledge::Frontage))
                    .col(string_len(Pledge::SignedOn, 10))
                    .col(string_len(Pledge::ValidFrom, 10))
                    .col(string_len(Pledge::ValidUntil, 10))
                    .col(string_len_null(Pledge::RevokedOn, 10))
                    .col(text_null(Pledge::RevokedReason))
                    // The items as signed (JSON): later edits of the city's items do not change
                    // what a merchant agreed to.
                    .col(text(Pledge::Items))
                    .col(string_len_null(Pledge::SignatureSha256, 64))
                    .col(string_len_null(Pledge::SignatureMime, 32))
                    .col(timestamp_with_time_zone(Pledge::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_pledge_merchant",
                        (Pledge::Table, Pledge::MerchantId),
                        (Merchant::Table, Merchant::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_pledge_officer",
                        (Pledge::Table, Pledge::OfficerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_pledge_merchant",
            Pledge::Table,
            &[Pledge::MerchantId, Pledge::ValidFrom],
        )
        .await?;
        index(
            manager,
            "idx_pledge_valid_until",
            Pledge::Table,
            &[Pledge::ValidUntil],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Inspection::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Inspection::Id))
                    .col(big_integer(Inspection::MerchantId))
                    .col(big_integer(Inspection::PledgeId))
                    .col(big_integer(Inspection::OfficerId))
                    .col(timestamp_with_time_zone(Inspection::InspectedAt))
                    // Every item passed.
                    .col(boolean(Inspection::Passed))
                    .col(text_null(Inspection::Note))
                    .foreign_key(&mut fk(
                        "fk_inspection_merchant",
                        (Inspection::Table, Inspection::MerchantId),
                        (Merchant::Table, Merchant::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_inspection_pledge",
                        (Inspection::Table, Inspection::PledgeId),
                        (Pledge::Table, Pledge::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_inspection_officer",
                        (Inspection::Table, Inspection::OfficerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_inspection_merchant",
            Inspection::Table,
            &[Inspection::MerchantId, Inspection::InspectedAt],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspectionResult::Table)
                    .if_not_exists()
                    .col(big_pk_auto(InspectionResult::Id))
                    .col(big_integer(InspectionResult::InspectionId))
                    .col(string_len(InspectionResult::ItemCode, 32))
                    .col(boolean(InspectionResult::Passed))
                    .col(text_null(InspectionResult::Note))
                    // The case opened for a failed item, if any.
                    .col(big_integer_null(InspectionResult::CaseId))
                    .foreign_key(&mut fk(
                        "fk_result_inspection",
                        (InspectionResult::Table, InspectionResult::InspectionId),
                        (Inspection::Table, Inspection::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_result_case",
                        (InspectionResult::Table, InspectionResult::CaseId),
                        (Cases::Table, Cases::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_result_item")
                    .table(InspectionResult::Table)
                    .col(InspectionResult::InspectionId)
                    .col(InspectionResult::ItemCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspectionPhoto::Table)
                    .if_not_exists()
                    .col(big_pk_auto(InspectionPhoto::Id))
                    .col(big_integer(InspectionPhoto::InspectionId))
                    .col(string_len_null(InspectionPhoto::ItemCode, 32))
                    .col(string_len(InspectionPhoto::Sha256, 64))
                    .col(string_len(InspectionPhoto::Mime, 32))
                    .col(big_integer(InspectionPhoto::Size))
                    .col(timestamp_with_time_zone(InspectionPhoto::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_inspection_photo",
                        (InspectionPhoto::Table, InspectionPhoto::InspectionId),
                        (Inspection::Table, Inspection::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_inspection_photo",
            InspectionPhoto::Table,
            &[InspectionPhoto::InspectionId],
        )
        .await?;

        // A case opened against a merchant (after a failed inspection, or reported about it).
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(big_integer_null(Cases::MerchantId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_cases_merchant",
            Cases::Table,
            &[Cases::MerchantId],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_cases_merchant")
                    .table(Cases::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::MerchantId)
                    .to_owned(),
            )
            .await?;
        for table in [
            InspectionPhoto::Table.into_iden(),
            InspectionResult::Table.into_iden(),
            Inspection::Table.into_iden(),
            Pledge::Table.into_iden(),
            PledgeItem::Table.into_iden(),
            Merchant::Table.into_iden(),
            OrganisationMember::Table.into_iden(),
            Organisation::Table.into_iden(),
            Stationing::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for col in [Officer::PhotoMime, Officer::PhotoSha256] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Officer::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

async fn index<T: IntoIden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[T],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(*col);
    }
    manager.create_index(idx.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Stationing {
    Table,
    Id,
    OfficerId,
    CommunityId,
    Duties,
    EnforcementScope,
    OfficeHours,
    ContactPhone,
    StartsOn,
    EndsOn,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Officer {
    Table,
    PhotoSha256,
    PhotoMime,
}

#[derive(DeriveIden, Clone, Copy)]
enum Organisation {
    Table,
    Id,
    Kind,
    Name,
    CommunityId,
    ContactName,
    ContactPhone,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrganisationMember {
    Table,
    UserId,
    OrganisationId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Merchant {
    Table,
    Id,
    Name,
    LicenceNumber,
    OwnerName,
    OwnerPhone,
    Address,
    BusinessType,
    Lat,
    Lon,
    GridId,
    CommunityId,
    StreetId,
    DistrictId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PledgeItem {
    Table,
    Code,
    NameZh,
    NameEn,
    Body,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Pledge {
    Table,
    Id,
    MerchantId,
    OfficerId,
    Frontage,
    SignedOn,
    ValidFrom,
    ValidUntil,
    RevokedOn,
    RevokedReason,
    Items,
    SignatureSha256,
    SignatureMime,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Inspection {
    Table,
    Id,
    MerchantId,
    PledgeId,
    OfficerId,
    InspectedAt,
    Passed,
    Note,
}

#[derive(DeriveIden, Clone, Copy)]
enum InspectionResult {
    Table,
    Id,
    InspectionId,
    ItemCode,
    Passed,
    Note,
    CaseId,
}

#[derive(DeriveIden, Clone, Copy)]
enum InspectionPhoto {
    Table,
    Id,
    InspectionId,
    ItemCode,
    Sha256,
    Mime,
    Size,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    Id,
    MerchantId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Community {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Grid {
    Table,
    Id,
}
