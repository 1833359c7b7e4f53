//! The notifier's configuration: the same sources and precedence as the API (defaults →
//! `whistle.toml` → `WHISTLE__…` → `DATABASE_URL`), its own `notifier` section, and the city's
//! UTC offset from the shared `cases` section.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use whistle_domain::notice::{QuietHours, SlaThresholds, Template};
use whistle_persistence::DbSettings;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub cases: CaseSettings,
    pub notifier: NotifierSettings,
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    pub(crate) url: String,
    pub max_connections: Option<u32>,
    pub acquire_timeout_secs: u64,
}

/// The database URL may hold a password; it is never printed.
impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &whistle_persistence::db::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

pub use whistle_process::{LogFormat, LogSettings};

#[derive(Debug, Clone, Deserialize)]
pub struct CaseSettings {
    /// The city's offset from UTC in minutes (480 for China): deadlines in messages and quiet
    /// hours are local. Whole quarter hours within ±840, checked at load.
    pub utc_offset_minutes: whistle_domain::time::CityOffset,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NotifierSettings {
    /// This process's name in claims and leases; empty picks `host-pid`.
    pub worker_id: String,
    /// How long to wait between sweeps when there is nothing left to do.
    pub poll_interval_ms: u64,
    /// Rows taken per step: case events, deadlines, notifications.
    pub batch_size: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Attempts before a notification is given up (`dead`).
    pub max_attempts: i32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Warning at this fraction of a stage's window.
    pub warn_fraction: f64,
    /// 督办 at this fraction (past the deadline: more than 1).
    pub escalate_fraction: f64,
    /// Remind the stationed officer this many days before a pledge runs out.
    pub pledge_expiry_days: i64,
    /// `22:00-07:00` or `off`: no SMS or e-mail to residents in these local hours.
    pub quiet_hours: String,
    /// A request to a webhook, the SMS gateway or the SMTP server gives up after this.
    pub send_timeout_secs: u64,
    /// `host:port` of `/metrics`; empty for none.
    pub metrics_addr: String,
    #[serde(default)]
    pub webhooks: Vec<WebhookSettings>,
    pub smtp: SmtpSettings,
    pub sms: SmsSettings,
}

/// A system that receives notices as signed JSON.
#[derive(Clone, Deserialize)]
pub struct WebhookSettings {
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key the receiver verifies `Whistle-Signature` with.
    pub secret: String,
    /// Which templates it gets: exact names (`case.closed`), prefixes ending in `.` (`sla.`),
    /// or `*`.
    #[serde(default = "all_templates")]
    pub templates: Vec<String>,
}

fn all_templates() -> Vec<String> {
    vec!["*".to_owned()]
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("secret", &"***")
            .field("templates", &self.templates)
            .finish()
    }
}

impl WebhookSettings {
    pub fn wants(&self, template: Template) -> bool {
        let name = template.as_str();
        self.templates
            .iter()
            .any(|t| t == "*" || t == name || (t.ends_with('.') && name.starts_with(t.as_str())))
    }
}

#[derive(Clone, Deserialize)]
pub struct SmtpSettings {
    /// Empty: no e-mail channel.
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` (implicit TLS, port 465) or `none` (plain; loopback relays only).
    pub security: String,
    pub username: String,
    pub password: String,
    /// The sender, e.g. `吹哨 <noreply@example.gov.cn>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"***")
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
pub struct SmsSettings {
    /// The gateway's URL; empty: no SMS channel.
    pub url: String,
    /// The JSON body, with `{phone}`, `{title}` and `{text}` replaced by JSON-escaped values.
    pub template: String,
    /// Sent as the `Authorization` header when not empty.
    pub authorization: String,
}

