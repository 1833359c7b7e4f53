//! API keys of client applications (Open311 clients): opaque random strings, shown once when an
//! admin creates them. Only their SHA-256 is stored, so a copy of the database lets nobody submit
//! reports in a client's name.

use base64::Engine;

/// Every key starts with this, so a leaked key is recognisable in logs and code scanners.
pub const PREFIX: &str = "w311_";

/// A new key: give `plaintext` to the client application once, store `hash` and `hint`.
#[derive(Clone)]
pub struct NewApiKey {
    pub plaintext: String,
    pub hash: String,
    /// The first characters of the key, kept in clear so an admin can tell keys apart.
    pub hint: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewApiKey(hint={}…)", self.hint)
    }
}

/// 256 random bits, URL-safe base64, after [`PREFIX`].
pub fn generate() -> Result<NewApiKey, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let plaintext = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    Ok(NewApiKey {
        hash: hash(&plaintext),
        hint: hint(&plaintext),
        plaintext,
    })
}

/// The stored form of a key: lowercase hex SHA-256. Keys are 256-bit random, so a fast unsalted
/// hash is enough, and lookup by hash stays an index seek.
pub fn hash(plaintext: &str) -> String {
    crate::refresh::hash(plaintext)
}

/// The prefix and the next four characters: 24 of the key's 256 bits, enough to tell keys apart
/// in a list and far too few to help guess one.
fn hint(plaintext: &str) -> String {
    plaintext.chars().take(PREFIX.len() + 4).collect()
}

/// Whether a presented value could be a key at all (cheap check before touching the database).
pub fn looks_like_key(presented: &str) -> bool {
    presented.len() <= 128 && presented.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.plaintext, b.plaintext);
        assert!(a.plaintext.starts_with(PREFIX));
        assert_eq!(a.plaintext.len(), PREFIX.len() + 43);
        assert_eq!(a.hash, hash(&a.plaintext));
        assert_eq!(a.hash.len(), 64);
        assert!(a.plaintext.starts_with(&a.hint));
        assert_eq!(a.hint.len(), PREFIX.len() + 4);
        assert!(!format!("{a:?}").contains(&a.plaintext));
        assert!(looks_like_key(&a.plaintext));
        assert!(!looks_like_key("xyz"));
        assert!(!looks_like_key(&format!("{PREFIX}{}", "a".repeat(200))));
    }
}
