//! The pool's connections to PostgreSQL over TCP have Nagle's algorithm off (`src/nodelay.rs`):
//! without it, a statement the driver writes in several pieces waits 40 ms for an
//! acknowledgement (docs/PERFORMANCE.md).

#![cfg(target_os = "linux")]

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use whistle_persistence::testing::TestDatabase;
use whistle_persistence::{Backend, DbSettings, connect, nodelay};

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap_or(5432)
}

#[tokio::test]
#[ignore = "needs PostgreSQL (WHISTLE_TEST_DATABASE_URL); .ci/run runs it with --include-ignored"]
async fn every_pooled_connection_to_postgresql_has_nagle_off() {
    let test_db = TestDatabase::create().await;
    assert_eq!(
        test_db.backend(),
        Backend::Postgres,
        "set WHISTLE_TEST_DATABASE_URL"
    );
    let port = port_of(test_db.url());

    // A socket opened as the driver opens its own has Nagle on, and the finder sees that.
    let plain = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let local = plain.local_addr().unwrap();
    let before = nodelay::sockets_to_port(port).unwrap();
    let seen = before
        .iter()
        .find(|s| s.local == local)
        .expect("the finder sees the socket");
    assert!(!seen.nodelay, "a new TCP socket starts with Nagle on");

    let db = connect(&DbSettings {
        url: test_db.url().to_owned(),
        max_connections: Some(4),
        acquire_timeout: Duration::from_secs(10),
        statement_timeout: None,
    })
    .await
    .unwrap();
    // Four statements at once make the pool open four connections, each through the hook.
    let sleep = || {
        db.execute_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pg_sleep(0.2)",
        ))
    };
    let (a, b, c, d) = tokio::join!(sleep(), sleep(), sleep(), sleep());
    for result in [a, b, c, d] {
        result.unwrap();
    }

    let after = nodelay::sockets_to_port(port).unwrap();
    assert!(
        after.len() >= 5,
        "the four pooled connections and the plain socket are found: {after:?}"
    );
    assert!(
        after.iter().all(|s| s.nodelay),
        "every socket to the database's port has Nagle off: {after:?}"
    );
    drop(plain);
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_socket_on_another_port_is_left_alone() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server_side, _) = listener.accept().unwrap();

    // Only sockets whose peer is on the database's port are touched.
    let changed = nodelay::on_new_connection(port.wrapping_add(1).max(1));
    let client_socket = nodelay::sockets_to_port(port).unwrap();
    assert_eq!(client_socket.len(), 1, "{client_socket:?}");
    assert!(
        !client_socket[0].nodelay,
        "changed {changed} other sockets, not this one"
    );
    assert!(!client.nodelay().unwrap());

    // And the one to the given port is (once the duplicates the finder handed out are gone).
    drop(client_socket);
    assert_eq!(nodelay::on_new_connection(port), 1);
    assert!(client.nodelay().unwrap());
}
