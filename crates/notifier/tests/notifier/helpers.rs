//! A real API server over a fresh database, and notifiers over the same database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use whistle_api::{App, demo};
use whistle_domain::notice::{Channel, Locale, Template};
use whistle_notifier::settings::WebhookSettings;
use whistle_notifier::{Notifier, Settings};
use whistle_persistence::repo::notifications::NewNotification;
use whistle_persistence::testing::TestDatabase;

use crate::receivers::Receivers;

pub const TEST_KEY: &str = "test-1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
pub const PW: &str = demo::DEMO_PASSWORD;
pub const SECRET: &str = "a-webhook-secret-for-tests";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub test_db: TestDatabase,
    _files: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// The API with the demo city, over a fresh database.
    pub async fn spawn() -> TestApp {
        let test_db = TestDatabase::create().await;
        let files = tempfile::tempdir().expect("a directory for photos");
        let env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_owned(), test_db.url().to_owned()),
            ("WHISTLE__SERVER__PORT".to_owned(), "0".to_owned()),
            ("WHISTLE__AUTH__SIGNING_KEY".to_owned(), TEST_KEY.to_owned()),
            (
                "WHISTLE__ATTACHMENTS__DIR".to_owned(),
                files.path().to_str().expect("utf-8").to_owned(),
            ),
        ]);
        let settings = whistle_api::Settings::load_from(Some(Path::new("/nonexistent.toml")), env)
            .expect("API settings");
        let db = whistle_api::startup::open_database(&settings)
            .await
            .expect("open the test database");
        demo::seed(&db).await.expect("seed the demo city");
        let app = App::build_with(settings, db.clone())
            .await
            .expect("build the app");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            db,
            test_db,
            _files: files,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn token(&self, username: &str) -> String {
        let res = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {username}");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn user_id(&self, token: &str) -> i64 {
        self.get(token, "/api/v1/me").await["id"].as_i64().unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A case reported by `token` near 文昌社区's south gate; returns its id.
    pub async fn report(&self, token: &str) -> i64 {
        let [min_lon, min_lat, max_lon, _] = demo::community_rect(0, 0);
        let (lat, lon) = (min_lat + 0.0008, (min_lon + max_lon) / 2.0 - 0.001);
        let res = self
            .send(
                reqwest::Method::POST,
                token,
                "/api/v1/cases",
                Some(json!({
                    "category": "noise",
                    "description": "广场舞音响太吵，晚上十点后仍在放",
                    "lat": lat,
                    "lon": lon,
                })),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// An action on a case at its current version; returns the case.
    pub async fn act(&self, token: &str, id: i64, mut action: Value) -> Value {
        let case = self.get(token, &format!("/api/v1/cases/{id}")).await;
        action["version"] = case["version"].clone();
        let res = self
            .send(
                reqwest::Method::POST,
                token,
                &format!("/api/v1/cases/{id}/actions"),
                Some(action.clone()),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{action}: {body}");
        body
    }
}

/// Notifier settings over `db_url`, sending to `rx`'s receivers, with `extra` overrides.
pub fn notifier_settings(db_url: &str, rx: &Receivers, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".to_owned(), db_url.to_owned()),
        ("WHISTLE__NOTIFIER__METRICS_ADDR".to_owned(), String::new()),
        (
            "WHISTLE__NOTIFIER__QUIET_HOURS".to_owned(),
            "off".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__SEND_TIMEOUT_SECS".to_owned(),
            "1".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__BACKOFF_BASE_SECS".to_owned(),
            "1".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__BACKOFF_MAX_SECS".to_owned(),
            "2".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__SMTP__HOST".to_owned(),
            "127.0.0.1".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__SMTP__PORT".to_owned(),
            rx.smtp_port.to_string(),
        ),
        (
            "WHISTLE__NOTIFIER__SMTP__SECURITY".to_owned(),
            "none".to_owned(),
        ),
        (
            "WHISTLE__NOTIFIER__SMTP__FROM".to_owned(),
            "吹哨 <noreply@whistle.test>".to_owned(),
        ),
        ("WHISTLE__NOTIFIER__SMS__URL".to_owned(), rx.url("/sms")),
    ]);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let mut s =
        Settings::load_from(Some(Path::new("/nonexistent.toml")), env).expect("notifier settings");
    s.notifier.webhooks.push(WebhookSettings {
        name: "command-centre".to_owned(),
        url: rx.url("/hook/ok"),
        secret: SECRET.to_owned(),
        templates: vec!["*".to_owned()],
    });
    s
}

/// A notifier with its own pool over the test database.
pub async fn notifier(settings: Settings) -> Arc<Notifier> {
    let db = whistle_persistence::connect(&settings.db_settings())
        .await
        .expect("connect the notifier");
    Notifier::new(db, settings).expect("a notifier")
}

/// The outbox rows as (template, channel, address, state), in id order.
pub async fn outbox(db: &DatabaseConnection) -> Vec<(String, String, Option<String>, String)> {
    use sea_orm::{EntityTrait, QueryOrder};
    use whistle_persistence::entities::notification;
    notification::Entity::find()
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.template, n.channel, n.address, n.state))
        .collect()
}

/// Runs rounds at `now` until nothing more is due.
pub async fn drain_at(n: &Arc<Notifier>, now: DateTime<Utc>) -> whistle_notifier::Report {
    let mut total = whistle_notifier::Report::default();
    for _ in 0..50 {
        let r = n.run_once_at(now).await.expect("a round");
        let idle =
            !r.more && r.created == 0 && r.sent + r.dead + r.retried + r.moot + r.deferred == 0;
        total += r;
        if idle {
            return total;
        }
    }
    panic!("the notifier never ran out of work");
}

/// `n` webhook notifications to the `command-centre` receiver, due now.
pub fn webhook_rows(prefix: &str, n: usize) -> Vec<NewNotification> {
    (0..n)
        .map(|i| NewNotification {
            dedupe_key: format!("{prefix}-{i}"),
            template: Template::CaseAccepted,
            case_id: None,
            user_id: None,
            channel: Channel::Webhook,
            address: Some("command-centre".to_owned()),
            locale: Locale::Zh,
            title: format!("通知 {i}"),
            body: "正文".to_owned(),
            payload: json!({"n": i}),
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
        })
        .collect()
}
