#![doc = include_str!("../README.md")]

pub mod app;
pub mod authn;
pub mod card;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod media_store;
pub mod photo_store;
pub mod problem_text;
pub mod ratelimit;
pub mod reference;
pub mod routes;
pub mod screen;
pub mod signed_link;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod wire;

pub use config::Settings;
pub use startup::App;
pub use state::AppState;

/// The crate's own source files, for the tests that hold its layering.
#[cfg(test)]
pub(crate) fn rust_files_under(dir: &str) -> Vec<std::path::PathBuf> {
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}
