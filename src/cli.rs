//! The `rollcall` command line: serve, bootstrap, token, openapi, migrate.

use std::net::TcpListener;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::config::{DatabaseConfig, DEFAULT_BIND};
use crate::db::{self, Pool};
use crate::domain::{AccountId, UserIdentifier};
use crate::engine::accounts;
use crate::error::Error;
use crate::service::{Observers, Service};
use crate::tokens::TokenKeys;

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, with the request id of its request.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `span` with `request_id`, …).
    Json,
}

/// Logs at `RUST_LOG`'s levels (`info` by default) in `format`.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

/// The service every command and the server run on: the pool and the
/// change observers.
pub fn service(pool: Pool) -> Service {
    Service::new(pool, Observers::new().with(crate::observe::ChangeCounter))
}

#[derive(Debug, Parser)]
#[command(name = "rollcall", version, about = "Users, groups and memberships for multi-tenant products")]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Log format: `text` or `json`.
    #[arg(long, env = "ROLLCALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ROLLCALL_BIND", default_value = DEFAULT_BIND)]
        bind: String,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "ROLLCALL_WORKERS")]
        workers: Option<usize>,
    },
    /// Create (or reuse) an account and an administrator; print their ids and a token as JSON.
    Bootstrap {
        /// Account name (reused when it exists).
        #[arg(long)]
        account: String,
        /// Administrator username (reused when it exists).
        #[arg(long)]
        username: String,
        /// Administrator email, used when the user is created.
        #[arg(long)]
        email: String,
        /// Token lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
    },
    /// Print a token for a user of an account.
    Token {
        /// The account id.
        #[arg(long)]
        account: String,
        /// The user: id, email or username.
        #[arg(long)]
        user: String,
        /// Token lifetime in seconds.
        #[arg(long, default_value_t = 3_600)]
        ttl: i64,
    },
    /// Create the documents' example group and users (with their ids) in an
    /// account, so that every example request in the spec works as written.
    SeedExamples {
        /// The account id.
        #[arg(long)]
        account: String,
    },
    /// Print the OpenAPI document (JSON).
    Openapi {
        /// `3.1` (as served at /api-docs/openapi.json) or `3.0` (the 3.0.3
        /// rendition served at /api-docs/openapi-3.0.json).
        #[arg(long = "openapi-version", default_value = "3.1", value_parser = ["3.1", "3.0"])]
        version: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
}

/// A failure of a command, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Database(#[from] db::ConnectError),
    #[error("{0}")]
    Api(#[from] Error),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

fn open(config: &DatabaseConfig) -> Result<Pool, CliError> {
    let pool = Pool::connect(config)?;
    pool.migrate()?;
    Ok(pool)
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Openapi { version } => {
            let doc = if version == "3.0" { crate::startup::openapi_30() } else { crate::startup::openapi() };
            println!("{}", serde_json::to_string_pretty(&doc).expect("the spec serializes"));
            Ok(())
        }
        Command::Migrate => {
            let pool = Pool::connect(&cli.database)?;
            let collisions = pool.migrate_reporting()?;
            eprintln!("migrations applied ({})", cli.database.redacted_url());
            for c in &collisions {
                eprintln!("name key collision: {c}");
            }
            Ok(())
        }
        Command::Bootstrap { account, username, email, ttl } => {
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let (account, user) = service(pool).ensure_account_admin(&account, &username, &email).await?;
            let token = keys.issue(user.id, account.id, ttl)?;
            println!("{}", json!({"account_id": account.id, "user_id": user.id, "token": token}));
            Ok(())
        }
        Command::Token { account, user, ttl } => {
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let service = service(pool);
            let account = find_account(&service, &account).await?;
            let ident = UserIdentifier::parse(&user)?;
            let user = service
                .find_user(account.id, ident)
                .await?
                .ok_or_else(|| CliError::Usage(format!("no user '{user}' in account {}", account.id)))?;
            println!("{}", keys.issue(user.id, account.id, ttl)?);
            Ok(())
        }
        Command::SeedExamples { account } => {
            let pool = open(&cli.database)?;
            let service = service(pool);
            let account = find_account(&service, &account).await?;
            service.seed_document_examples(account.id).await?;
            eprintln!("example group '{}' and its users are in account {}", accounts::EXAMPLE_GROUP_NAME, account.id);
            Ok(())
        }
        Command::Serve { bind, workers } => {
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let service = service(pool);
            let listener = TcpListener::bind(&bind).map_err(|e| CliError::Usage(format!("cannot listen on {bind}: {e}")))?;
            let address = listener.local_addr()?;
            announce_first_start(&service, &keys, &address.to_string()).await?;
            eprintln!(
                "rollcall listening on http://{address} ({} database); Swagger UI: http://{address}{}",
                service.pool().backend_name(),
                crate::api::docs::SWAGGER_PATH
            );
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            crate::startup::serve(listener, service, keys, workers)?.await?;
            Ok(())
        }
    }
}

async fn find_account(service: &Service, raw: &str) -> Result<db::accounts::Account, CliError> {
    let id: AccountId = raw.to_lowercase().parse().map_err(|_| CliError::Usage(format!("no account with id {raw}")))?;
    service.find_account(id).await?.ok_or_else(|| CliError::Usage(format!("no account with id {raw}")))
}

/// On an empty database: create the default account and admin, and tell the
/// newcomer how to try the API at once.
async fn announce_first_start(service: &Service, keys: &TokenKeys, address: &str) -> Result<(), CliError> {
    if let Some((account, admin)) = service.bootstrap_empty_database().await? {
        let token = keys.issue(admin.id, account.id, 86_400)?;
        println!("First start: created account '{}' ({}) and user 'admin' ({}).", account.name, account.id, admin.id);
        println!("Admin token (valid 24 h):\n{token}");
        println!("Open http://{address}{}, press Authorize and paste the token;", crate::api::docs::SWAGGER_PATH);
        println!("for /v1 calls also send X-Account-ID: {}", account.id);
    }
    Ok(())
}
