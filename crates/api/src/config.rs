//! Typed configuration, loaded once at start.
//!
//! Sources, later ones winning: built-in defaults → `whistle.toml` in the working directory (or
//! the file named by `--config` / `WHISTLE_CONFIG`), optional → environment variables
//! `WHISTLE__SECTION__KEY` (e.g. `WHISTLE__SERVER__PORT=9000`) → `DATABASE_URL`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use whistle_persistence::{DbSettings, ReplicaSettings};

/// A value that must never reach logs: `Debug` prints `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub app: AppSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub cases: CaseSettings,
    pub attachments: AttachmentSettings,
    pub open311: Open311Settings,
    pub map: MapSettings,
    pub log: LogSettings,
}

/// The basemap under the web pages' maps. Without a tile URL the pages draw the grids' polygons
/// on a plain background, which needs no tile server (and works offline and in tests).
#[derive(Debug, Clone, Deserialize)]
pub struct MapSettings {
    /// A slippy-map tile URL template with `{z}`, `{x}` and `{y}` (and optionally `{s}` for a
    /// subdomain), e.g. Tianditu's `vec_w` WMTS tiles or Amap's
    /// `https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}`. Empty: no tiles.
    pub tile_url: String,
    /// The coordinate system the tiles are drawn in: `wgs84` (Tianditu, OpenStreetMap) or
    /// `gcj02` (Amap, Tencent). The pages shift what they draw onto GCJ-02 tiles and shift a
    /// point picked on them back; Whistle stores WGS-84 either way.
    pub tile_crs: TileCrs,
    /// Subdomains `{s}` cycles through (e.g. `1234` for Amap, `01234567` for Tianditu).
    pub tile_subdomains: String,
    /// The attribution the tile provider's terms ask for, shown in the map's corner.
    pub attribution: String,
    /// The highest zoom level the tiles exist for.
    pub max_zoom: u8,
}

/// The coordinate systems a basemap may be drawn in (Baidu's BD-09 tiles also use their own
/// projection, which the pages' map does not speak).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TileCrs {
    Wgs84,
    Gcj02,
}

impl TileCrs {
    pub fn as_str(self) -> &'static str {
        match self {
            TileCrs::Wgs84 => "wgs84",
            TileCrs::Gcj02 => "gcj02",
        }
    }
}

impl MapSettings {
    /// Refuses a tile URL the pages could not use, so a typo fails at start-up, not on a phone.
    pub fn check(&self) -> Result<(), String> {
        let url = self.tile_url.trim();
        if url.is_empty() {
            return Ok(());
        }
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            return Err(format!(
                "map.tile_url must be an http(s) URL or a path on this server: {url}"
            ));
        }
        for part in ["{z}", "{x}", "{y}"] {
            if !url.contains(part) {
                return Err(format!("map.tile_url must contain {part}: {url}"));
            }
        }
        if url.contains("{s}") && self.tile_subdomains.trim().is_empty() {
            return Err("map.tile_url uses {s}: set map.tile_subdomains".to_owned());
        }
        if !(1..=22).contains(&self.max_zoom) {
            return Err(format!("map.max_zoom must be 1–22, not {}", self.max_zoom));
        }
        Ok(())
    }
}

