use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "community")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub street_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub boundary: String,
    #[sea_orm(column_type = "Double")]
    pub min_lon: f64,
    #[sea_orm(column_type = "Double")]
    pub min_lat: f64,
    #[sea_orm(column_type = "Double")]
    pub max_lon: f64,
    #[sea_orm(column_type = "Double")]
    pub max_lat: f64,
    pub created_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::street::Entity",
        from = "Column::StreetId",
        to = "super::street::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Street,
    #[sea_orm(has_many = "super::grid::Entity")]
    Grid,
}

impl Related<super::street::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Street.def()
    }
}

impl Related<super::grid::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Grid.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
