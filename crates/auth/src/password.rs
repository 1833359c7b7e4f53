//! Argon2id password hashing and the minimum-strength policy.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// OWASP's minimum recommended Argon2id configuration (Password Storage Cheat Sheet):
/// 19 MiB of memory, 2 iterations, 1 degree of parallelism.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // The constants above are within argon2's accepted ranges; `Params::new` only fails outside
    // them, so this cannot fail at run time.
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, Some(32)).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A plaintext password that has passed the policy. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {min} characters")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters")]
    TooLong { max: usize },
    #[error("password must mix at least two of: letters, digits, other characters")]
    TooSimple,
    #[error("password must not contain the username or phone number")]
    ContainsIdentity,
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// Bounded before any hashing so an attacker cannot make us hash megabytes.
    pub const MAX_CHARS: usize = 128;

    /// Applies the policy to a new password. `identity` are strings the password must not
    /// contain (username, phone number).
    pub fn new(raw: &str, identity: &[&str]) -> Result<Self, PasswordError> {
        // Checked on bytes first, so an enormous input is refused before it is even scanned.
        if raw.len() > Self::MAX_CHARS * 4 || raw.chars().count() > Self::MAX_CHARS {
            return Err(PasswordError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(PasswordError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        let letters = raw.chars().any(char::is_alphabetic);
        let digits = raw.chars().any(|c| c.is_ascii_digit());
        let others = raw.chars().any(|c| !c.is_alphanumeric());
        if [letters, digits, others].iter().filter(|&&b| b).count() < 2 {
            return Err(PasswordError::TooSimple);
        }
        let lower = raw.to_lowercase();
        if identity
            .iter()
            .filter(|s| s.chars().count() >= 3)
            .any(|s| lower.contains(&s.to_lowercase()))
        {
            return Err(PasswordError::ContainsIdentity);
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps a password typed at login: no policy (old passwords may predate it), only the length
    /// bound that keeps hashing cheap to refuse.
    pub fn for_login(raw: &str) -> Option<Self> {
        (raw.len() <= Self::MAX_CHARS * 4).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A random password for an admin's reset, to be read out or written down: three groups of
    /// four letters and digits without look-alikes (`k7pm-3wqx-9dtr`, about 62 bits). It passes
    /// the policy, `identity` included.
    pub fn temporary(identity: &[&str]) -> Result<Self, getrandom::Error> {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        loop {
            let mut bytes = [0u8; 12];
            getrandom::fill(&mut bytes)?;
            let mut raw = String::with_capacity(14);
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 && i % 4 == 0 {
                    raw.push('-');
                }
                // 256 is not a multiple of 31: the first 8 letters come up a little more often
                // (9 in 256 against 8), which costs well under a bit.
                raw.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
            }
            if let Ok(p) = Self::new(&raw, identity) {
                return Ok(p);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes with a fresh random salt. CPU-heavy: call from a blocking thread.
pub fn hash(password: &Password) -> Result<String, HashError> {
    hasher()
        .hash_password(password.0.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the stored PHC string. A malformed stored hash is a mismatch.
/// CPU-heavy: call from a blocking thread.
pub fn verify(password: &Password, stored: &str) -> bool {
    hasher()
        .verify_password(password.0.as_bytes(), stored)
        .is_ok()
}

/// A hash of a random password, computed once: verifying against it costs the same as a real
/// verification, which is how a login for an unknown user takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let p = Password(format!("dummy-{:?}", std::time::SystemTime::now()));
        hash(&p).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_carry_owasp_parameters() {
        let p = Password::new("wenchang-2026", &[]).unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&p, &h));
        assert!(!verify(&Password::for_login("wenchang-2027").unwrap(), &h));
        assert!(!verify(&p, "not a hash"));
        // Same password, different salt.
        assert_ne!(h, hash(&p).unwrap());
    }

    #[test]
    fn policy() {
        assert_eq!(
            Password::new("short1", &[]).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        assert_eq!(
            Password::new("onlyletters", &[]).unwrap_err(),
            PasswordError::TooSimple
        );
        assert_eq!(
            Password::new("12345678901", &[]).unwrap_err(),
            PasswordError::TooSimple
        );
        assert!(matches!(
            Password::new(&"a1".repeat(65), &[]).unwrap_err(),
            PasswordError::TooLong { .. }
        ));
        assert!(matches!(
            Password::new(&"a1".repeat(1_000_000), &[]).unwrap_err(),
            PasswordError::TooLong { .. }
        ));
        assert_eq!(
            Password::new("tianye-2026", &["TianYe"]).unwrap_err(),
            PasswordError::ContainsIdentity
        );
        assert!(Password::new("城管进社区2026", &[]).is_ok());
        assert!(Password::for_login(&"x".repeat(10_000)).is_none());
    }

    #[test]
    fn temporary_passwords_pass_the_policy_and_differ() {
        let a = Password::temporary(&["tianye"]).unwrap();
        let b = Password::temporary(&["tianye"]).unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 14);
        assert!(Password::new(a.expose(), &["tianye"]).is_ok());
    }

    #[test]
    fn passwords_do_not_print() {
        let p = Password::new("secret-2026", &[]).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn dummy_hash_is_a_real_hash() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify(
            &Password::for_login("anything").unwrap(),
            dummy_hash()
        ));
    }
}