/// The Open311 GeoReport v2 interface under `/open311/v2`.
#[derive(Debug, Clone, Deserialize)]
pub struct Open311Settings {
    /// The one `jurisdiction_id` this deployment answers to (the spec suggests the city's web
    /// domain); requests naming another are 404. Requests without one are accepted.
    pub jurisdiction_id: String,
    /// Discovery `contact`: how to reach the people running the endpoint.
    pub contact: String,
    /// Discovery `key_service`: how a client application gets an API key.
    pub key_service: String,
    /// Discovery `changeset`: a sortable time stamp; raise it when the service list or its
    /// questions change, so that clients refresh what they cached.
    pub changeset: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentSettings {
    /// Where photos are kept: `local` (under `dir`, for one node) or `s3` (an S3-compatible
    /// object store shared by every API node: `s3_*` below).
    pub store: PhotoStoreKind,
    /// With `store = "local"`: the directory photos are kept in, named by their SHA-256.
    pub dir: String,
    /// With `store = "s3"`: the store's address, e.g. `https://obs.cn-east-3.myhuaweicloud.com`
    /// or `http://10.0.0.5:9000` for one inside the bureau's network. Empty: AWS by region.
    pub s3_endpoint: String,
    /// The bucket (created beforehand; Whistle does not create buckets).
    pub s3_bucket: String,
    /// The region the store expects in signatures (most non-AWS stores accept any).
    pub s3_region: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: Secret<String>,
    /// Keys are put under this prefix inside the bucket (`photos/aa/<sha256>.jpg`).
    pub s3_prefix: String,
    /// Largest accepted photo, in bytes.
    pub max_bytes: usize,
    /// Most photos on one case.
    pub max_per_case: u64,
    /// Most pixels (width × height, as declared in the header) an accepted photo may have;
    /// larger ones are refused before decoding, since decoding allocates for every pixel.
    pub max_pixels: u64,
    /// Longest side, in pixels, of the copy that is stored and served: every photo is decoded,
    /// scaled down to fit and re-encoded as JPEG.
    pub max_side_px: u32,
}

/// Where photos are kept.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PhotoStoreKind {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseSettings {
    /// The city's offset from UTC in minutes (480 for China): the working calendar and the day in
    /// case numbers are in this local time. Whole quarter hours within ±840, checked at load.
    pub utc_offset_minutes: whistle_domain::time::CityOffset,
    /// How many days after closing the reporter may reopen a case.
    pub reopen_days: i64,
    /// Intake suggests open cases of the same category within this many metres…
    pub duplicate_radius_m: f64,
    /// …reported within this many hours.
    pub duplicate_window_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppSettings {
    /// `development` (default) or `production`. Production refuses to start without configured
    /// secrets instead of generating them.
    pub environment: Environment,
    /// Appended to the district name to name the bureau on printed cards (`海州区` + `城市管理局`).
    pub bureau_suffix: String,
    /// The hotline printed on cards.
    pub hotline: String,
    /// How long a signed print link (`POST /api/v1/print-links`) stays valid, in seconds.
    pub print_link_ttl_secs: i64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// `iss` of issued access tokens.
    pub issuer: String,
    /// `aud` of issued access tokens.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_ttl_secs: i64,
    /// Lifetime of a refresh token (each refresh issues a new one).
    pub refresh_ttl_secs: i64,
    /// The key that signs access tokens, `kid:base64secret` (at least 32 bytes). Required in
    /// production; in development a key is generated once into `dev_key_file`.
    pub signing_key: Secret<String>,
    /// Older keys still accepted for verification during a rotation: `kid:b64,kid:b64`.
    pub verification_keys: Secret<String>,
    /// Where a development signing key is kept between restarts.
    pub dev_key_file: String,
    /// Failed logins from one source (a client address, or a known device) before it must
    /// wait between attempts. No account is ever locked for everybody.
    pub login_free_failures: u32,
    /// The first wait, in seconds; every further attempt from the source doubles it…
    pub login_first_delay_secs: u64,
    /// …up to this many seconds.
    pub login_max_delay_secs: u64,
    /// A source's failures are forgotten after this many seconds without one.
    pub login_forget_after_secs: u64,
    /// Failed logins to one account from sources that never logged in to it, within
    /// `account_window_secs`, after which such sources wait `account_block_secs` (guessing from
    /// many addresses at once). Known devices and addresses are never held back by this.
    pub account_failure_limit: u32,
    pub account_window_secs: u64,
    pub account_block_secs: u64,
    /// A device or address that logged in successfully stays known this many days.
    pub known_device_days: u64,
    /// Log each registration code (phone masked) at info. For the demo, which sends no SMS
    /// (`--demo` turns it on); never in production: a code in the logs lets whoever reads them
    /// register the phone.
    pub log_verification_codes: bool,
    /// Disabling an account, changing its role or jurisdiction, or logging out everywhere
    /// refuses its existing access tokens at once in the API process that made the change, and
    /// within this many milliseconds in the others (each re-reads the recent changes this often).
    pub session_poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Take the client address from `X-Forwarded-For`. Only behind a proxy that sets it;
    /// otherwise clients could choose their own address.
    pub trust_forwarded_for: bool,
    /// How many proxies of our own append to `X-Forwarded-For`: the client address is the entry
    /// this far from the right (1: the one our proxy appended). Entries further left were
    /// written by the client and could name anybody's address.
    pub forwarded_for_hops: u32,
    /// Login and registration attempts per client address: a burst, then a steady rate.
    pub auth_ip_burst: u32,
    pub auth_ip_per_minute: u32,
    /// Login attempts per account name, whoever sends them.
    pub auth_account_burst: u32,
    pub auth_account_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Address to listen on; `0.0.0.0` to accept connections from other hosts.
    pub host: String,
    /// Port to listen on; 0 picks a free one (tests).
    pub port: u16,
    /// Largest accepted request body, in bytes. Photos are uploaded separately with their own
    /// limit; JSON bodies are small.
    pub body_limit_bytes: usize,
    /// A request still running after this many seconds is answered with 408.
    pub request_timeout_secs: u64,
    /// How long to wait for in-flight requests after SIGTERM before exiting.
    pub shutdown_grace_secs: u64,
    /// The externally visible base URL (used in links, QR codes, Open311 discovery).
    pub public_base_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://data/whistle.db` (default, created on first start) or a PostgreSQL URL.
    pub url: Secret<String>,
    /// Pool size; empty picks a default per backend.
    pub max_connections: Option<u32>,
    /// Seconds to wait for a pooled connection; also bounds `/readyz`.
    pub acquire_timeout_secs: u64,
    /// Apply pending migrations on start (turn off when a deploy step runs `whistle-api migrate`).
    pub migrate_on_start: bool,
    /// Seconds the geography, categories, SLA policies and calendar are answered from memory
    /// before being read again. Changes made through this process show at once; this bounds how
    /// long another API process (or an edit by hand in the database) takes to show.
    pub reference_cache_secs: u64,
    /// Seconds a request may wait on the database once the server has read it whole; after
    /// that it is answered 503 `database_unavailable` (the statement is abandoned, and on
    /// PostgreSQL cancelled by the server's `statement_timeout` as well). Keep it below
    /// `server.request_timeout_secs`, so that a database that stopped answering is reported as
    /// such, not as a slow client.
    pub statement_timeout_secs: u64,
    /// A replica for reads that tolerate data a few seconds old: the leaders' figures and
    /// exports, the public map, Open311 reads (e.g. HAProxy's read port in front of the
    /// replicas). Empty: every read goes to `url`. The replica's pool takes the sizes and
    /// timeouts above.
    pub read_url: Secret<String>,
    /// The replica is left aside, and those reads go to `url`, while its replay is more than
    /// this many seconds behind or it cannot be reached.
    pub read_max_lag_secs: u64,
    /// Milliseconds between checks of the replica's lag and reachability. A read on the replica
    /// may miss at most `read_max_lag_secs` plus this of the latest writes.
    pub read_check_ms: u64,
}

impl DatabaseSettings {
    /// The replica's settings, when `read_url` is set.
    pub fn replica_settings(&self) -> Option<ReplicaSettings> {
        let url = self.read_url.expose().trim();
        (!url.is_empty()).then(|| ReplicaSettings {
            db: DbSettings {
                url: url.to_owned(),
                ..self.db_settings()
            },
            max_lag: Duration::from_secs(self.read_max_lag_secs),
            check_every: Duration::from_millis(self.read_check_ms.max(1)),
        })
    }

