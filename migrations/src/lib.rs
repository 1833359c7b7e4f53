#![doc = include_str!("../README.md")]

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_geography;
mod m20261125_000002_people;
mod m20261125_000003_case_categories;
mod m20261125_000004_auth;
mod m20261125_000005_cases;
mod m20261125_000006_attachments;
mod m20261125_000007_attributes;
mod m20261125_000008_community_ops;
mod m20261125_000009_work_logs;
mod m20261126_000010_places;
mod m20261126_000011_api_keys;
mod m20261126_000012_notifications;
mod m20261126_000013_analytics;
mod m20261126_000014_open_load_index;
mod m20261201_000015_request_fingerprints_and_session_cutoffs;
mod m20261201_000016_pending_registration;
mod m20261202_000017_accounts;
mod m20261202_000018_printing;
mod m20261202_000020_officer_may_take;
mod m20261203_000021_narrow_case_indexes;

/// Every migration, in order. Append; never reorder or edit one that has shipped.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_geography::Migration),
            Box::new(m20261125_000002_people::Migration),
            Box::new(m20261125_000003_case_categories::Migration),
            Box::new(m20261125_000004_auth::Migration),
            Box::new(m20261125_000005_cases::Migration),
            Box::new(m20261125_000006_attachments::Migration),
            Box::new(m20261125_000007_attributes::Migration),
            Box::new(m20261125_000008_community_ops::Migration),
            Box::new(m20261125_000009_work_logs::Migration),
            Box::new(m20261126_000010_places::Migration),
            Box::new(m20261126_000011_api_keys::Migration),
            Box::new(m20261126_000012_notifications::Migration),
            Box::new(m20261126_000013_analytics::Migration),
            Box::new(m20261126_000014_open_load_index::Migration),
            Box::new(m20261201_000015_request_fingerprints_and_session_cutoffs::Migration),
            Box::new(m20261201_000016_pending_registration::Migration),
            Box::new(m20261202_000017_accounts::Migration),
            Box::new(m20261202_000018_printing::Migration),
            Box::new(m20261202_000020_officer_may_take::Migration),
            Box::new(m20261203_000021_narrow_case_indexes::Migration),
        ]
    }
}
