use std::fmt;

/// A value that failed to parse into one of the domain's types.
///
/// `field` names the value (stable, machine-readable, e.g. `"phone"`); `reason` says what is wrong
/// in plain English. The API turns this into a 422 with both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValueError {
    pub field: &'static str,
    pub reason: String,
}

impl ValueError {
    pub fn new(field: &'static str, reason: impl fmt::Display) -> Self {
        Self {
            field,
            reason: reason.to_string(),
        }
    }
}
