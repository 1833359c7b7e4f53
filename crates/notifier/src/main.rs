//! `whistle-notifier`: for now it connects to the database, reports readiness and waits for
//! SIGINT/SIGTERM; the SLA sweep and outbox delivery are built on this skeleton.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "whistle-notifier",
    version,
    about = "Whistle (吹哨) SLA reminders and notifications"
)]
struct Cli {
    /// Configuration file (default: ./whistle.toml if present).
    #[arg(long, env = "WHISTLE_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match whistle_notifier::Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    whistle_notifier::init_logging(&settings);
    match whistle_notifier::run(settings, whistle_notifier::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
