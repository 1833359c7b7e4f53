//! `whistle-api`: see `whistle_api::cli` for the commands.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a page of the officer queue allocates and frees
/// thousands of small strings (rows decoded, DTOs built, JSON written), and glibc's malloc and
/// free were a quarter of the server's CPU there (`perf`, whistle-bench api).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    whistle_api::cli::run().await
}
