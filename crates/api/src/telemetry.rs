//! Structured logs: readable lines for people, JSON for collectors; `RUST_LOG` overrides the
//! configured filter.

use crate::config::LogSettings;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(settings: &LogSettings) {
    whistle_process::init_logs(settings);
}
