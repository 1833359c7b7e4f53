//! `whistle-migration` — sea-orm-migration's standard CLI over Whistle's migrations
//! (`up`, `down`, `status`, `fresh`, …). Reads `DATABASE_URL`. The API binary's own
//! `whistle-api migrate` does the same `up` with Whistle's configuration.

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(whistle_migration::Migrator).await;
}
