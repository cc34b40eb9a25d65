//! The `rollcall` command line: serve, bootstrap, token, api-key, openapi, migrate.

use std::net::TcpListener;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::config::{DatabaseConfig, FeedConfig, DEFAULT_BIND};
use crate::db::api_keys::ApiKey;
use crate::db::{self, Pool};
use crate::domain::{AccountId, ApiKeyId, UserId, UserIdentifier};
use crate::engine::accounts;
use crate::engine::api_keys::KeyPurpose;
use crate::engine::sign_in::SignInPolicy;
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

/// Lines not yet written to standard error are written when this is dropped:
/// keep it until the process ends.
#[must_use = "dropping it stops the log writer"]
pub struct LogGuard(#[allow(dead_code, reason = "held for its drop")] tracing_appender::non_blocking::WorkerGuard);

/// Logs at `RUST_LOG`'s levels (`info` by default) in `format`.
///
/// Lines are formatted by the thread that logs them and written to standard
/// error by a thread of its own, as many a `write` as have queued up (the
/// access log costs a request no system call). Nothing is dropped: when
/// 65,536 lines are waiting, the next line waits for room.
pub fn init_logging(format: LogFormat) -> LogGuard {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(65_536)
        .thread_name("rollcall-log")
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    LogGuard(guard)
}

/// The service every command and the server run on: the pool and the
/// change observers.
pub fn service(pool: Pool, keys: TokenKeys) -> Service {
    service_with(pool, keys, FeedConfig::default())
}

/// [`service`] with the feed's settings (whether events are recorded).
pub fn service_with(pool: Pool, keys: TokenKeys, feed: FeedConfig) -> Service {
    let signals = crate::feed::Signals::default();
    let mut observers = Observers::new().with(crate::observe::ChangeCounter);
    if feed.events {
        observers = observers.with(crate::feed::EventLog::new(signals.clone(), !pool.is_postgres()));
    }
    Service::new(pool, observers, keys).with_feed(feed, signals)
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
        /// Consecutive failed password sign-ins that lock a user.
        #[arg(long, env = "ROLLCALL_LOCKOUT_THRESHOLD", default_value_t = 5, value_parser = clap::value_parser!(i32).range(1..))]
        lockout_threshold: i32,
        /// Minutes such a lock lasts (an administrator's `unlock` lifts it sooner).
        #[arg(long, env = "ROLLCALL_LOCKOUT_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(i64).range(1..))]
        lockout_minutes: i64,
        #[command(flatten)]
        feed: FeedConfig,
    },
    /// Make, list and revoke API keys (client credentials).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
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

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key for a user; prints {"id", "secret", ...} (the secret this once).
    Create {
        /// The account id.
        #[arg(long)]
        account: String,
        /// The user: id, email or username.
        #[arg(long)]
        user: String,
        /// What the key is for.
        #[arg(long, default_value = crate::engine::api_keys::DEFAULT_KEY_NAME)]
        name: String,
        /// `general` (exchanged for tokens) or `scim` (also the bearer token of /scim/v2 as it is).
        #[arg(long, default_value = "general")]
        purpose: String,
    },
    /// List the keys of an account (of one user with --user), never their secrets.
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key: its tokens are refused from the next request on.
    Revoke {
        #[arg(long)]
        account: String,
        /// The key id.
        #[arg(long)]
        id: String,
    },
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
    crate::allocator::tune();
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
            let service = open_service(&cli.database)?;
            let (account, user) = service.ensure_account_admin(&account, &username, &email).await?;
            let token = service.issue_token_as_system(account.id, UserIdentifier::Id(user.id), ttl).await?;
            println!("{}", json!({"account_id": account.id, "user_id": user.id, "token": token}));
            Ok(())
        }
        Command::Token { account, user, ttl } => {
            let service = open_service(&cli.database)?;
            let account = find_account(&service, &account).await?;
            let user = find_user(&service, account.id, &user).await?;
            println!("{}", service.issue_token_as_system(account.id, UserIdentifier::Id(user), ttl).await?);
            Ok(())
        }
        Command::ApiKey(command) => api_key(&open_service(&cli.database)?, command).await,
        Command::SeedExamples { account } => {
            let service = open_service(&cli.database)?;
            let account = find_account(&service, &account).await?;
            service.seed_document_examples(account.id).await?;
            eprintln!("example group '{}' and its users are in account {}", accounts::EXAMPLE_GROUP_NAME, account.id);
            Ok(())
        }
        Command::Serve { bind, workers, lockout_threshold, lockout_minutes, feed } => {
            let policy = SignInPolicy { lockout_threshold, lockout: chrono::Duration::minutes(lockout_minutes), ..SignInPolicy::default() };
            let pool = open(&cli.database)?;
            let keys = TokenKeys::load(&pool)?;
            let service = service_with(pool, keys, feed).with_policy(policy);
            let listener = TcpListener::bind(&bind).map_err(|e| CliError::Usage(format!("cannot listen on {bind}: {e}")))?;
            let address = listener.local_addr()?;
            announce_first_start(&service, &address.to_string()).await?;
            eprintln!(
                "rollcall listening on http://{address} ({} database); Swagger UI: http://{address}{}",
                service.pool().backend_name(),
                crate::api::docs::SWAGGER_PATH
            );
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            crate::startup::serve(listener, service, workers)?.await?;
            Ok(())
        }
    }
}

