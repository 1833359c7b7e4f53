//! The `whistle-api` child process, and what the scenarios share over HTTP: logging in,
//! checking answers, the reports they send.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{Args, SIGNING_KEY};

// ---- the server ------------------------------------------------------------------------------

/// A `whistle-api` child process, killed on drop.
pub(crate) struct Server {
    pub(super) child: Child,
    pub(crate) base: String,
    pub(super) log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

pub(super) fn api_binary(args: &Args) -> anyhow::Result<PathBuf> {
    binary_beside(args.api_bin.as_ref())
}

/// The `whistle-api` binary: the one given, else the one cargo built beside this tool.
pub(crate) fn binary_beside(given: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    let bin = match given {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark's own directory")?
            .join("whistle-api"),
    };
    if !bin.is_file() {
        bail!(
            "no whistle-api binary at {} (build it first: cargo build -p whistle-api, with \
             --release for a release benchmark; or pass --api-bin)",
            bin.display()
        );
    }
    Ok(bin)
}

pub(crate) async fn start_server(
    bin: &Path,
    database_url: &str,
    demo: bool,
    dir: &Path,
    client: &reqwest::Client,
) -> anyhow::Result<Server> {
    // A free port: bind, note it, let go. The server binds it a moment later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = dir.join(format!("whistle-api-{port}.log"));
    let mut cmd = Command::new(bin);
    if demo {
        cmd.arg("--demo");
    }
    cmd.env("DATABASE_URL", database_url)
        .env("WHISTLE__SERVER__HOST", "127.0.0.1")
        .env("WHISTLE__SERVER__PORT", port.to_string())
        .env("WHISTLE__AUTH__SIGNING_KEY", SIGNING_KEY)
        .env("WHISTLE__ATTACHMENTS__DIR", dir.join("attachments"))
        .env("WHISTLE__LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let t = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return Ok(server);
        }
        if t.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            bail!("whistle-api did not answer /healthz within 60 s; its log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": whistle_api::demo::DEMO_PASSWORD}))
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    if !status.is_success() {
        bail!("login {user}: {status} {body}");
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("an access token")
}

/// Sends a request and checks its status; the body is read to the end, as a client would.
pub(super) async fn expect(req: reqwest::RequestBuilder, want: u16) -> anyhow::Result<usize> {
    let res = req.send().await?;
    let status = res.status().as_u16();
    let body = res.bytes().await?;
    if status != want {
        bail!(
            "status {status} (wanted {want}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(body.len())
}

/// A deterministic pseudo-random number (splitmix64): no extra dependency, repeatable runs.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (mix(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// A report as a phone sends it: a point inside one of the two communities that have an
/// officer stationed (so it is routed to someone), a category from the catalogue.
pub(super) fn report_body(categories: &[String], w: usize, i: u64) -> serde_json::Value {
    let seed = ((w as u64) << 40) ^ i;
    let col = (mix(seed) % 2) as usize;
    let [min_lon, min_lat, max_lon, max_lat] = whistle_api::demo::community_rect(0, col);
    let lat = min_lat + (max_lat - min_lat) * (0.05 + 0.9 * unit(seed ^ 1));
    let lon = min_lon + (max_lon - min_lon) * (0.05 + 0.9 * unit(seed ^ 2));
    let category = &categories[(mix(seed ^ 3) % categories.len() as u64) as usize];
    json!({
        "category": category,
        "description": format!("压测：小区南门外商家高音喇叭叫卖，噪声扰民（{w}-{i}）。"),
        "lat": lat, "lon": lon, "crs": "wgs84",
        "address": "文昌社区南门",
    })
}
