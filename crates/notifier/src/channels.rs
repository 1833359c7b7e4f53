//! The ways a notification leaves: one [`Deliver`] implementation per channel.
//!
//! A delivery either succeeds, fails for now (`Transient`: retried with backoff), or can never
//! succeed (`Permanent`: a malformed address, a receiver that refuses the request): such a
//! notification goes `dead` at once instead of burning its attempts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use whistle_domain::people::PhoneNumber;
use whistle_persistence::repo::notifications::Notification;

use crate::settings::{SmsSettings, SmtpSettings, WebhookSettings};

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later: the receiver is down, slow, or answered 5xx.
    #[error("{0}")]
    Transient(String),
    /// Will never work as it stands: a malformed address, a 4xx refusal, a channel that is not
    /// configured.
    #[error("{0}")]
    Permanent(String),
}

/// One channel.
pub trait Deliver: Send + Sync {
    fn deliver(
        &self,
        n: &Notification,
    ) -> impl std::future::Future<Output = Result<(), DeliveryError>> + Send;
}

/// The in-app inbox: the row is the message. Delivering it makes it visible to the API's
/// `GET /api/v1/notifications` (state `sent`).
#[derive(Debug, Clone, Default)]
pub struct Inbox;

impl Deliver for Inbox {
    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        if n.user_id.is_none() {
            return Err(DeliveryError::Permanent(
                "an inbox notification needs an account".into(),
            ));
        }
        Ok(())
    }
}

// ---- webhooks ----------------------------------------------------------------------------------

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Whistle-Signature";
/// The header carrying the notification's id: a receiver drops an id it has seen (a delivery
/// may repeat after a notifier crashed between sending and recording it).
pub const ID_HEADER: &str = "Whistle-Notification-Id";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&tag))
}

/// Why a receiver rejects a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the timestamp is outside the tolerance (a replay, or a clock far off)")]
    Stale,
}

/// What a receiver does with a webhook: checks the HMAC over timestamp + body in constant
/// time and rejects timestamps more than `tolerance` away from `now` (replays). Receivers
/// should also drop a `Whistle-Notification-Id` they have already processed.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => tags.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if tags.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now_unix - timestamp).unsigned_abs() > tolerance.as_secs() {
        return Err(VerifyError::Stale);
    }
    for tag in tags {
        let Some(bytes) = unhex(tag) else { continue };
        if mac(secret, timestamp, body).verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::Mismatch)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The JSON a webhook receives.
pub fn webhook_body(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "id": n.id,
        "kind": n.kind.as_str(),
        "template": n.template.as_str(),
        "case_id": n.case_id.map(|c| c.get()),
        "locale": n.locale.as_str(),
        "title": n.title,
        "body": n.body,
        "created_at": n.created_at.to_rfc3339(),
        "payload": n.payload,
    })
}

fn http_failure(what: &str, e: &reqwest::Error) -> DeliveryError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    DeliveryError::Transient(format!("{what} {kind}: {e}"))
}

fn status_failure(what: &str, status: reqwest::StatusCode) -> DeliveryError {
    let msg = format!("{what} answered {status}");
    // 408 and 429 ask to come back later; other 4xx will not change by retrying.
    if status.is_client_error()
        && status != reqwest::StatusCode::REQUEST_TIMEOUT
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS
    {
        DeliveryError::Permanent(msg)
    } else {
        DeliveryError::Transient(msg)
    }
}

/// Signed JSON POSTs to the configured receivers, looked up by the notification's address.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: reqwest::Client,
    hooks: Vec<WebhookSettings>,
}

impl Webhooks {
    pub fn new(client: reqwest::Client, hooks: Vec<WebhookSettings>) -> Self {
        Self { client, hooks }
    }
}

impl Deliver for Webhooks {
    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let name = n.address.as_deref().unwrap_or_default();
        let hook = self
            .hooks
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| DeliveryError::Permanent(format!("no webhook named {name:?}")))?;
        let body = serde_json::to_vec(&webhook_body(n)).expect("JSON of a JSON value");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let res = self
            .client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, n.id.to_string())
            .header(SIGNATURE_HEADER, sign(&hook.secret, now, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| http_failure(&format!("webhook {name}"), &e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(status_failure(&format!("webhook {name}"), res.status()))
        }
    }
}

