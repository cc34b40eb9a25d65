//! The `rollcall` command line: serve, bootstrap, token, openapi, migrate.

use std::net::TcpListener;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::auth::TokenKeys;
use crate::config::{DatabaseConfig, DEFAULT_BIND};
use crate::db::{self, Pool};
use crate::domain::UserIdentifier;
use crate::engine::accounts;
use crate::error::ApiError;

#[derive(Debug, Parser)]
#[command(name = "rollcall", version, about = "Users, groups and memberships for multi-tenant products")]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseConfig,
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
    Api(#[from] ApiError),
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
            let mut conn = pool.get()?;
            let account = accounts::ensure_account(&mut conn, &account)?;
            let user = accounts::ensure_admin(&mut conn, &account.id, &username, &email)?;
            let token = keys.issue(&user.id, &account.id, ttl)?;
            println!("{}", json!({"account_id": account.id, "user_id": user.id, "token": token}));
            Ok(())
        }
        Command::Token { account, user, ttl } => {
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let mut conn = pool.get()?;
            let account = db::accounts::find_by_id(&mut conn, &account.to_lowercase())?
                .ok_or_else(|| CliError::Usage(format!("no account with id {account}")))?;
            let ident = UserIdentifier::parse(&user)?;
            let user = db::users::find(&mut conn, &account.id, &ident)?
                .ok_or_else(|| CliError::Usage(format!("no user '{user}' in account {}", account.id)))?;
            println!("{}", keys.issue(&user.id, &account.id, ttl)?);
            Ok(())
        }
        Command::SeedExamples { account } => {
            let pool = open(&cli.database)?;
            let mut conn = pool.get()?;
            let account = db::accounts::find_by_id(&mut conn, &account.to_lowercase())?
                .ok_or_else(|| CliError::Usage(format!("no account with id {account}")))?;
            accounts::seed_document_examples(&mut conn, &account.id)?;
            eprintln!("example group '{}' and its users are in account {}", accounts::EXAMPLE_GROUP_NAME, account.id);
            Ok(())
        }
        Command::Serve { bind, workers } => {
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let listener = TcpListener::bind(&bind).map_err(|e| CliError::Usage(format!("cannot listen on {bind}: {e}")))?;
            let address = listener.local_addr()?;
            announce_first_start(&pool, &keys, &address.to_string())?;
            eprintln!(
                "rollcall listening on http://{address} ({} database); Swagger UI: http://{address}{}",
                pool.backend_name(),
                crate::api::docs::SWAGGER_PATH
            );
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            crate::startup::serve(listener, pool, keys, workers)?.await?;
            Ok(())
        }
    }
}

/// On an empty database: create the default account and admin, and tell the
/// newcomer how to try the API at once.
fn announce_first_start(pool: &Pool, keys: &TokenKeys, address: &str) -> Result<(), CliError> {
    let mut conn = pool.get()?;
    if let Some((account, admin)) = accounts::bootstrap_empty_database(&mut conn)? {
        let token = keys.issue(&admin.id, &account.id, 86_400)?;
        println!("First start: created account '{}' ({}) and user 'admin' ({}).", account.name, account.id, admin.id);
        println!("Admin token (valid 24 h):\n{token}");
        println!("Open http://{address}{}, press Authorize and paste the token;", crate::api::docs::SWAGGER_PATH);
        println!("for /v1 calls also send X-Account-ID: {}", account.id);
    }
    Ok(())
}
