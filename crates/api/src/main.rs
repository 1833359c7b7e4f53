//! `whistle-api`: see `whistle_api::cli` for the commands.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    whistle_api::cli::run().await
}
