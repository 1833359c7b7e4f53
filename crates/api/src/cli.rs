//! The `whistle-api` command line: serve (default), migrate, demo, admin.

use std::io::{BufRead, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sea_orm::TransactionTrait;
use whistle_auth::password::{self, Password};
use whistle_domain::jurisdiction::{AreaLevel, Jurisdiction};
use whistle_domain::people::{BadgeNumber, NewUser, PhoneNumber, Role, Username};
use whistle_domain::text::{Code, Name};
use whistle_persistence::repo::geography::find_area_by_code;
use whistle_persistence::repo::users::{NewOfficer, create_user, set_jurisdiction};
use whistle_persistence::{RepoError, connect, migrate};

use crate::config::Settings;
use crate::startup::{App, open_database};
use crate::{demo, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "whistle-api",
    version,
    about = "Whistle (吹哨) API server and admin tool"
)]
pub struct Cli {
    /// Configuration file (default: ./whistle.toml if present).
    #[arg(long, global = true, env = "WHISTLE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Seed the demo city (Lianyungang, Haizhou district) before serving. Idempotent.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Seed the demo city and exit.
    Demo,
    /// Print the OpenAPI document (JSON) and exit; the web client's types are generated from it.
    Openapi,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account. The password is read from the first line of standard input.
    CreateUser {
        #[arg(long)]
        username: String,
        /// resident, partner, officer, leader, dispatcher or admin.
        #[arg(long)]
        role: String,
        /// Name shown to others (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Mainland mobile number.
        #[arg(long)]
        phone: Option<String>,
        /// Badge number; required for officers and leaders.
        #[arg(long)]
        badge_number: Option<String>,
        /// Squad (中队) of an officer or leader.
        #[arg(long)]
        squad: Option<String>,
        /// An area of the account's jurisdiction as level:code, e.g. community:320706001001;
        /// repeat for several.
        #[arg(long = "area")]
        areas: Vec<String>,
    },
    /// API keys of Open311 client applications.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key to a client application; the key is printed once.
    Create {
        /// The client application, e.g. "街道微信小程序".
        #[arg(long)]
        name: String,
    },
    /// List the keys (never the keys themselves).
    List,
    /// Revoke a key by its id.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

/// Runs the command line; the binary's `main` only calls this.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings, cli.demo).await,
        Command::Migrate => run_migrate(&settings).await,
        Command::Demo => seed_demo(&settings).await,
        Command::Openapi => print_openapi(),
        Command::Admin(AdminCommand::CreateUser {
            username,
            role,
            display_name,
            phone,
            badge_number,
            squad,
            areas,
        }) => {
            let input = CreateUserInput {
                username,
                role,
                display_name,
                phone,
                badge_number,
                squad,
                areas,
            };
            return admin_create_user(&settings, input).await;
        }
        Command::Admin(AdminCommand::ApiKey(command)) => {
            return admin_api_key(&settings, command).await;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(mut settings: Settings, with_demo: bool) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    if with_demo {
        // The demo has no SMS gateway: a resident registering there reads the code in the log.
        settings.auth.log_verification_codes = true;
        let report = demo::seed(&db).await.context("seeding the demo city")?;
        println!("{report}");
    }
    let app = App::build_with(settings, db).await?;
    println!("Whistle API on http://{} (docs: /docs)", app.local_addr());
    app.run_until_stopped().await.context("serving")?;
    Ok(())
}

fn print_openapi() -> anyhow::Result<()> {
    let doc = crate::routes::openapi()
        .to_pretty_json()
        .context("serialising the OpenAPI document")?;
    println!("{doc}");
    Ok(())
}

async fn run_migrate(settings: &Settings) -> anyhow::Result<()> {
    // No statement timeout: a migration may build an index on a large table.
    let db = connect(&whistle_persistence::DbSettings {
        statement_timeout: None,
        ..settings.database.db_settings()
    })
    .await?;
    migrate(&db).await.context("applying migrations")?;
    println!("migrations applied");
    Ok(())
}

async fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let report = demo::seed(&db).await?;
    println!("{report}");
    Ok(())
}

struct CreateUserInput {
    username: String,
    role: String,
    display_name: Option<String>,
    phone: Option<String>,
    badge_number: Option<String>,
    squad: Option<String>,
    areas: Vec<String>,
}

