//! A real server on a loopback port over a fresh database per test.

use std::collections::HashMap;
use std::path::Path;

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use whistle_api::{App, Settings, demo};
use whistle_persistence::testing::TestDatabase;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Kept so the database lives as long as the server.
    _test_db: TestDatabase,
    /// Where this server keeps photos.
    pub files: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
    /// With [`TestApp::checking_schemas`]: the server's OpenAPI document, against which every
    /// JSON answer to this app's request helpers is validated.
    openapi: Option<std::sync::Arc<Value>>,
}

/// The signing key of test servers (`kid:base64` of 32 bytes of 0x2a).
pub const TEST_KEY: &str = "test-1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// The demo accounts' password.
pub const PW: &str = whistle_api::demo::DEMO_PASSWORD;

/// Settings for a test: the given database, port 0, no config file, a fixed signing key.
pub fn settings_for(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("WHISTLE__SERVER__PORT".to_owned(), "0".to_owned()),
        ("WHISTLE__AUTH__SIGNING_KEY".to_owned(), TEST_KEY.to_owned()),
    ]);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::load_from(Some(Path::new("/nonexistent/whistle.toml")), env).expect("test settings")
}

impl TestApp {
    /// A server over a fresh database with the demo city seeded.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(true, &[]).await.checking_schemas().await
    }

    pub async fn spawn_with(seed_demo: bool, extra: &[(&str, &str)]) -> TestApp {
        let test_db = TestDatabase::create().await;
        let files = tempfile::tempdir().expect("a directory for photos");
        let dir = files.path().to_str().expect("utf-8 path").to_owned();
        let mut extra = extra.to_vec();
        extra.push(("WHISTLE__ATTACHMENTS__DIR", &dir));
        let settings = settings_for(test_db.url(), &extra);
        let db = whistle_api::startup::open_database(&settings)
            .await
            .expect("open the test database");
        if seed_demo {
            demo::seed(&db).await.expect("seed the demo city");
        }
        let app = App::build_with(settings, db).await.expect("build the app");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            _test_db: test_db,
            files,
            _stop: stop,
            openapi: None,
        }
    }

    /// From now on every JSON answer to a request sent through this app's helpers (and
    /// [`TestApp::send`]) must match what `/openapi.json` documents for its operation and status.
    pub async fn checking_schemas(mut self) -> TestApp {
        let doc = self.get_json("/openapi.json").await;
        self.openapi = Some(std::sync::Arc::new(doc));
        self
    }

    /// Sends a request built on `self.client`, checking its answer when schemas are checked.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let req = req.build().expect("a valid request");
        let (method, path) = (
            req.method().as_str().to_owned(),
            req.url().path().to_owned(),
        );
        let res = self.client.execute(req).await.expect("request sent");
        match &self.openapi {
            Some(doc) => crate::schema::check_answer(doc, &method, &path, res).await,
            None => res,
        }
    }

    /// POST JSON, optionally with a bearer token.
    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// PUT JSON with a bearer token.
    pub async fn put(&self, path: &str, body: &Value, token: &str) -> reqwest::Response {
        self.send(
            self.client
                .put(self.url(path))
                .json(body)
                .bearer_auth(token),
        )
        .await
    }

    /// GET with a bearer token.
    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// Logs in and returns the whole session body.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let res = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": password}),
                None,
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("JSON");
        assert_eq!(status, 200, "login {username}: {body}");
        body
    }

    /// Registers another resident (display name 邻居) with the code texted to `phone` (11 digits)
    /// and returns their access token.
    pub async fn register_neighbour(&self, phone: &str) -> String {
        let res = self
            .post(
                "/api/v1/auth/register",
                &serde_json::json!({"phone": phone, "password": "wenchang-2026", "display_name": "邻居"}),
                None,
            )
            .await;
        assert_eq!(res.status(), 202, "register {phone}");
        // The SMS waits in the outbox, where the notifier would take it from.
        let db = sea_orm::Database::connect(self.database_url())
            .await
            .expect("the test database");
        let outbox = whistle_persistence::repo::notifications::list(&db, None, None, 100)
            .await
            .expect("the outbox");
        db.close().await.expect("closed");
        let code = outbox
            .iter()
            .filter(|n| {
                n.address.as_deref() == Some(phone) && n.payload["purpose"] == "registration_code"
            })
            .find_map(|n| {
                n.body
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|digits| digits.len() == 6)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no registration code texted to {phone}"));
        let res = self
            .post(
                "/api/v1/auth/register/verify",
                &serde_json::json!({"phone": phone, "code": code}),
                None,
            )
            .await;
        assert_eq!(res.status(), 201, "verify {phone}");
        let body: Value = res.json().await.expect("JSON");
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// Logs in and returns the access token.
    pub async fn token(&self, username: &str) -> String {
        self.login(username, PW).await["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// The test database's URL, for tests that set up data the API cannot (old timestamps).
    pub fn database_url(&self) -> &str {
        self._test_db.url()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path))).await
    }

    /// GET expecting 200 JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.expect("body");
        assert_eq!(status, 200, "GET {path} → {status}: {body}");
        serde_json::from_str(&body).expect("JSON body")
    }
}

/// Asserts the response is a problem+json with this status and code, and returns the body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for expected {code}");
    let ct = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with(code)),
        "{body}"
    );
    body
}

/// A point inside the demo's 文昌社区, near its south gate (WGS-84 lat, lon).
pub fn wenchang_south_gate() -> (f64, f64) {
    let [min_lon, min_lat, max_lon, _] = demo::community_rect(0, 0);
    // West of the middle line, so the point is not on the edge between two grids.
    (min_lat + 0.0008, (min_lon + max_lon) / 2.0 - 0.001)
}

/// A second API process over the same database, as behind a load balancer.
pub struct OtherProcess {
    pub base: String,
    pub client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// Starts another server over this one's database (nothing seeded, nothing shared in memory).
    pub async fn second_process(&self, extra: &[(&str, &str)]) -> OtherProcess {
        let dir = self.files.path().to_str().expect("utf-8 path").to_owned();
        let mut extra = extra.to_vec();
        extra.push(("WHISTLE__ATTACHMENTS__DIR", &dir));
        let settings = settings_for(self.database_url(), &extra);
        let app = App::build(settings).await.expect("build the second app");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        OtherProcess {
            base,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }
}

impl OtherProcess {
    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }
}
