//! `whistle-notifier`: the SLA sweep and outbox delivery, in a loop until SIGINT/SIGTERM, or
//! once (`--once`, for cron).

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
    /// Do what is due now, then exit (for cron-style use); prints what was done as JSON.
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match whistle_notifier::Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    whistle_notifier::init_logging(&settings);
    match whistle_notifier::run(settings, cli.once, whistle_notifier::shutdown_signal()).await {
        Ok(report) => {
            if cli.once {
                println!("{}", report.to_json());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