// ---- SMS ---------------------------------------------------------------------------------------

/// SMS through an HTTP gateway: a JSON POST; anything but 2xx is a failure.
#[derive(Debug, Clone)]
pub struct Sms {
    client: reqwest::Client,
    settings: SmsSettings,
}

impl Sms {
    pub fn new(client: reqwest::Client, settings: SmsSettings) -> Self {
        Self { client, settings }
    }
}

impl Deliver for Sms {
    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let raw = n.address.as_deref().unwrap_or_default();
        let phone = PhoneNumber::parse(raw)
            // The address itself stays out of the error: it is logged and kept in the outbox.
            .map_err(|e| {
                DeliveryError::Permanent(format!(
                    "not a mobile number ({} characters): {e}",
                    raw.chars().count()
                ))
            })?;
        let body = self.settings.body(phone.as_str(), &n.title, &n.body);
        let mut req = self
            .client
            .post(&self.settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if !self.settings.authorization.is_empty() {
            req = req.header(reqwest::header::AUTHORIZATION, &self.settings.authorization);
        }
        let res = req
            .send()
            .await
            .map_err(|e| http_failure("SMS gateway", &e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(status_failure("SMS gateway", res.status()))
        }
    }
}

// ---- e-mail ------------------------------------------------------------------------------------

/// E-mail over SMTP (STARTTLS, implicit TLS, or plain on a loopback relay).
#[derive(Clone)]
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email").field("from", &self.from).finish()
    }
}

impl Email {
    pub fn new(s: &SmtpSettings, timeout: Duration) -> anyhow::Result<Self> {
        let builder = match s.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        let mut builder = builder.port(s.port).timeout(Some(timeout));
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("notifier.smtp.from is not an address: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl Deliver for Email {
    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let raw = n.address.as_deref().unwrap_or_default();
        let to: Mailbox = raw.parse().map_err(|e| {
            DeliveryError::Permanent(format!(
                "not an e-mail address ({} characters): {e}",
                raw.chars().count()
            ))
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(n.title.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(n.body.clone())
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(DeliveryError::Permanent(format!("SMTP refused: {e}")))
            }
            Err(e) => Err(DeliveryError::Transient(format!("SMTP failed: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_anything_changed_does_not() {
        let body = br#"{"id":1}"#;
        let header = sign("a-long-enough-secret", 1_700_000_000, body);
        let ok = verify(
            "a-long-enough-secret",
            &header,
            body,
            1_700_000_100,
            Duration::from_secs(300),
        );
        assert_eq!(ok, Ok(()));
        let tol = Duration::from_secs(300);
        assert_eq!(
            verify("another-secret-xx", &header, body, 1_700_000_000, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                "a-long-enough-secret",
                &header,
                br#"{"id":2}"#,
                1_700_000_000,
                tol
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("a-long-enough-secret", &header, body, 1_700_001_000, tol),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify("a-long-enough-secret", "v1=00", body, 1_700_000_000, tol),
            Err(VerifyError::Malformed)
        );
        // A replayed header with a forged timestamp no longer matches.
        let forged = header.replace("t=1700000000", "t=1700000500");
        assert_eq!(
            verify("a-long-enough-secret", &forged, body, 1_700_000_500, tol),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn sms_bodies_escape_what_they_carry() {
        let gateway = SmsSettings {
            url: "http://127.0.0.1:1/sms".into(),
            template: r#"{"to":"{phone}","msg":"{title}：{text}"}"#.into(),
            authorization: String::new(),
        };
        let body = gateway.body("13800000000", "标题", r#"he said "hi"\ and left"#);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "13800000000");
        assert_eq!(v["msg"], r#"标题：he said "hi"\ and left"#);
    }

    #[test]
    fn client_errors_are_permanent_except_timeouts_and_throttling() {
        use reqwest::StatusCode as S;
        assert!(matches!(
            status_failure("x", S::BAD_REQUEST),
            DeliveryError::Permanent(_)
        ));
        assert!(matches!(
            status_failure("x", S::TOO_MANY_REQUESTS),
            DeliveryError::Transient(_)
        ));
        assert!(matches!(
            status_failure("x", S::INTERNAL_SERVER_ERROR),
            DeliveryError::Transient(_)
        ));
    }
}
