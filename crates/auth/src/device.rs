//! Known devices: a signed token a client receives at a successful login and sends back at the
//! next ones (header `X-Whistle-Device` or cookie `whistle_device`).
//!
//! A login carrying a device token of the account it names is counted apart from everybody
//! else's attempts: failures from other addresses do not slow it (OWASP Authentication Cheat
//! Sheet, "device cookies"), while failures with the token itself still do, so a stolen token
//! buys no free guesses. The token is `<user id>.<device id>.<HMAC-SHA256>`; nothing is stored
//! for it, the key is derived from the signing key every API process shares.

use base64::Engine;
use hmac::{Hmac, Mac};
use whistle_domain::ids::UserId;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A device recognised by its token: the account it logged in to and its random id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub user_id: UserId,
    /// 128 random bits, URL-safe base64 (22 characters).
    pub device_id: String,
}

impl KnownDevice {
    /// A new device of `user_id`.
    pub fn new(user_id: UserId) -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(KnownDevice {
            user_id,
            device_id: B64.encode(bytes),
        })
    }

    /// The token to hand to the client.
    pub fn token(&self, key: &[u8; 32]) -> String {
        let body = format!("{}.{}", self.user_id.get(), self.device_id);
        let mac = mac(key, &body).finalize().into_bytes();
        format!("{body}.{}", B64.encode(mac))
    }

    /// The device a token names, when its signature checks out; anything else is `None`.
    pub fn verify(key: &[u8; 32], token: &str) -> Option<KnownDevice> {
        if token.len() > 128 {
            return None;
        }
        let (body, sig) = token.trim().rsplit_once('.')?;
        let (user, device) = body.split_once('.')?;
        let sig = B64.decode(sig).ok()?;
        mac(key, body).verify_slice(&sig).ok()?;
        let user_id = UserId::new(user.parse().ok()?).ok()?;
        Some(KnownDevice {
            user_id,
            device_id: device.to_owned(),
        })
    }

    /// How the device is named among login sources.
    pub fn source(&self) -> String {
        format!("d:{}", self.device_id)
    }
}

fn mac(key: &[u8; 32], body: &str) -> Hmac<sha2::Sha256> {
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(body.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_under_their_key() {
        let key = [7u8; 32];
        let d = KnownDevice::new(UserId::new(12).unwrap()).unwrap();
        let t = d.token(&key);
        assert_eq!(KnownDevice::verify(&key, &t), Some(d.clone()));
        assert_eq!(KnownDevice::verify(&[8u8; 32], &t), None);
        let other_user = t.replacen("12.", "13.", 1);
        assert_eq!(KnownDevice::verify(&key, &other_user), None);
        for junk in ["", ".", "..", "12.abc", "12.abc.!!!", &"x".repeat(500)] {
            assert_eq!(KnownDevice::verify(&key, junk), None, "{junk}");
        }
        assert_ne!(d.device_id, KnownDevice::new(d.user_id).unwrap().device_id);
        assert!(d.source().starts_with("d:"));
    }
}
