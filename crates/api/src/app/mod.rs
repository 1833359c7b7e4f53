//! The application layer: the use cases, between the HTTP adapters (the route modules) and the
//! storage (`whistle_persistence`).
//!
//! A use case takes a typed command built from domain types, the acting principal and the
//! state (whose clock says what time it is), runs in one transaction, and returns a typed
//! result or an [`AppError`]. It decides nothing the domain can decide: the lifecycle's rules
//! are `whistle_domain::lifecycle::decide`, the policy is `whistle_auth::policy` (asked through
//! [`access`]). It knows nothing of HTTP: no web framework, no status codes, no wire types; the routes
//! translate wire types into commands and results and errors into responses.
//!
//! A module tree of the API crate rather than a crate of its own: the use cases need what the
//! API process holds in memory (the reference cache, the grid index, the photo store, the
//! token secrets), and the notifier runs none of them. The boundary is kept by a test
//! (`boundary_tests` below) that refuses an HTTP import in any file under `src/app/`.

pub mod access;
pub mod accounts;
pub mod analytics;
pub mod api_keys;
pub mod attachments;
pub mod cases;
pub mod catalogue;
pub mod community;
mod error;
pub mod login;
pub mod merchants;
pub mod organisations;
pub mod password;
pub mod places;
pub mod registration;
pub mod sessions;
pub mod stationing;
pub mod worklogs;

pub use error::AppError;

#[cfg(test)]
mod boundary_tests {
    /// Nothing under `src/app/` may reach into HTTP: not axum, not the routes, not the HTTP
    /// error type or the extractors.
    #[test]
    fn the_application_layer_knows_nothing_of_http() {
        let forbidden = [
            "axum",
            "crate::routes",
            "crate::error",
            "crate::extract",
            "ApiError",
            "StatusCode",
        ];
        let mut checked = 0;
        for path in crate::rust_files_under("src/app") {
            let text = std::fs::read_to_string(&path).unwrap();
            // This file names what it forbids.
            let text = text.split("mod boundary_tests").next().unwrap_or_default();
            for word in forbidden {
                assert!(
                    !text.contains(word),
                    "{} mentions {word}: the application layer must not know HTTP",
                    path.display()
                );
            }
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} files under src/app");
    }
}
