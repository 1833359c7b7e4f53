use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stationing")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub officer_id: i64,
    pub community_id: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub duties: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    pub contact_phone: Option<String>,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
