//! Migration 000013 (analytics) goes down and up again on both databases (the figures it feeds
//! are tested through the API in `crates/api/tests/api/analytics.rs`).

use sea_orm::{ConnectionTrait, Database, Statement};
use whistle_migration::{Migrator, MigratorTrait};
use whistle_persistence::testing::TestDatabase;

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn analytics_migration_goes_down_and_up() {
    let test_db = TestDatabase::create().await;
    let url = match test_db.url() {
        u if u.starts_with("sqlite:") => format!("{u}?mode=rwc"),
        u => u.to_owned(),
    };
    let db = Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM case_fact").await, 0);
    // Later migrations sit on top of 000013: undo them and it, then go all the way up (which
    // also proves every later migration goes down on this database).
    let from_000013 = (Migrator::migrations().len() - 12) as u32;
    Migrator::down(&db, Some(from_000013)).await.unwrap();
    let gone = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM case_fact",
        ))
        .await;
    assert!(gone.is_err(), "case_fact is dropped");
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM case_fact").await, 0);
}
