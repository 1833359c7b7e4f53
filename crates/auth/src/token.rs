//! Access tokens: short-lived JWTs signed with HMAC-SHA256.
//!
//! One algorithm is pinned (HS256): a token whose header names any other algorithm — `none`,
//! RS256, HS512 — is refused before its signature is looked at. Every token names its key in
//! the `kid` header; the key ring holds one signing key and any number of older keys that are
//! still accepted for verification, which is how keys rotate without logging everybody out:
//! add the new key as the signing key, keep the old one as a verification key for one access-token
//! lifetime, then remove it.
//!
//! Claims: `iss`, `aud`, `sub` (user id), `iat`, `nbf`, `exp`, `jti`, `role` and `jur` (the
//! jurisdiction as `level:id` strings). Role and jurisdiction travel in the token so that
//! authorizing a request costs no database query; changes to them take effect at the next refresh,
//! at most one access-token lifetime later.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::{Area, AreaLevel, Jurisdiction};
use whistle_domain::people::Role;

use crate::principal::Principal;

const ALGORITHM: Algorithm = Algorithm::HS256;
/// HMAC keys shorter than the hash output weaken the MAC; refuse them.
pub const MIN_KEY_BYTES: usize = 32;

/// A named HMAC key. Written in configuration as `kid:base64secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    kid: String,
    secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}:***)", self.kid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key must be written as kid:base64secret")]
    Shape,
    #[error("the key id must be 1-64 characters of letters, digits, '-', '_' or '.'")]
    Kid,
    #[error("the key secret is not valid base64")]
    Base64,
    #[error("the key secret must be at least {MIN_KEY_BYTES} bytes")]
    TooShort,
    #[error("no random source: {0}")]
    Random(String),
}

impl SigningKey {
    pub fn new(kid: &str, secret: Vec<u8>) -> Result<Self, KeyError> {
        let kid_ok = (1..=64).contains(&kid.len())
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !kid_ok {
            return Err(KeyError::Kid);
        }
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort);
        }
        Ok(Self {
            kid: kid.to_owned(),
            secret,
        })
    }

    /// Parses `kid:base64secret` (standard or URL-safe base64, padding optional).
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        let (kid, b64) = raw.trim().split_once(':').ok_or(KeyError::Shape)?;
        let b64 = b64.trim().trim_end_matches('=');
        let secret = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b64))
            .map_err(|_| KeyError::Base64)?;
        Self::new(kid.trim(), secret)
    }

    /// A fresh random 256-bit key.
    pub fn generate(kid: &str) -> Result<Self, KeyError> {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::new(kid, secret)
    }

    /// The configuration form, `kid:base64secret`. Handle as a secret.
    pub fn to_config_string(&self) -> String {
        format!(
            "{}:{}",
            self.kid,
            base64::engine::general_purpose::STANDARD.encode(&self.secret)
        )
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A separate secret derived from this key for another purpose (`label` names it), so that
    /// one configured secret serves several uses without reusing the same bytes.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        keyed_digest(&self.secret, label.as_bytes())
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn keyed_digest(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Why a token was refused. The API logs the reason at debug level and answers a uniform 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token names no key or an unknown key")]
    UnknownKey,
    #[error("token algorithm is not {ALGORITHM:?}")]
    WrongAlgorithm,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("wrong issuer or audience")]
    WrongParty,
    #[error("claims do not describe a valid principal: {0}")]
    BadClaims(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    role: String,
    #[serde(default)]
    jur: Vec<String>,
    /// `iat` to the millisecond: a session ended at 10:00:00.700 must refuse a token issued at
    /// 10:00:00.300 and accept one issued at 10:00:00.900, which seconds cannot tell apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_ms: Option<i64>,
    /// The session (refresh-token family) the token was issued in, so that its owner's session
    /// list can say which one is the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// Set for an account whose password an admin reset: the token is good only for changing
    /// the password.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pwc: bool,
}

/// What a session's access token says beside its principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionClaims {
    /// The session (refresh-token family) it belongs to.
    pub session_id: Option<String>,
    /// The account must change its password before anything else.
    pub password_change_required: bool,
}

