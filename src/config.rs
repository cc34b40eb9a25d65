//! Settings from command-line flags and the environment.

use clap::{Args, ValueEnum};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://rollcall.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    /// fsync on every commit: an acknowledged change survives power loss.
    Full,
    /// fsync at checkpoints only: survives a process crash, not power loss.
    Normal,
}

impl SqliteSynchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://PATH` (or a plain file path) or `postgres://...`.
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub url: String,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "ROLLCALL_POOL_SIZE", default_value_t = 8, global = true)]
    pub pool_size: u32,

    /// Seconds to wait for a database connection before giving up.
    #[arg(long, env = "ROLLCALL_CONNECT_TIMEOUT", default_value_t = 5, global = true)]
    pub connect_timeout_secs: u64,

    /// SQLite: coalesce concurrent writes into shared commits (each request
    /// still answers only after its change is durable).
    #[arg(long, env = "ROLLCALL_SQLITE_GROUP_COMMIT", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub sqlite_group_commit: bool,

    /// SQLite durability; `full` by default.
    #[arg(long, env = "ROLLCALL_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSynchronous::Full, global = true)]
    pub sqlite_synchronous: SqliteSynchronous,

    /// SQLite: how many pages the write-ahead log holds before a commit
    /// copies them into the database file (a checkpoint). A page written
    /// many times between two checkpoints is copied once, so a longer log
    /// costs each write less, and each checkpoint stalls writes for longer
    /// (see README).
    #[arg(long, env = "ROLLCALL_SQLITE_WAL_AUTOCHECKPOINT", default_value_t = DEFAULT_WAL_AUTOCHECKPOINT, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub sqlite_wal_autocheckpoint: u32,
}

/// The default of [`DatabaseConfig::sqlite_wal_autocheckpoint`]: 8,000 pages
/// (32 MB of log), against SQLite's 1,000.
pub const DEFAULT_WAL_AUTOCHECKPOINT: u32 = 8_000;

impl DatabaseConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            connect_timeout_secs: 5,
            sqlite_group_commit: true,
            sqlite_synchronous: SqliteSynchronous::Full,
            sqlite_wal_autocheckpoint: DEFAULT_WAL_AUTOCHECKPOINT,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }

    /// The SQLite file path of a `sqlite://` URL or a bare path.
    pub fn sqlite_path(&self) -> String {
        let url = self.url.as_str();
        url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url).to_owned()
    }

    /// The URL without any password, for messages.
    pub fn redacted_url(&self) -> String {
        match (self.url.find("://"), self.url.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let credentials = &self.url[scheme_end + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => format!("{}{}:***{}", &self.url[..scheme_end + 3], user, &self.url[at..]),
                    None => self.url.clone(),
                }
            }
            _ => self.url.clone(),
        }
    }
}

/// The change feed's retention and the webhooks' delivery (README, "Change
/// feed and webhooks").
#[derive(Debug, Clone, Args)]
pub struct FeedConfig {
    /// Days events are kept; older ones are pruned in the background.
    #[arg(long, env = "ROLLCALL_EVENT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub event_retention_days: u32,

    /// Record events at all. Off only to measure what recording costs
    /// (the benchmark's baseline): the feed and webhooks then miss changes.
    #[arg(long, env = "ROLLCALL_EVENTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub events: bool,

    /// Allow webhooks to loopback, private and link-local addresses (refused by
    /// default: a webhook must not reach into the network Rollcall runs in).
    #[arg(long, env = "ROLLCALL_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub webhooks_allow_private: bool,

    /// Delay before the first retry of a failed delivery; each further retry
    /// waits twice as long (at most an hour).
    #[arg(long, env = "ROLLCALL_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000)]
    pub webhook_retry_base_ms: u64,

    /// How long a webhook may fail before it is disabled (retries go on
    /// for this long).
    #[arg(long, env = "ROLLCALL_WEBHOOK_RETRY_WINDOW_SECS", default_value_t = 86_400)]
    pub webhook_retry_window_secs: u64,

    /// How long an instance holds a webhook's delivery lease without
    /// renewing it (after a crash, another instance takes over after this).
    #[arg(long, env = "ROLLCALL_WEBHOOK_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..))]
    pub webhook_lease_secs: u64,

    /// Seconds a webhook has to answer a delivery.
    #[arg(long, env = "ROLLCALL_WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_secs: u64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            event_retention_days: 30,
            events: true,
            webhooks_allow_private: false,
            webhook_retry_base_ms: 5_000,
            webhook_retry_window_secs: 86_400,
            webhook_lease_secs: 30,
            webhook_timeout_secs: 10,
        }
    }
}
