use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempt")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account: String,
    pub source: String,
    pub failures: i32,
    pub first_failure_at: Option<DateTimeWithTimeZone>,
    pub last_failure_at: Option<DateTimeWithTimeZone>,
    pub blocked_until: Option<DateTimeWithTimeZone>,
    pub succeeded_at: Option<DateTimeWithTimeZone>,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
