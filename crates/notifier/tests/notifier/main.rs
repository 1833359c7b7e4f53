//! Integration tests of whistle-notifier: a real API server with the demo city over a real
//! database (SQLite by default; PostgreSQL when WHISTLE_TEST_DATABASE_URL is set), and real
//! receivers on loopback: an SMTP server, a webhook receiver that verifies signatures, an SMS
//! gateway.

mod helpers;
mod receivers;

mod binary;
mod delivery;
mod faults;
mod notices;
mod outage;