    pub fn db_settings(&self) -> DbSettings {
        DbSettings {
            url: self.url.expose().clone(),
            max_connections: self.max_connections,
            acquire_timeout: Duration::from_secs(self.acquire_timeout_secs),
            statement_timeout: Some(Duration::from_secs(self.statement_timeout_secs.max(1))),
        }
    }
}

pub use whistle_process::{LogFormat, LogSettings};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(#[from] config::ConfigError);

impl Settings {
    /// Loads from the process environment and the default or given file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars().collect())
    }

    /// Loads with an explicit environment, so tests never touch the process's variables.
    pub fn load_from(
        file: Option<&Path>,
        env: HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let built = whistle_process::layered(file, env, |b| {
            b
            .set_default("app.environment", "development")?
            .set_default("app.bureau_suffix", "城市管理局")?
            .set_default("app.hotline", "12345")?
            .set_default("app.print_link_ttl_secs", 300)?
            .set_default("auth.issuer", "whistle")?
            .set_default("auth.audience", "whistle-api")?
            .set_default("auth.access_ttl_secs", 900)?
            .set_default("auth.refresh_ttl_secs", 30 * 24 * 3600)?
            .set_default("auth.signing_key", "")?
            .set_default("auth.verification_keys", "")?
            .set_default("auth.dev_key_file", "data/jwt-signing.key")?
            .set_default("auth.login_free_failures", 5)?
            .set_default("auth.login_first_delay_secs", 2)?
            .set_default("auth.login_max_delay_secs", 900)?
            .set_default("auth.login_forget_after_secs", 24 * 3600)?
            .set_default("auth.account_failure_limit", 100)?
            .set_default("auth.account_window_secs", 3600)?
            .set_default("auth.account_block_secs", 900)?
            .set_default("auth.known_device_days", 90)?
            .set_default("auth.log_verification_codes", false)?
            .set_default("auth.session_poll_ms", 1000)?
            .set_default("limits.trust_forwarded_for", false)?
            .set_default("limits.forwarded_for_hops", 1)?
            .set_default("limits.auth_ip_burst", 30)?
            .set_default("limits.auth_ip_per_minute", 30)?
            .set_default("limits.auth_account_burst", 10)?
            .set_default("limits.auth_account_per_minute", 10)?
            .set_default("cases.reopen_days", 7)?
            .set_default("cases.duplicate_radius_m", 100.0)?
            .set_default("cases.duplicate_window_hours", 72)?
            .set_default("attachments.store", "local")?
            .set_default("attachments.dir", "data/attachments")?
            .set_default("attachments.s3_endpoint", "")?
            .set_default("attachments.s3_bucket", "")?
            .set_default("attachments.s3_region", "us-east-1")?
            .set_default("attachments.s3_access_key_id", "")?
            .set_default("attachments.s3_secret_access_key", "")?
            .set_default("attachments.s3_prefix", "photos")?
            .set_default("attachments.max_bytes", 10 * 1024 * 1024)?
            .set_default("attachments.max_per_case", 20)?
            .set_default("attachments.max_pixels", 40_000_000)?
            .set_default("attachments.max_side_px", 2048)?
            .set_default("server.host", "127.0.0.1")?
            .set_default("server.port", 8080)?
            .set_default("server.body_limit_bytes", 1024 * 1024)?
            .set_default("server.request_timeout_secs", 30)?
            .set_default("server.shutdown_grace_secs", 20)?
            .set_default("server.public_base_url", "http://127.0.0.1:8080")?
            .set_default("database.reference_cache_secs", 30)?
            .set_default("database.statement_timeout_secs", 10)?
            .set_default("database.migrate_on_start", true)?
            .set_default("database.read_url", "")?
            .set_default("database.read_max_lag_secs", 10)?
            .set_default("database.read_check_ms", 1000)?
            .set_default("open311.jurisdiction_id", "lyg.gov.cn")?
            .set_default(
                "open311.contact",
                "连云港市城市管理局，12345 热线 (urban-management bureau, hotline 12345)",
            )?
            .set_default(
                "open311.key_service",
                "API keys are issued to client applications by the bureau's system administrator \
                 (向城市管理局系统管理员申请)",
            )?
            .set_default("open311.changeset", "2026-11-26T00:00:00+08:00")?
            .set_default("map.tile_url", "")?
            .set_default("map.tile_crs", "wgs84")?
            .set_default("map.tile_subdomains", "")?
            .set_default("map.attribution", "")?
            .set_default("map.max_zoom", 18)
        })?;
        Ok(built.try_deserialize()?)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_file() -> Option<&'static Path> {
        Some(Path::new("/nonexistent/whistle.toml"))
    }

    #[test]
    fn defaults_serve_sqlite_on_8080() {
        let s = Settings::load_from(no_file(), env(&[])).unwrap();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.database.url.expose(), "sqlite://data/whistle.db");
        assert!(s.database.migrate_on_start);
        assert_eq!(s.log.format, LogFormat::Pretty);
    }

