use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pledge")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: i64,
    pub officer_id: i64,
    #[sea_orm(column_type = "Text")]
    pub frontage: String,
    pub signed_on: String,
    pub valid_from: String,
    pub valid_until: String,
    pub revoked_on: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub revoked_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub items: String,
    pub signature_sha256: Option<String>,
    pub signature_mime: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(unique)]
    pub number: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
