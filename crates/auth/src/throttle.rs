//! How failed logins slow further attempts, as pure rules (the counts live in the database).
//!
//! Following the OWASP Authentication Cheat Sheet, nothing here can lock an account's owner
//! out: failures are counted per *source* — a client address, or a known device — and each
//! source past a few free failures waits, twice as long after every further attempt. A much
//! higher count over the whole account (many addresses guessing together) slows only sources
//! that have never logged in to the account; a known device or address is never held back by
//! what others do.

use std::time::Duration;

/// The throttling settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures a source may have before it must wait.
    pub free_failures: u32,
    /// The first wait; each further attempt during or after it doubles the wait.
    pub first_delay: Duration,
    /// Waits never exceed this.
    pub max_delay: Duration,
    /// A source's failures are forgotten after this long without one.
    pub forget_after: Duration,
    /// Failures over the whole account, from sources that are not known, within
    /// `account_window`, before such sources are held back…
    pub account_limit: u32,
    pub account_window: Duration,
    /// …for this long (renewed by every further failure).
    pub account_block: Duration,
    /// A source that logged in successfully stays known this long.
    pub known_for: Duration,
}

impl LoginThrottle {
    /// The wait imposed on a source after its `failures`-th consecutive failure (an attempt
    /// made while it had to wait counts as one).
    pub fn source_delay(&self, failures: u32) -> Option<Duration> {
        if failures < self.free_failures.max(1) {
            return None;
        }
        let doublings = (failures - self.free_failures.max(1)).min(40);
        let delay = self
            .first_delay
            .max(Duration::from_secs(1))
            .saturating_mul(1u32 << doublings.min(31));
        Some(delay.min(self.max_delay.max(Duration::from_secs(1))))
    }

    /// Whether `failures` over the account within the window hold back unknown sources, and
    /// for how long.
    pub fn account_block(&self, failures: u32) -> Option<Duration> {
        (failures >= self.account_limit.max(1)).then_some(self.account_block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginThrottle {
        LoginThrottle {
            free_failures: 5,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(900),
            forget_after: Duration::from_secs(86_400),
            account_limit: 100,
            account_window: Duration::from_secs(3600),
            account_block: Duration::from_secs(900),
            known_for: Duration::from_secs(90 * 86_400),
        }
    }

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        let p = policy();
        for f in 0..5 {
            assert_eq!(p.source_delay(f), None);
        }
        let secs: Vec<u64> = (5..16)
            .map(|f| p.source_delay(f).unwrap().as_secs())
            .collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(p.source_delay(u32::MAX).unwrap().as_secs(), 900);
    }

    #[test]
    fn the_account_is_held_back_only_past_its_much_higher_limit() {
        let p = policy();
        assert_eq!(p.account_block(99), None);
        assert_eq!(p.account_block(100), Some(Duration::from_secs(900)));
    }
}
