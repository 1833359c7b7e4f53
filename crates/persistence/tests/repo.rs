//! Repositories against real databases: SQLite by default, PostgreSQL when
//! WHISTLE_TEST_DATABASE_URL is set. One fresh database per test.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use whistle_domain::geography::{Boundary, CasePrefix};
use whistle_domain::people::{BadgeNumber, NewUser, PhoneNumber, Role, Username};
use whistle_domain::text::{Code, Name};
use whistle_migration::{Migrator, MigratorTrait};
use whistle_persistence::repo::PageRequest;
use whistle_persistence::repo::geography::{self, CommunityFilter};
use whistle_persistence::repo::users::{self, NewOfficer};
use whistle_persistence::testing::TestDatabase;
use whistle_persistence::{RepoError, migrate};

async fn fresh() -> (TestDatabase, DatabaseConnection) {
    TestDatabase::migrated().await
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Boundary {
    Boundary::from_geojson(&format!(
        r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#
    ))
    .unwrap()
}

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn new_user(username: &str, phone: Option<&str>, role: Role) -> NewUser {
    NewUser {
        username: Username::parse(username).unwrap(),
        display_name: name(username),
        phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
        role,
    }
}

#[tokio::test]
async fn migrations_apply_twice_and_roll_back() {
    let (_guard, db) = fresh().await;
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
    migrate(&db).await.expect("second run is a no-op");
    Migrator::down(&db, None)
        .await
        .expect("every migration has a down");
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        Migrator::migrations().len()
    );
    migrate(&db).await.expect("and up again");
}

