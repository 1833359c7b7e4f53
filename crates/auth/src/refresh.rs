//! Refresh tokens: opaque random strings. Only their SHA-256 is stored, so a copy of the
//! database does not let anyone log in.

use base64::Engine;
use sha2::{Digest, Sha256};

/// A new refresh token: give `plaintext` to the client, store `hash`.
#[derive(Clone)]
pub struct NewRefreshToken {
    pub plaintext: String,
    pub hash: String,
}

impl std::fmt::Debug for NewRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewRefreshToken(hash={})", self.hash)
    }
}

/// 256 random bits, URL-safe base64.
pub fn generate() -> Result<NewRefreshToken, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let plaintext = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&plaintext);
    Ok(NewRefreshToken { plaintext, hash })
}

/// The stored form of a refresh token: lowercase hex SHA-256. The token is high-entropy random,
/// so a fast hash is enough (no password-style stretching needed).
pub fn hash(plaintext: &str) -> String {
    let digest = Sha256::digest(plaintext.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.plaintext.len(), 43);
        assert_eq!(hash(&a.plaintext), a.hash);
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.plaintext));
        // Known vector: SHA-256("abc").
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