impl SmsSettings {
    /// The gateway's request body: the template with `{phone}`, `{title}`, `{text}` filled in,
    /// JSON-escaped so a quote in a message cannot break (or rewrite) the body.
    pub fn body(&self, phone: &str, title: &str, text: &str) -> String {
        fn escaped(s: &str) -> String {
            let quoted = serde_json::to_string(s).expect("a string is JSON");
            quoted[1..quoted.len() - 1].to_owned()
        }
        self.template
            .replace("{phone}", &escaped(phone))
            .replace("{title}", &escaped(title))
            .replace("{text}", &escaped(text))
    }
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("url", &self.url)
            .field("template", &self.template)
            .field("authorization", &"***")
            .finish()
    }
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(file, std::env::vars().collect())
    }

    /// Same sources and precedence as the API: defaults → file → `WHISTLE__…` → `DATABASE_URL`.
    pub fn load_from(file: Option<&Path>, env: HashMap<String, String>) -> anyhow::Result<Self> {
        let built = whistle_process::layered(file, env, |b| {
            b.set_default("notifier.worker_id", "")?
                .set_default("notifier.poll_interval_ms", 2000)?
                .set_default("notifier.batch_size", 100)?
                .set_default("notifier.concurrency", 16)?
                .set_default("notifier.max_attempts", 6)?
                .set_default("notifier.backoff_base_secs", 30)?
                .set_default("notifier.backoff_max_secs", 3600)?
                .set_default("notifier.warn_fraction", 0.75)?
                .set_default("notifier.escalate_fraction", 1.5)?
                .set_default("notifier.pledge_expiry_days", 14)?
                .set_default("notifier.quiet_hours", "22:00-07:00")?
                .set_default("notifier.send_timeout_secs", 10)?
                .set_default("notifier.metrics_addr", "127.0.0.1:9187")?
                .set_default("notifier.smtp.host", "")?
                .set_default("notifier.smtp.port", 587)?
                .set_default("notifier.smtp.security", "starttls")?
                .set_default("notifier.smtp.username", "")?
                .set_default("notifier.smtp.password", "")?
                .set_default("notifier.smtp.from", "Whistle <noreply@localhost>")?
                .set_default("notifier.sms.url", "")?
                .set_default(
                    "notifier.sms.template",
                    r#"{"phone":"{phone}","text":"{text}"}"#,
                )?
                .set_default("notifier.sms.authorization", "")
        })
        .context("reading configuration")?;
        let settings: Settings = built
            .try_deserialize()
            .context("configuration has invalid values")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses at start what would otherwise fail on the first notification.
    pub fn validate(&self) -> anyhow::Result<()> {
        let n = &self.notifier;
        self.thresholds()?;
        self.quiet_hours()?;
        anyhow::ensure!(n.batch_size >= 1, "notifier.batch_size must be at least 1");
        anyhow::ensure!(
            n.concurrency >= 1,
            "notifier.concurrency must be at least 1"
        );
        anyhow::ensure!(
            n.max_attempts >= 1,
            "notifier.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            n.backoff_base_secs >= 1 && n.backoff_max_secs >= n.backoff_base_secs,
            "notifier.backoff_base_secs must be at least 1 and at most backoff_max_secs"
        );
        anyhow::ensure!(
            (0..=365).contains(&n.pledge_expiry_days),
            "notifier.pledge_expiry_days must be 0 to 365"
        );
        anyhow::ensure!(
            ["starttls", "tls", "none"].contains(&n.smtp.security.as_str()),
            "notifier.smtp.security must be starttls, tls or none"
        );
        if !n.sms.url.is_empty() {
            let sample = n.sms.body("13800000000", "t", "x");
            serde_json::from_str::<serde_json::Value>(&sample).context(
                "notifier.sms.template must be JSON once {phone}/{title}/{text} are filled in",
            )?;
        }
        let mut names = std::collections::HashSet::new();
        for w in &n.webhooks {
            anyhow::ensure!(
                !w.name.is_empty() && names.insert(w.name.as_str()),
                "notifier.webhooks: every webhook needs a unique name"
            );
            anyhow::ensure!(
                w.url.starts_with("http://") || w.url.starts_with("https://"),
                "notifier.webhooks.{}: url must be http(s)",
                w.name
            );
            anyhow::ensure!(
                w.secret.len() >= 16,
                "notifier.webhooks.{}: secret must be at least 16 characters",
                w.name
            );
        }
        Ok(())
    }

    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            url: self.database.url.clone(),
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_secs(self.database.acquire_timeout_secs),
            statement_timeout: None,
        }
    }

    pub fn thresholds(&self) -> anyhow::Result<SlaThresholds> {
        SlaThresholds::new(self.notifier.warn_fraction, self.notifier.escalate_fraction)
            .map_err(|e| anyhow::anyhow!("notifier: {e}"))
    }

    pub fn quiet_hours(&self) -> anyhow::Result<Option<QuietHours>> {
        QuietHours::parse(&self.notifier.quiet_hours)
            .map_err(|e| anyhow::anyhow!("notifier.quiet_hours: {e}"))
    }

    pub fn offset(&self) -> chrono::FixedOffset {
        self.cases.utc_offset_minutes.fixed()
    }

    /// This process's name in claims: configured, or `host-pid-random` (claims are fenced by
    /// this name, so two processes must never share it, even on hosts that reuse pids).
    pub fn worker_id(&self) -> String {
        if !self.notifier.worker_id.is_empty() {
            return self.notifier.worker_id.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "notifier".to_owned());
        let salt = getrandom::u32().unwrap_or_default() & 0xffff;
        format!("{host}-{}-{salt:04x}", std::process::id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&Path>, env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(
            Some(file.unwrap_or(Path::new("/nonexistent/whistle.toml"))),
            env,
        )
    }

    #[test]
    fn the_example_configuration_loads() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/whistle.example.toml");
        let s = load(Some(&example), &[]).expect("the example loads");
        assert_eq!(s.notifier.webhooks.len(), 1);
        assert!(s.notifier.webhooks[0].wants(Template::SlaOverdue));
        assert!(!s.notifier.webhooks[0].wants(Template::CaseAccepted));
        assert!(
            !format!("{s:?}").contains("replace-with-32"),
            "secrets stay out of Debug"
        );
        assert!(s.quiet_hours().unwrap().is_some());
    }

    #[test]
    fn nonsense_is_refused_at_start() {
        for (k, v) in [
            ("WHISTLE__NOTIFIER__WARN_FRACTION", "1.2"),
            ("WHISTLE__NOTIFIER__ESCALATE_FRACTION", "0.9"),
            ("WHISTLE__NOTIFIER__QUIET_HOURS", "late"),
            ("WHISTLE__NOTIFIER__SMTP__SECURITY", "maybe"),
            ("WHISTLE__NOTIFIER__BATCH_SIZE", "0"),
            ("WHISTLE__NOTIFIER__SMS__URL", "http://127.0.0.1:1/sms"),
        ] {
            let extra: &[(&str, &str)] = if k.ends_with("SMS__URL") {
                &[
                    (k, v),
                    ("WHISTLE__NOTIFIER__SMS__TEMPLATE", "to {phone}: {text}"),
                ]
            } else {
                &[(k, v)]
            };
            assert!(load(None, extra).is_err(), "{k}={v}");
        }
        assert!(load(None, &[]).is_ok());
    }
}
