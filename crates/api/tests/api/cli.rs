//! The binary itself: admin commands, migrate, demo seeding, graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use whistle_api::demo;
use whistle_domain::people::{Role, Username};
use whistle_persistence::repo::{categories, geography, users};
use whistle_persistence::testing::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_whistle-api");

fn whistle(db: &TestDatabase, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("WHISTLE_CONFIG", "/nonexistent/whistle.toml")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run whistle-api");
    // The command may refuse its arguments and exit before reading: a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

async fn open(db: &TestDatabase) -> whistle_persistence::DatabaseConnection {
    let settings = crate::helpers::settings_for(db.url(), &[]);
    whistle_api::startup::open_database(&settings)
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_create_user_reads_the_password_from_stdin() {
    let db = TestDatabase::create().await;
    let out = whistle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "wangwu",
            "--role",
            "officer",
            "--display-name",
            "王五",
            "--badge-number",
            "hz0999",
            "--squad",
            "海州一大队",
        ],
        "Str0ng-enough\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("badge HZ0999"));

    let conn = open(&db).await;
    let stored = users::find_by_username(&conn, &Username::parse("wangwu").unwrap())
        .await
        .unwrap()
        .expect("user stored");
    assert_eq!(stored.user.role, Role::Officer);
    assert_eq!(stored.user.display_name.as_str(), "王五");
    assert!(
        stored.password_hash.starts_with("$argon2id$"),
        "hashed, not stored in clear"
    );
    let officer = users::officer_of_user(&conn, stored.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(officer.badge_number.as_str(), "HZ0999");
    let password = whistle_auth::password::Password::for_login("Str0ng-enough").unwrap();
    assert!(whistle_auth::password::verify(
        &password,
        &stored.password_hash
    ));

    // The same username again: refused, nothing changed.
    let again = whistle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "wangwu",
            "--role",
            "admin",
        ],
        "Str0ng-enough\n",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already taken"));
    let still = users::find_by_username(&conn, &Username::parse("wangwu").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.user.role, Role::Officer);
}

#[tokio::test]
async fn admin_create_user_refuses_bad_input_and_writes_nothing() {
    let db = TestDatabase::create().await;
    for (args, stdin) in [
        (
            vec!["--username", "zhaoliu", "--role", "superuser"],
            "Str0ng-enough\n",
        ),
        (
            vec!["--username", "zhaoliu", "--role", "dispatcher"],
            "short\n",
        ),
        (
            vec!["--username", "zhaoliu", "--role", "dispatcher"],
            "zhaoliu-2026\n",
        ),
        (
            vec!["--username", "zhaoliu", "--role", "officer"],
            "Str0ng-enough\n",
        ),
        (
            vec![
                "--username",
                "zhaoliu",
                "--role",
                "resident",
                "--badge-number",
                "X1",
            ],
            "Str0ng-enough\n",
        ),
        (
            vec![
                "--username",
                "zhaoliu",
                "--role",
                "resident",
                "--phone",
                "12345",
            ],
            "Str0ng-enough\n",
        ),
        (
            vec!["--username", "x' OR 1=1 --", "--role", "admin"],
            "Str0ng-enough\n",
        ),
        (vec!["--username", "zhaoliu", "--role", "admin"], ""),
    ] {
        let mut full = vec!["admin", "create-user"];
        full.extend(args.iter().copied());
        let out = whistle(&db, &full, stdin);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conn = open(&db).await;
    assert!(
        users::find_by_username(&conn, &Username::parse("zhaoliu").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_taken_badge_number_leaves_no_account_behind() {
    let db = TestDatabase::create().await;
    let first = whistle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "first",
            "--role",
            "officer",
            "--badge-number",
            "HZ7",
        ],
        "Str0ng-enough\n",
    );
    assert!(first.status.success());
    let second = whistle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "second",
            "--role",
            "leader",
            "--badge-number",
            "HZ7",
        ],
        "Str0ng-enough\n",
    );
    assert_eq!(second.status.code(), Some(1));
    let conn = open(&db).await;
    assert!(
        users::find_by_username(&conn, &Username::parse("second").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the user row was rolled back with the officer row"
    );
}

#[tokio::test]
async fn migrate_creates_the_schema() {
    let db = TestDatabase::create().await;
    let out = whistle(&db, &["migrate"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Twice is fine.
    assert!(whistle(&db, &["migrate"], "").status.success());
    let conn = whistle_persistence::connect(
        &crate::helpers::settings_for(db.url(), &[])
            .database
            .db_settings(),
    )
    .await
    .unwrap();
    assert!(geography::list_districts(&conn).await.unwrap().is_empty());
    assert!(
        categories::list_categories(&conn, true)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn demo_seeding_is_idempotent() {
    let db = TestDatabase::create().await;
    let conn = open(&db).await;
    let first = demo::seed(&conn).await.unwrap();
    assert_eq!(first.accounts_created, 7);
    assert_eq!(first.work_logs_created, 8);
    let counts = || async {
        (
            geography::list_communities(
                &conn,
                Default::default(),
                whistle_persistence::repo::PageRequest {
                    after: None,
                    limit: 1000,
                },
            )
            .await
            .unwrap()
            .items
            .len(),
            geography::list_grids(&conn, None).await.unwrap().len(),
            categories::list_categories(&conn, true)
                .await
                .unwrap()
                .len(),
            geography::list_streets(&conn, None).await.unwrap().len(),
        )
    };
    let before = counts().await;
    assert_eq!(before, (6, 24, 11, 3));
    // Through the binary too, as an operator would run it.
    let out = whistle(&db, &["demo"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("0 accounts created now"), "{printed}");
    assert!(printed.contains("tianye"));
    let second = demo::seed(&conn).await.unwrap();
    assert_eq!(second.accounts_created, 0);
    assert_eq!(second.work_logs_created, 0, "田野's work is seeded once");
    assert_eq!(counts().await, before);
}

#[tokio::test]
async fn the_server_stops_cleanly_on_sigterm() {
    let db = TestDatabase::create().await;
    let mut child = Command::new(BIN)
        .args(["--demo"])
        .env("DATABASE_URL", db.url())
        .env("WHISTLE_CONFIG", "/nonexistent/whistle.toml")
        .env("WHISTLE__SERVER__PORT", "0")
        .env("WHISTLE__AUTH__SIGNING_KEY", crate::helpers::TEST_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Whistle API on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server never said where it listens");
    })
    .await
    .unwrap();
    let body: serde_json::Value =
        reqwest::get(format!("{addr}/api/v1/locate?lat=34.5858&lon=119.144"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(body["community"]["name"], "文昌社区");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admin_create_user_sets_the_jurisdiction_by_area_code() {
    let db = TestDatabase::create().await;
    let conn = open(&db).await;
    demo::seed(&conn).await.unwrap();
    let out = whistle(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "chenhui",
            "--role",
            "officer",
            "--badge-number",
            "HZ0104",
            "--area",
            "community:320706001001",
            "--area",
            "community:320706002001",
        ],
        "Str0ng-enough\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = users::find_by_username(&conn, &Username::parse("chenhui").unwrap())
        .await
        .unwrap()
        .unwrap();
    let jurisdiction = users::jurisdiction_of(&conn, stored.user.id, Role::Officer)
        .await
        .unwrap();
    assert_eq!(jurisdiction.areas().len(), 2);

    // An unknown code or a level the role cannot hold: refused, no account.
    for area in ["community:999999", "street:320706001", "grid:1", "nonsense"] {
        let out = whistle(
            &db,
            &[
                "admin",
                "create-user",
                "--username",
                "luyjie",
                "--role",
                "officer",
                "--badge-number",
                "HZ0105",
                "--area",
                area,
            ],
            "Str0ng-enough\n",
        );
        assert!(!out.status.success(), "{area}");
    }
    assert!(
        users::find_by_username(&conn, &Username::parse("luyjie").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn admin_api_keys_are_created_listed_and_revoked_from_the_command_line() {
    use whistle_persistence::repo::api_keys;
    let db = TestDatabase::create().await;
    let out = whistle(
        &db,
        &["admin", "api-key", "create", "--name", "街道小程序"],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = stdout
        .lines()
        .find(|l| l.starts_with("w311_"))
        .expect("the key is printed")
        .to_owned();

    // Stored by hash only, and it is the key that was printed.
    let conn = open(&db).await;
    let stored = api_keys::find_active(&conn, &whistle_auth::api_key::hash(&key))
        .await
        .unwrap()
        .expect("the printed key is active");
    assert_eq!(stored.name.as_str(), "街道小程序");
    assert_eq!(stored.created_by, None);

    let list = whistle(&db, &["admin", "api-key", "list"], "");
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.contains("active") && listed.contains("街道小程序"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "never printed again");

    let id = stored.id.to_string();
    let revoked = whistle(&db, &["admin", "api-key", "revoke", "--id", &id], "");
    assert!(revoked.status.success());
    assert!(
        api_keys::find_active(&conn, &whistle_auth::api_key::hash(&key))
            .await
            .unwrap()
            .is_none()
    );

    // Refused input (2) and failures (1).
    let empty = whistle(&db, &["admin", "api-key", "create", "--name", "  "], "");
    assert_eq!(empty.status.code(), Some(2));
    let unknown = whistle(&db, &["admin", "api-key", "revoke", "--id", "999"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(api_keys::list(&conn).await.unwrap().len(), 1);
}