    #[test]
    fn environment_overrides_sections_and_database_url_wins() {
        let s = Settings::load_from(
            no_file(),
            env(&[
                ("WHISTLE__SERVER__PORT", "9000"),
                ("WHISTLE__SERVER__HOST", "0.0.0.0"),
                ("WHISTLE__DATABASE__URL", "sqlite://other.db"),
                ("WHISTLE__LOG__FORMAT", "json"),
                ("DATABASE_URL", "postgres://u:pw@db/whistle"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.server.host, "0.0.0.0");
        assert_eq!(s.database.url.expose(), "postgres://u:pw@db/whistle");
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn file_is_read_and_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whistle.toml");
        std::fs::write(
            &path,
            "[server]\nport = 7000\npublic_base_url = \"https://whistle.example.cn\"\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(s.server.port, 7000);
        assert_eq!(s.server.public_base_url, "https://whistle.example.cn");
        let s =
            Settings::load_from(Some(&path), env(&[("WHISTLE__SERVER__PORT", "7001")])).unwrap();
        assert_eq!(s.server.port, 7001);
        let via_env =
            Settings::load_from(None, env(&[("WHISTLE_CONFIG", path.to_str().unwrap())])).unwrap();
        assert_eq!(via_env.server.port, 7000);
    }

    #[test]
    fn a_read_replica_and_shared_photo_storage_are_opt_in() {
        let s = Settings::load_from(no_file(), env(&[])).unwrap();
        assert!(s.database.replica_settings().is_none());
        assert_eq!(s.attachments.store, PhotoStoreKind::Local);
        let s = Settings::load_from(
            no_file(),
            env(&[
                (
                    "WHISTLE__DATABASE__READ_URL",
                    "postgres://r:pw@lb:5001/whistle",
                ),
                ("WHISTLE__DATABASE__READ_MAX_LAG_SECS", "3"),
                ("WHISTLE__DATABASE__ACQUIRE_TIMEOUT_SECS", "2"),
                ("WHISTLE__ATTACHMENTS__STORE", "s3"),
                ("WHISTLE__ATTACHMENTS__S3_SECRET_ACCESS_KEY", "s3cr3t-value"),
            ]),
        )
        .unwrap();
        let replica = s.database.replica_settings().unwrap();
        assert_eq!(replica.db.url, "postgres://r:pw@lb:5001/whistle");
        assert_eq!(replica.max_lag, Duration::from_secs(3));
        assert_eq!(replica.check_every, Duration::from_millis(1000));
        // The replica's pool takes the primary's timeouts.
        assert_eq!(replica.db.acquire_timeout, Duration::from_secs(2));
        assert_eq!(s.attachments.store, PhotoStoreKind::S3);
        assert!(!format!("{s:?}").contains("s3cr3t-value"));
        assert!(!format!("{replica:?}").contains("pw@"));
        assert!(
            Settings::load_from(no_file(), env(&[("WHISTLE__ATTACHMENTS__STORE", "ftp")])).is_err()
        );
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        assert!(
            Settings::load_from(no_file(), env(&[("WHISTLE__SERVER__PORT", "eighty")])).is_err()
        );
        assert!(Settings::load_from(no_file(), env(&[("WHISTLE__LOG__FORMAT", "xml")])).is_err());
        // The city's offset is checked once, here: minutes, whole quarter hours, ±14 hours.
        for bad in ["28800", "7", "-900"] {
            let refused = Settings::load_from(
                no_file(),
                env(&[("WHISTLE__CASES__UTC_OFFSET_MINUTES", bad)]),
            );
            assert!(refused.is_err(), "{bad}");
        }
        let india = Settings::load_from(
            no_file(),
            env(&[("WHISTLE__CASES__UTC_OFFSET_MINUTES", "330")]),
        )
        .unwrap();
        assert_eq!(india.cases.utc_offset_minutes.minutes(), 330);
    }

    #[test]
    fn secrets_do_not_appear_in_debug() {
        let s = Settings::load_from(
            no_file(),
            env(&[
                ("DATABASE_URL", "postgres://whistle:hunter2@db/whistle"),
                ("WHISTLE__AUTH__SIGNING_KEY", "k1:c2VjcmV0c2VjcmV0c2VjcmV0"),
            ]),
        )
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert_eq!(s.app.environment, Environment::Development);
        assert!(!format!("{:?}", s.database.db_settings()).contains("hunter2"));
    }

    #[test]
    fn a_basemap_is_optional_and_checked_when_given() {
        let s = Settings::load_from(no_file(), env(&[])).unwrap();
        assert_eq!(s.map.tile_url, "");
        assert_eq!(s.map.tile_crs, TileCrs::Wgs84);
        assert!(s.map.check().is_ok());

        let amap = Settings::load_from(
            no_file(),
            env(&[
                (
                    "WHISTLE__MAP__TILE_URL",
                    "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                ),
                ("WHISTLE__MAP__TILE_CRS", "gcj02"),
                ("WHISTLE__MAP__TILE_SUBDOMAINS", "1234"),
            ]),
        )
        .unwrap();
        assert_eq!(amap.map.tile_crs, TileCrs::Gcj02);
        assert!(amap.map.check().is_ok());

        for (url, subdomains, wrong) in [
            ("https://tiles.example/{z}/{x}.png", "", "{y}"),
            ("ftp://tiles.example/{z}/{x}/{y}.png", "", "http"),
            (
                "https://t{s}.example/{z}/{x}/{y}.png",
                "",
                "tile_subdomains",
            ),
        ] {
            let mut m = s.map.clone();
            m.tile_url = url.to_owned();
            m.tile_subdomains = subdomains.to_owned();
            let err = m.check().unwrap_err();
            assert!(err.contains(wrong), "{url}: {err}");
        }
        // Baidu's tiles are not a basemap the pages can draw on.
        assert!(
            Settings::load_from(no_file(), env(&[("WHISTLE__MAP__TILE_CRS", "bd09")])).is_err()
        );
    }
}
