//! Photos on S3-compatible storage (`attachments.store = "s3"`) shared by two API nodes, against
//! a real S3 server in a process of its own: `s3s-fs`, which keeps each bucket as a directory.
//!
//! The server is found through `WHISTLE_TEST_S3_SERVER` (a path to the `s3s-fs` binary) or on
//! `PATH`; `.ci/run` installs it (`cargo install s3s-fs`) and runs this test with
//! `--include-ignored`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::attachments::{new_case, photo_with_exif, upload};
use crate::helpers::{TestApp, assert_problem};

const BUCKET: &str = "whistle-photos";
const ACCESS_KEY: &str = "whistle-test";
const SECRET_KEY: &str = "whistle-test-secret";

/// An `s3s-fs` server on a free loopback port, its data in a temporary directory; killed on drop.
struct S3Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl S3Server {
    fn start() -> S3Server {
        let binary = std::env::var("WHISTLE_TEST_S3_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from("s3s-fs"));
        let root = tempfile::tempdir().expect("a directory for the S3 server");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket's directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the S3 server {}: {e} (cargo install s3s-fs --features binary, \
                     or set WHISTLE_TEST_S3_SERVER)",
                    binary.display()
                )
            });
        let server = S3Server { child, port, root };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the S3 server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every object file in the bucket, relative to the server's root (the server keeps its own
    /// metadata beside the buckets).
    fn files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(BUCKET), self.root.path(), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
#[ignore = "needs the s3s-fs S3 server (WHISTLE_TEST_S3_SERVER or PATH); .ci/run installs it and runs this with --include-ignored"]
async fn a_photo_uploaded_through_one_node_is_served_by_the_other() {
    let mut s3 = S3Server::start();
    let endpoint = s3.endpoint();
    let store = [
        ("WHISTLE__ATTACHMENTS__STORE", "s3"),
        ("WHISTLE__ATTACHMENTS__S3_ENDPOINT", endpoint.as_str()),
        ("WHISTLE__ATTACHMENTS__S3_BUCKET", BUCKET),
        ("WHISTLE__ATTACHMENTS__S3_ACCESS_KEY_ID", ACCESS_KEY),
        ("WHISTLE__ATTACHMENTS__S3_SECRET_ACCESS_KEY", SECRET_KEY),
    ];
    let app = TestApp::spawn_with(true, &store).await;
    let other = app.second_process(&store).await;
    let zhang = app.token("13800001234").await;

    let case = new_case(&app, &zhang).await;
    let res = upload(&app, &zhang, case, photo_with_exif(), "gate.jpg", None).await;
    assert_eq!(res.status(), 201);
    let att: Value = res.json().await.unwrap();
    let sha = att["sha256"].as_str().unwrap();

    // The photo is in the bucket, under the prefix and its content address; nothing on disk.
    let key = format!("{BUCKET}/photos/{}/{sha}.jpg", &sha[..2]);
    assert_eq!(s3.files(), vec![key.clone()]);
    let local: Vec<_> = std::fs::read_dir(app.files.path()).unwrap().collect();
    assert!(
        local.is_empty(),
        "a photo was written to the local directory"
    );

    // The other node serves it, byte for byte as stored.
    let url = att["url"].as_str().unwrap();
    let got = other.get_as(url, &zhang).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    let stored = std::fs::read(s3.root.path().join(&key)).unwrap();
    assert_eq!(&got.bytes().await.unwrap()[..], &stored[..]);

    // The same photo through the other node is found there, not stored twice.
    let again = upload(&app, &zhang, case, photo_with_exif(), "again.jpg", None).await;
    assert_eq!(again.status(), 201);
    assert_eq!(s3.files().len(), 1);

    // Without the store: 503 storage_unavailable, never a 500, and no attachment row is left
    // pointing at a photo that was not stored.
    s3.stop();
    let refused = upload(&app, &zhang, case, photo_with_exif(), "gate.jpg", None).await;
    assert_problem(refused, 503, "storage_unavailable").await;
    assert_problem(other.get_as(url, &zhang).await, 503, "storage_unavailable").await;
    let list: Value = app
        .get_as(&format!("/api/v1/cases/{case}/attachments"), &zhang)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}