/// A token that checked out: who it speaks for and when it was issued (Unix milliseconds), so
/// the caller can refuse tokens issued before the account's sessions were ended.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    pub issued_at_ms: i64,
    pub session: SessionClaims,
}

/// An access token and when it stops working (Unix seconds).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: i64,
}

/// The keys and the rules tokens are checked against.
pub struct KeyRing {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&String> = self.decoding.keys().collect();
        kids.sort();
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .field("verification_kids", &kids)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl KeyRing {
    /// `signing` signs new tokens and verifies them; `also_verify` are older keys still accepted.
    pub fn new(
        signing: &SigningKey,
        also_verify: &[SigningKey],
        issuer: &str,
        audience: &str,
    ) -> Self {
        let mut decoding = HashMap::new();
        for key in also_verify.iter().chain(std::iter::once(signing)) {
            decoding.insert(key.kid.clone(), DecodingKey::from_secret(&key.secret));
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        KeyRing {
            signing_kid: signing.kid.clone(),
            encoding: EncodingKey::from_secret(&signing.secret),
            decoding,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Signs an access token for `principal`, valid from `now` (Unix seconds) for `ttl_secs`.
    pub fn issue(
        &self,
        principal: &Principal,
        now: i64,
        ttl_secs: i64,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_at_millis(principal, now * 1000, ttl_secs)
    }

    /// As [`KeyRing::issue`], with the issue time in Unix milliseconds (kept in the token).
    pub fn issue_at_millis(
        &self,
        principal: &Principal,
        now_ms: i64,
        ttl_secs: i64,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_for_session(principal, now_ms, ttl_secs, &SessionClaims::default())
    }

    /// As [`KeyRing::issue_at_millis`], naming the session and whether the password must change.
    pub fn issue_for_session(
        &self,
        principal: &Principal,
        now_ms: i64,
        ttl_secs: i64,
        session: &SessionClaims,
    ) -> Result<IssuedToken, TokenError> {
        let now = now_ms.div_euclid(1000);
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| TokenError::Signing(e.to_string()))?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: principal.user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
            role: principal.role.as_str().to_owned(),
            jur: principal
                .jurisdiction
                .areas()
                .iter()
                .map(|a| format!("{}:{}", a.level(), a.id()))
                .collect(),
            iat_ms: Some(now_ms),
            sid: session.session_id.clone(),
            pwc: session.password_change_required,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_at: claims.exp,
        })
    }

    /// Checks the token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_issued(token).map(|v| v.principal)
    }

    /// Checks the token and returns who it speaks for and when it was issued.
    pub fn verify_issued(&self, token: &str) -> Result<Verified, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::WrongAlgorithm);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => TokenError::BadSignature,
                K::ExpiredSignature => TokenError::Expired,
                K::ImmatureSignature => TokenError::NotYetValid,
                K::InvalidIssuer | K::InvalidAudience => TokenError::WrongParty,
                K::InvalidAlgorithm => TokenError::WrongAlgorithm,
                K::MissingRequiredClaim(c) => TokenError::BadClaims(format!("missing {c}")),
                _ => TokenError::Malformed,
            }
        })?;
        let issued_at_ms = data.claims.iat_ms.unwrap_or(data.claims.iat * 1000);
        let session = SessionClaims {
            session_id: data.claims.sid.clone(),
            password_change_required: data.claims.pwc,
        };
        Ok(Verified {
            principal: principal_from(data.claims)?,
            issued_at_ms,
            session,
        })
    }
}

