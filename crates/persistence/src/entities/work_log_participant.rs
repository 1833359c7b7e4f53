use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "work_log_participant")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub work_log_id: i64,
    pub user_id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