/// Exit code 2 for input the command refuses, 1 for failures (database, conflict).
async fn admin_create_user(settings: &Settings, input: CreateUserInput) -> ExitCode {
    let parsed = match parse_create_user(input) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match store_user(settings, parsed).await {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct ParsedUser {
    new: NewUser,
    officer: Option<NewOfficer>,
    password: Password,
    areas: Vec<(AreaLevel, Code)>,
}

fn parse_create_user(input: CreateUserInput) -> anyhow::Result<ParsedUser> {
    let role: Role = input.role.parse()?;
    let username = Username::parse(&input.username)?;
    let display_name = Name::parse(input.display_name.as_deref().unwrap_or(&input.username))?;
    let phone = input.phone.as_deref().map(PhoneNumber::parse).transpose()?;
    let officer = match (role.is_enforcement(), input.badge_number) {
        (true, Some(badge)) => Some(NewOfficer {
            badge_number: BadgeNumber::parse(&badge)?,
            squad: input.squad.as_deref().map(Name::parse).transpose()?,
        }),
        (true, None) => anyhow::bail!("--badge-number is required for role {role}"),
        (false, Some(_)) => anyhow::bail!("--badge-number is only for officers and leaders"),
        (false, None) => None,
    };
    let areas = input
        .areas
        .iter()
        .map(|raw| -> anyhow::Result<(AreaLevel, Code)> {
            let (level, code) = raw
                .split_once(':')
                .with_context(|| format!("--area {raw}: expected level:code"))?;
            Ok((level.parse()?, Code::parse(code)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(4096)
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let raw = line.trim_end_matches(['\n', '\r']);
    let identity: Vec<&str> = [Some(username.as_str()), phone.as_ref().map(|p| p.as_str())]
        .into_iter()
        .flatten()
        .collect();
    let password = Password::new(raw, &identity)?;
    Ok(ParsedUser {
        new: NewUser {
            username,
            display_name,
            phone,
            role,
        },
        officer,
        password,
        areas,
    })
}

async fn store_user(settings: &Settings, parsed: ParsedUser) -> anyhow::Result<String> {
    // A command run by an operator: the time is the machine's, read once.
    let now = whistle_domain::time::Clock::now(&whistle_domain::time::SystemClock);
    let db = open_database(settings).await?;
    let pw = parsed.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
    let txn = db.begin().await?;
    let (user, officer) =
        match create_user(&txn, &parsed.new, hash, parsed.officer.as_ref(), now).await {
            Ok(created) => created,
            Err(RepoError::Conflict(what)) => {
                anyhow::bail!("username, phone or badge number already taken ({what})")
            }
            Err(e) => return Err(e.into()),
        };
    let mut areas = Vec::new();
    for (level, code) in &parsed.areas {
        let area = find_area_by_code(&txn, *level, code)
            .await?
            .with_context(|| format!("no {level} with code {code}"))?;
        areas.push(area);
    }
    let jurisdiction = Jurisdiction::for_role(user.role, areas)?;
    set_jurisdiction(&txn, user.id, &jurisdiction, now).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id.get(), role = %user.role, "user created from the command line");
    Ok(match officer {
        Some(o) => format!(
            "created user {} {} ({}), badge {}",
            user.id,
            user.username,
            user.role,
            o.badge_number.as_str()
        ),
        None => format!("created user {} {} ({})", user.id, user.username, user.role),
    })
}

/// `admin api-key …`. Exit code 2 for input the command refuses, 1 for failures.
async fn admin_api_key(settings: &Settings, command: ApiKeyCommand) -> ExitCode {
    if let ApiKeyCommand::Create { name } = &command
        && let Err(e) = Name::parse(name)
    {
        eprintln!("error: --name {e}");
        return ExitCode::from(2);
    }
    match run_api_key(settings, command).await {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_api_key(settings: &Settings, command: ApiKeyCommand) -> anyhow::Result<String> {
    use crate::app::api_keys::{Issuer, issue, revoke};
    use whistle_domain::time::{Clock, SystemClock};
    use whistle_persistence::repo::api_keys;
    let db = open_database(settings).await?;
    let cli = Issuer {
        user: None,
        ip: None,
        at: SystemClock.now(),
    };
    match command {
        ApiKeyCommand::Create { name } => {
            let (key, plaintext) = issue(&db, &Name::parse(&name)?, cli).await?;
            tracing::info!(api_key_id = key.id, "api key issued from the command line");
            Ok(format!(
                "created api key {} for {}\n{plaintext}\n(keep it: it is not shown again)",
                key.id, key.name
            ))
        }
        ApiKeyCommand::List => {
            let keys = api_keys::list(&db).await?;
            if keys.is_empty() {
                return Ok("no api keys".to_owned());
            }
            Ok(keys
                .iter()
                .map(|k| {
                    format!(
                        "{}\t{}…\t{}\t{}",
                        k.id,
                        k.hint,
                        if k.is_active() { "active" } else { "revoked" },
                        k.name
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        ApiKeyCommand::Revoke { id } => {
            let key = revoke(&db, id, cli).await?;
            Ok(format!("revoked api key {} ({})", key.id, key.name))
        }
    }
}
