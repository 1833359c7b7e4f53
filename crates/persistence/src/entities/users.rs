use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    #[sea_orm(unique)]
    pub phone: Option<String>,
    pub role: String,
    #[sea_orm(column_type = "Text")]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeWithTimeZone>,
    pub email: Option<String>,
    pub locale: String,
    pub sessions_valid_after: Option<DateTimeWithTimeZone>,
    pub must_change_password: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::officer::Entity")]
    Officer,
}

impl Related<super::officer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Officer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
