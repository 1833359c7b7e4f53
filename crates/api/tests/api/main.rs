//! Integration tests of whistle-api: a real server on loopback over a real database (SQLite by
//! default; PostgreSQL when WHISTLE_TEST_DATABASE_URL is set), one fresh database per test.

mod helpers;

mod accounts;
mod admin;
mod analytics;
mod attachments;
mod auth;
mod cases;
mod catalogue;
mod cli;
mod command_centre;
mod community;
mod docs;
mod errors;
mod errors_language;
mod geography;
mod hardening;
mod health;
mod locate;
mod merchants;
mod open311;
mod outage;
mod photo_storage;
mod places;
mod printing;
mod reads;
mod schema;
mod web;
mod workflow;
mod worklogs;