fn open_service(config: &DatabaseConfig) -> Result<Service, CliError> {
    let pool = open(config)?;
    let keys = TokenKeys::load(&pool)?;
    Ok(service(pool, keys))
}

async fn find_user(service: &Service, account: AccountId, raw: &str) -> Result<UserId, CliError> {
    let ident = UserIdentifier::parse(raw)?;
    let user = service.find_user(account, ident).await?;
    Ok(user.ok_or_else(|| CliError::Usage(format!("no user '{raw}' in account {account}")))?.id)
}

fn key_json(key: &ApiKey) -> serde_json::Value {
    let at = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    json!({
        "id": key.id, "name": key.name, "user_id": key.user_id, "created_at": at(Some(key.created_at)),
        "expires_at": at(key.expires_at), "last_used_at": at(key.last_used_at), "revoked_at": at(key.revoked_at), "purpose": key.purpose,
    })
}

async fn api_key(service: &Service, command: ApiKeyCommand) -> Result<(), CliError> {
    match command {
        ApiKeyCommand::Create { account, user, name, purpose } => {
            let purpose = KeyPurpose::parse(&purpose).map_err(|e| CliError::Usage(e.message.to_string()))?;
            let account = find_account(service, &account).await?;
            let user = find_user(service, account.id, &user).await?;
            let made = service.create_api_key_as_system(account.id, UserIdentifier::Id(user), &name, purpose).await?;
            let mut shown = key_json(&made.key);
            shown["secret"] = json!(made.secret);
            shown["account_id"] = json!(account.id);
            println!("{shown}");
        }
        ApiKeyCommand::List { account, user } => {
            let account = find_account(service, &account).await?;
            let user = match user {
                Some(u) => Some(UserIdentifier::Id(find_user(service, account.id, &u).await?)),
                None => None,
            };
            for key in service.list_api_keys_as_system(account.id, user).await? {
                println!("{}", key_json(&key));
            }
        }
        ApiKeyCommand::Revoke { account, id } => {
            let account = find_account(service, &account).await?;
            let id: ApiKeyId = id.to_lowercase().parse().map_err(|_| CliError::Usage(format!("no API key with id {id}")))?;
            let key = service.revoke_api_key_as_system(account.id, id).await?;
            println!("{}", key_json(&key));
        }
    }
    Ok(())
}

async fn find_account(service: &Service, raw: &str) -> Result<db::accounts::Account, CliError> {
    let id: AccountId = raw.to_lowercase().parse().map_err(|_| CliError::Usage(format!("no account with id {raw}")))?;
    service.find_account(id).await?.ok_or_else(|| CliError::Usage(format!("no account with id {raw}")))
}

/// On an empty database: create the default account and admin, and tell the
/// newcomer how to try the API at once.
async fn announce_first_start(service: &Service, address: &str) -> Result<(), CliError> {
    if let Some((account, admin)) = service.bootstrap_empty_database().await? {
        let token = service.issue_token_as_system(account.id, UserIdentifier::Id(admin.id), 86_400).await?;
        let key = service.create_api_key_as_system(account.id, UserIdentifier::Id(admin.id), "first start", KeyPurpose::General).await?;
        println!("First start: created account '{}' ({}) and user 'admin' ({}).", account.name, account.id, admin.id);
        println!("Admin API key (shown this once; revoke with `rollcall api-key revoke`):");
        println!("  client_id:     {}", key.key.id);
        println!("  client_secret: {}", key.secret);
        println!("Admin token (valid 24 h):\n{token}");
        println!(
            "Open http://{address}{}, press Authorize and sign in with the key (oauth2, client credentials) or paste the token (bearerAuth);",
            crate::api::docs::SWAGGER_PATH
        );
        println!("for /v1 calls also send X-Account-ID: {}", account.id);
    }
    Ok(())
}
