//! Real receivers on loopback: an SMTP server speaking enough of RFC 5321 for a client to send
//! mail, and an HTTP server that plays webhook receivers (verifying signatures, dropping
//! repeated ids, or failing on purpose) and an SMS gateway.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use whistle_notifier::channels::{ID_HEADER, SIGNATURE_HEADER, verify};

use crate::helpers::SECRET;

/// A mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

/// A webhook call that verified.
#[derive(Debug, Clone)]
pub struct Hook {
    pub id: i64,
    pub body: Value,
}

#[derive(Default)]
pub struct Seen {
    pub mails: Vec<Mail>,
    /// Verified, first deliveries only (a repeated id is acknowledged and dropped).
    pub hooks: Vec<Hook>,
    /// Repeated ids acknowledged again.
    pub repeats: usize,
    /// Calls whose signature did not verify.
    pub rejected: usize,
    /// Calls to the failing receivers, by name.
    pub failures: Vec<String>,
    pub sms: Vec<Value>,
}

#[derive(Clone)]
pub struct Receivers {
    pub http_port: u16,
    pub smtp_port: u16,
    /// A port that accepts connections and closes them at once.
    pub closing_port: u16,
    pub seen: Arc<Mutex<Seen>>,
}

impl Receivers {
    pub async fn start() -> Receivers {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_port = http.local_addr().unwrap().port();
        let app = Router::new()
            .route("/hook/{mode}", post(hook))
            .route("/sms", post(sms))
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(http, app).await });

        let smtp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp_port = smtp.local_addr().unwrap().port();
        let s = seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = smtp.accept().await {
                tokio::spawn(smtp_session(conn, s.clone()));
            }
        });

        let closing = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closing_port = closing.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((conn, _)) = closing.accept().await {
                drop(conn);
            }
        });
        Receivers {
            http_port,
            smtp_port,
            closing_port,
            seen,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.http_port, path)
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.seen.lock().unwrap().hooks.clone()
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.seen.lock().unwrap().mails.clone()
    }

    pub fn sms(&self) -> Vec<Value> {
        self.seen.lock().unwrap().sms.clone()
    }
}

/// `/hook/ok` verifies and records; `/hook/fail` answers 500; `/hook/slow` answers after 3 s.
async fn hook(
    State(seen): State<Arc<Mutex<Seen>>>,
    Path(mode): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match mode.as_str() {
        "fail" => {
            seen.lock().unwrap().failures.push(mode);
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        "slow" => {
            seen.lock().unwrap().failures.push(mode);
            tokio::time::sleep(Duration::from_secs(3)).await;
            return StatusCode::OK;
        }
        _ => {}
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut seen = seen.lock().unwrap();
    if verify(SECRET, signature, &body, now, Duration::from_secs(300)).is_err() {
        seen.rejected += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let id: i64 = headers
        .get(ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["id"], id, "the id header and the body agree");
    if seen.hooks.iter().any(|h| h.id == id) {
        seen.repeats += 1;
    } else {
        seen.hooks.push(Hook { id, body });
    }
    StatusCode::NO_CONTENT
}

async fn sms(State(seen): State<Arc<Mutex<Seen>>>, body: Bytes) -> StatusCode {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    seen.lock().unwrap().sms.push(v);
    StatusCode::OK
}

async fn smtp_session(conn: tokio::net::TcpStream, seen: Arc<Mutex<Seen>>) {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 whistle.test ESMTP\r\n").await;
    let mut to = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-whistle.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO") {
            let addr = line
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(a, _)| a.to_owned())
                .unwrap_or_default();
            to.push(addr);
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            seen.lock().unwrap().mails.push(Mail {
                to: to.clone(),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