#[tokio::test]
async fn geography_round_trips_and_is_idempotent() {
    let (_guard, db) = fresh().await;
    let district = geography::ensure_district(
        &db,
        &code("320706"),
        &name("海州区"),
        &CasePrefix::parse("HZ").unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let again = geography::ensure_district(
        &db,
        &code("320706"),
        &name("别的名字"),
        &CasePrefix::parse("XX").unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(district, again, "found by code, not inserted twice");
    let street = geography::ensure_street(
        &db,
        district.id,
        &code("S1"),
        &name("海州街道"),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let community = geography::ensure_community(
        &db,
        street.id,
        &code("C1"),
        &name("文昌社区"),
        &rect(0.0, 0.0, 2.0, 2.0),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let grid = geography::ensure_grid(
        &db,
        &community,
        &code("G1"),
        &name("第一网格"),
        &rect(0.0, 0.0, 1.0, 1.0),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(geography::get_grid(&db, grid.id).await.unwrap(), grid);
    let ctx = geography::get_community(&db, community.id).await.unwrap();
    assert_eq!(ctx.community, community);
    assert_eq!(ctx.street, street);
    assert_eq!(ctx.district, district);
    assert_eq!(ctx.grid_count, 1);
    let page = geography::list_communities(
        &db,
        CommunityFilter::default(),
        PageRequest {
            after: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_after, None);
}

#[tokio::test]
async fn a_grid_outside_its_community_is_refused() {
    let (_guard, db) = fresh().await;
    let d = geography::ensure_district(
        &db,
        &code("D"),
        &name("区"),
        &CasePrefix::parse("D").unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let s = geography::ensure_street(&db, d.id, &code("S"), &name("街道"), chrono::Utc::now())
        .await
        .unwrap();
    let c = geography::ensure_community(
        &db,
        s.id,
        &code("C"),
        &name("社区"),
        &rect(0.0, 0.0, 1.0, 1.0),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let err = geography::ensure_grid(
        &db,
        &c,
        &code("G"),
        &name("网格"),
        &rect(0.5, 0.5, 1.5, 1.5),
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RepoError::Conflict(_)), "{err:?}");
    assert!(geography::list_grids(&db, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_parents_are_reference_errors() {
    let (_guard, db) = fresh().await;
    let err = geography::ensure_street(
        &db,
        whistle_domain::ids::DistrictId::new(999).unwrap(),
        &code("S"),
        &name("街道"),
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RepoError::Reference(_)), "{err:?}");
}

#[tokio::test]
async fn usernames_and_phones_are_unique_but_phone_is_optional() {
    let (_guard, db) = fresh().await;
    users::create_user(
        &db,
        &new_user("alice", Some("13800000001"), Role::Resident),
        "h".into(),
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // Two staff accounts without a phone coexist.
    users::create_user(
        &db,
        &new_user("disp1", None, Role::Dispatcher),
        "h".into(),
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    users::create_user(
        &db,
        &new_user("disp2", None, Role::Dispatcher),
        "h".into(),
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let dup_name = users::create_user(
        &db,
        &new_user("alice", None, Role::Admin),
        "h".into(),
        None,
        chrono::Utc::now(),
    )
    .await;
    assert!(
        matches!(dup_name, Err(RepoError::Conflict(_))),
        "{dup_name:?}"
    );
    let dup_phone = users::create_user(
        &db,
        &new_user("bob", Some("+86 138 0000 0001"), Role::Resident),
        "h".into(),
        None,
        chrono::Utc::now(),
    )
    .await;
    assert!(
        matches!(dup_phone, Err(RepoError::Conflict(_))),
        "{dup_phone:?}"
    );
}

#[tokio::test]
async fn an_officer_and_its_account_commit_together_or_not_at_all() {
    let (_guard, db) = fresh().await;
    let officer = |badge: &str| NewOfficer {
        badge_number: BadgeNumber::parse(badge).unwrap(),
        squad: Some(name("海州一大队")),
    };
    let txn = db.begin().await.unwrap();
    let (user, o) = users::create_user(
        &txn,
        &new_user("tianye", None, Role::Officer),
        "h".into(),
        Some(&officer("HZ0101")),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(o.unwrap().user_id, user.id);

    let txn = db.begin().await.unwrap();
    let err = users::create_user(
        &txn,
        &new_user("someone", None, Role::Officer),
        "h".into(),
        Some(&officer("hz0101")),
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RepoError::Conflict(_)), "{err:?}");
    txn.rollback().await.unwrap();
    assert!(
        users::find_by_username(&db, &Username::parse("someone").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_row_changed_behind_our_back_is_reported_not_panicked_on() {
    let (_guard, db) = fresh().await;
    let d = geography::ensure_district(
        &db,
        &code("D"),
        &name("区"),
        &CasePrefix::parse("D").unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let s = geography::ensure_street(&db, d.id, &code("S"), &name("街道"), chrono::Utc::now())
        .await
        .unwrap();
    geography::ensure_community(
        &db,
        s.id,
        &code("C"),
        &name("社区"),
        &rect(0.0, 0.0, 1.0, 1.0),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "UPDATE community SET boundary = 'not geojson'".to_owned(),
    ))
    .await
    .unwrap();
    let err = geography::list_communities(
        &db,
        CommunityFilter::default(),
        PageRequest {
            after: None,
            limit: 10,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            RepoError::Corrupt {
                table: "community",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn api_keys_are_found_by_hash_until_revoked() {
    use whistle_persistence::repo::api_keys;
    let (_guard, db) = fresh().await;
    let now = chrono::Utc::now();
    let hash = "a".repeat(64);
    let key = api_keys::insert(&db, &name("街道小程序"), &hash, "w311_abcd", None, now)
        .await
        .unwrap();
    assert!(key.is_active());
    assert_eq!(key.created_by, None);
    let found = api_keys::find_active(&db, &hash).await.unwrap().unwrap();
    assert_eq!(found.id, key.id);
    assert!(
        api_keys::find_active(&db, &"b".repeat(64))
            .await
            .unwrap()
            .is_none()
    );
    // The same hash twice is a conflict, not a second key.
    assert!(matches!(
        api_keys::insert(&db, &name("另一个"), &hash, "w311_abcd", None, now).await,
        Err(RepoError::Conflict(_))
    ));
    api_keys::touch(&db, key.id, now).await.unwrap();
    assert!(
        api_keys::get(&db, key.id)
            .await
            .unwrap()
            .last_used_at
            .is_some()
    );
    let (revoked, newly) = api_keys::revoke(&db, key.id, now).await.unwrap();
    assert!(newly && !revoked.is_active());
    let (_, again) = api_keys::revoke(&db, key.id, now).await.unwrap();
    assert!(!again, "revoking twice changes nothing");
    assert!(api_keys::find_active(&db, &hash).await.unwrap().is_none());
    assert!(matches!(
        api_keys::revoke(&db, key.id + 100, now).await,
        Err(RepoError::NotFound(_))
    ));
    assert_eq!(api_keys::list(&db).await.unwrap().len(), 1);
}