fn principal_from(claims: Claims) -> Result<Principal, TokenError> {
    let bad = |e: whistle_domain::ValueError| TokenError::BadClaims(e.to_string());
    let user_id = claims
        .sub
        .parse::<i64>()
        .map_err(|_| TokenError::BadClaims("sub is not a user id".into()))
        .and_then(|id| UserId::new(id).map_err(bad))?;
    let role: Role = claims.role.parse().map_err(bad)?;
    let areas = claims
        .jur
        .iter()
        .map(|s| {
            let (level, id) = s
                .split_once(':')
                .ok_or_else(|| TokenError::BadClaims(format!("jurisdiction entry {s}")))?;
            let level: AreaLevel = level.parse().map_err(bad)?;
            let id: i64 = id
                .parse()
                .map_err(|_| TokenError::BadClaims(format!("jurisdiction entry {s}")))?;
            Area::new(level, id).map_err(bad)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let jurisdiction = Jurisdiction::for_role(role, areas).map_err(bad)?;
    Ok(Principal {
        user_id,
        role,
        jurisdiction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use whistle_domain::ids::CommunityId;

    fn key(kid: &str, byte: u8) -> SigningKey {
        SigningKey::new(kid, vec![byte; 32]).unwrap()
    }

    #[test]
    fn the_issue_time_is_kept_to_the_millisecond() {
        let at = now() * 1000 + 700;
        let t = ring().issue_at_millis(&officer(), at, 900).unwrap();
        let v = ring().verify_issued(&t.token).unwrap();
        assert_eq!(v.issued_at_ms, at);
        assert_eq!(v.principal, officer());
        let secs = now();
        let t = ring().issue(&officer(), secs, 900).unwrap();
        assert_eq!(
            ring().verify_issued(&t.token).unwrap().issued_at_ms,
            secs * 1000
        );
    }

    #[test]
    fn session_claims_travel_in_the_token() {
        let claims = SessionClaims {
            session_id: Some("family-1".into()),
            password_change_required: true,
        };
        let t = ring()
            .issue_for_session(&officer(), now() * 1000, 900, &claims)
            .unwrap();
        assert_eq!(ring().verify_issued(&t.token).unwrap().session, claims);
        // Tokens without them (issued before they existed) read as a plain session.
        let t = ring().issue(&officer(), now(), 900).unwrap();
        assert_eq!(
            ring().verify_issued(&t.token).unwrap().session,
            SessionClaims::default()
        );
    }

    fn officer() -> Principal {
        Principal {
            user_id: UserId::new(42).unwrap(),
            role: Role::Officer,
            jurisdiction: Jurisdiction::for_role(
                Role::Officer,
                [Area::Community(CommunityId::new(1).unwrap())],
            )
            .unwrap(),
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new(&key("k1", 1), &[], "whistle", "whistle-api")
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn round_trip() {
        let t = ring().issue(&officer(), now(), 900).unwrap();
        assert_eq!(ring().verify(&t.token).unwrap(), officer());
    }

    #[test]
    fn alg_none_is_refused() {
        let t = ring().issue(&officer(), now(), 900).unwrap();
        let payload = t.token.split('.').nth(1).unwrap();
        let header = b64(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        for forged in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(ring().verify(&forged).is_err(), "{forged}");
        }
    }

    #[test]
    fn another_algorithm_is_refused() {
        let mut header = Header::new(Algorithm::HS512);
        header.kid = Some("k1".into());
        let claims = serde_json::json!({
            "iss": "whistle", "aud": "whistle-api", "sub": "42", "iat": now(), "nbf": now(),
            "exp": now() + 900, "jti": "x", "role": "admin", "jur": []
        });
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&[1u8; 32])).unwrap();
        assert_eq!(
            ring().verify(&token).unwrap_err(),
            TokenError::WrongAlgorithm
        );
    }

    #[test]
    fn wrong_key_and_unknown_kid_are_refused() {
        let other = KeyRing::new(&key("k1", 2), &[], "whistle", "whistle-api");
        let t = other.issue(&officer(), now(), 900).unwrap();
        assert_eq!(
            ring().verify(&t.token).unwrap_err(),
            TokenError::BadSignature
        );
        let stranger = KeyRing::new(&key("k9", 1), &[], "whistle", "whistle-api");
        let t = stranger.issue(&officer(), now(), 900).unwrap();
        assert_eq!(ring().verify(&t.token).unwrap_err(), TokenError::UnknownKey);
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let t = ring().issue(&officer(), now() - 3600, 900).unwrap();
        assert_eq!(ring().verify(&t.token).unwrap_err(), TokenError::Expired);
        let t = ring().issue(&officer(), now() + 3600, 900).unwrap();
        assert_eq!(
            ring().verify(&t.token).unwrap_err(),
            TokenError::NotYetValid
        );
    }

    #[test]
    fn a_tampered_role_claim_breaks_the_signature() {
        let t = ring().issue(&officer(), now(), 900).unwrap();
        let parts: Vec<&str> = t.token.split('.').collect();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let forged_payload = String::from_utf8(payload)
            .unwrap()
            .replace("\"officer\"", "\"admin\"");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(forged_payload.as_bytes()),
            parts[2]
        );
        assert_eq!(
            ring().verify(&forged).unwrap_err(),
            TokenError::BadSignature
        );
    }

    #[test]
    fn wrong_audience_or_issuer_is_refused() {
        let other_aud = KeyRing::new(&key("k1", 1), &[], "whistle", "another-app");
        let t = other_aud.issue(&officer(), now(), 900).unwrap();
        assert_eq!(ring().verify(&t.token).unwrap_err(), TokenError::WrongParty);
        let other_iss = KeyRing::new(&key("k1", 1), &[], "someone", "whistle-api");
        let t = other_iss.issue(&officer(), now(), 900).unwrap();
        assert_eq!(ring().verify(&t.token).unwrap_err(), TokenError::WrongParty);
    }

    #[test]
    fn garbage_is_malformed() {
        for g in [
            "",
            "abc",
            "a.b.c",
            "....",
            "Bearer x",
            &"x".repeat(10_000),
            "é.é.é",
        ] {
            assert!(ring().verify(g).is_err(), "{g}");
        }
    }

    #[test]
    fn rotation_accepts_old_keys_for_verification() {
        let old = KeyRing::new(&key("k1", 1), &[], "whistle", "whistle-api");
        let t = old.issue(&officer(), now(), 900).unwrap();
        let rotated = KeyRing::new(&key("k2", 3), &[key("k1", 1)], "whistle", "whistle-api");
        assert_eq!(rotated.verify(&t.token).unwrap(), officer());
        let fresh = rotated.issue(&officer(), now(), 900).unwrap();
        assert!(fresh.token.len() > 10);
        assert_eq!(
            old.verify(&fresh.token).unwrap_err(),
            TokenError::UnknownKey
        );
    }

    #[test]
    fn derived_secrets_differ_by_label_and_key() {
        let a = key("k1", 1);
        assert_eq!(a.derive("tracking"), a.derive("tracking"));
        assert_ne!(a.derive("tracking"), a.derive("other"));
        assert_ne!(a.derive("tracking"), key("k1", 2).derive("tracking"));
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let mac = keyed_digest(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_parse_and_never_print() {
        let k = SigningKey::generate("2026-11").unwrap();
        let again = SigningKey::parse(&k.to_config_string()).unwrap();
        assert_eq!(k, again);
        assert!(!format!("{k:?}").contains(&k.to_config_string()[8..]));
        assert_eq!(SigningKey::parse("nokid").unwrap_err(), KeyError::Shape);
        assert_eq!(
            SigningKey::parse("k:c2hvcnQ=").unwrap_err(),
            KeyError::TooShort
        );
        assert_eq!(SigningKey::parse("k:!!!").unwrap_err(), KeyError::Base64);
        assert_eq!(
            SigningKey::parse("bad kid:AAAA").unwrap_err(),
            KeyError::Kid
        );
    }
}
