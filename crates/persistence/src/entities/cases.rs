use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub number: String,
    pub category_id: i64,
    pub case_type: String,
    pub priority: String,
    pub source: String,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub address: Option<String>,
    #[sea_orm(column_type = "Double")]
    pub lat: f64,
    #[sea_orm(column_type = "Double")]
    pub lon: f64,
    pub grid_id: i64,
    pub community_id: i64,
    pub street_id: i64,
    pub district_id: i64,
    pub reporter_id: Option<i64>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub tracking_token_hash: Option<String>,
    pub suggested_officer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub stage: Option<String>,
    pub stage_due: Option<DateTimeWithTimeZone>,
    pub version: i32,
    pub rating: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rating_comment: Option<String>,
    pub idempotency_scope: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub closed_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(column_type = "Text", nullable)]
    pub attributes: Option<String>,
    pub merchant_id: Option<i64>,
    pub place_id: Option<i64>,
    pub stage_started_at: Option<DateTimeWithTimeZone>,
    pub idempotency_fingerprint: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
