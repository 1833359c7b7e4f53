#![doc = include_str!("../README.md")]

mod api;
mod notifier;
mod pages;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "whistle-bench", version, about = "Whistle's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The API: each scenario over HTTP against the same work straight on PostgreSQL.
    Api(api::Args),
    /// The notifier: SLA sweep cost with many open cases, and delivery throughput.
    Notifier(notifier::Args),
    /// The staff console's pages in Chromium: queue, case and dashboard ready times.
    Pages(pages::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `RUST_LOG=whistle_notifier=debug` shows, e.g., each sweep step's time per phase.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Api(args) => api::run(args).await,
        Command::Notifier(args) => notifier::run(args).await,
        Command::Pages(args) => pages::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
