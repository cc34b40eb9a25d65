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
}

impl DatabaseConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            connect_timeout_secs: 5,
            sqlite_group_commit: true,
            sqlite_synchronous: SqliteSynchronous::Full,
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
