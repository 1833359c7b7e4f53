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
