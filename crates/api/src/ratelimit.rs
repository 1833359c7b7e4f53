//! Keyed rate limiting (GCRA, the algorithm behind most token-bucket limiters): each key may
//! spend a burst at once, then one request per interval. Used for login and registration, keyed
//! by client address and by account name.
//!
//! State is per process. Behind a load balancer with N API processes a client gets at most N
//! times the configured rate; the failed-login counts (`repo::logins`, in the database) are what
//! hold across processes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, keys whose allowance is fully restored are forgotten.
const PRUNE_ABOVE: usize = 100_000;

#[derive(Debug)]
pub struct KeyedLimiter {
    interval: Duration,
    tolerance: Duration,
    /// Per key: the theoretical arrival time of the next request.
    tat: Mutex<HashMap<String, Instant>>,
}

impl KeyedLimiter {
    /// `burst` requests at once, refilling at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        KeyedLimiter {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `key` at `now`; `Err(wait)` when over the limit.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = match self.tat.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = tat.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        map.insert(key.to_owned(), tat + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let l = KeyedLimiter::new(3, 60); // one a second after a burst of three
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("ip", t0).is_ok());
        }
        let wait = l.check("ip", t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Other keys are unaffected.
        assert!(l.check("other", t0).is_ok());
        // After a second, one more.
        assert!(l.check("ip", t0 + Duration::from_secs(1)).is_ok());
        assert!(l.check("ip", t0 + Duration::from_secs(1)).is_err());
        // After a long pause the whole burst is back.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.check("ip", later).is_ok());
        }
        assert!(l.check("ip", later).is_err());
    }
}
