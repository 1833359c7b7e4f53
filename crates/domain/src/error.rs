use std::fmt;

/// A value that failed to parse into one of the domain's types.
///
/// `field` names the value (stable, machine-readable, e.g. `"phone"`); `reason` says what is wrong
/// in plain English, `reason_zh` the same in Chinese where the rule has been given one (with the
/// same numbers and names). The API turns this into a 422 with both, answering in the client's
/// language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValueError {
    pub field: &'static str,
    pub reason: String,
    pub reason_zh: Option<String>,
}

impl ValueError {
    pub fn new(field: &'static str, reason: impl fmt::Display) -> Self {
        Self {
            field,
            reason: reason.to_string(),
            reason_zh: None,
        }
    }

    /// The reason in Chinese: `ValueError::new("rating", "must be 1 to 5").zh("须为 1 到 5")`.
    pub fn zh(mut self, reason: impl fmt::Display) -> Self {
        self.reason_zh = Some(reason.to_string());
        self
    }
}
