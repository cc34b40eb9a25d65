//! Database access. The backend is chosen from the URL scheme (SQLite by
//! default, PostgreSQL for `postgres://`); every query is written once against
//! [`Conn`] and compiled for both backends by [`with_conn!`].

pub mod accounts;
pub mod api_keys;
pub mod copies;
pub mod graph;
pub mod group_commit;
pub mod groups;
pub mod hierarchy;
mod ids;
pub mod in_list;
pub mod member_pages;
pub mod memberships;
pub mod name_keys;
pub mod rows;
pub mod schema;
pub mod scim;
pub mod sessions;
pub mod settings;
pub mod stable_plans;
pub mod stamps;
pub mod statistics;
mod tx;
pub mod users;

pub use tx::{Read, Write, WriteContext};
pub mod events;
pub mod webhooks;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseConfig;
use crate::domain::AccountId;
use crate::error::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

type SqlitePool = diesel::r2d2::Pool<ConnectionManager<SqliteConnection>>;
type PgPool = diesel::r2d2::Pool<ConnectionManager<PgConnection>>;

/// A pooled connection of either backend.
pub enum Conn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Postgres(PooledConnection<ConnectionManager<PgConnection>>),
}

/// Runs `$body` with `$c` bound to the concrete diesel connection.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(pooled) => {
                let $c: &mut diesel::SqliteConnection = &mut *pooled;
                $body
            }
            $crate::db::Conn::Postgres(pooled) => {
                let $c: &mut diesel::PgConnection = &mut *pooled;
                $body
            }
        }
    };
}

/// Orders a boxed query by one column (`first`), or orders it further
/// (ties of the fields before).
macro_rules! order_by_column {
    ($query:expr, $column:expr, $descending:expr, $first:expr) => {
        match ($first, $descending) {
            (true, false) => $query.order_by($column.asc()),
            (true, true) => $query.order_by($column.desc()),
            (false, false) => $query.then_order_by($column.asc()),
            (false, true) => $query.then_order_by($column.desc()),
        }
    };
}
pub(crate) use order_by_column;

impl Conn {
    /// Runs `f` in one write transaction. On SQLite the transaction takes the
    /// write lock up front (`BEGIN IMMEDIATE`), so two writers queue on the
    /// busy timeout instead of failing when a read lock cannot be upgraded.
    ///
    /// A transient conflict (deadlock, serialization failure, lock timeout)
    /// reruns the whole transaction a few times before it reaches the client
    /// as a 503.
    pub fn write<T>(&mut self, mut f: impl FnMut(&mut Conn) -> Result<T, Error>) -> Result<T, Error> {
        if self.in_transaction() {
            // Conflicts are the outer transaction's to retry.
            return self.write_once(&mut f);
        }
        const ATTEMPTS: u32 = 4;
        let mut attempt = 1;
        loop {
            match self.write_once(&mut f) {
                Err(e) if e.retryable && attempt < ATTEMPTS => {
                    crate::observe::write_retried();
                    tracing::warn!("retrying a write transaction after a transient conflict: {e}");
                    std::thread::sleep(Duration::from_millis(5 << attempt));
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// After a failure that may have been the connection's (a terminated
    /// backend, a restarted server): asks the database whether it still
    /// answers, and when it does not, marks the connection broken so that the
    /// pool closes it instead of handing it out again. Diesel's own check
    /// looks only at the transaction state, and the pool no longer pings a
    /// PostgreSQL connection before each use. A file connection cannot be
    /// cut off: SQLite's are left alone.
    pub fn discard_if_dead(&mut self) {
        if let Conn::Postgres(c) = self {
            if c.batch_execute("SELECT 1").is_err() {
                AnsiTransactionManager::transaction_manager_status_mut(&mut **c).set_in_error();
            }
        }
    }

    fn in_transaction(&mut self) -> bool {
        let status = match self {
            Conn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(&mut **c),
            Conn::Postgres(c) => AnsiTransactionManager::transaction_manager_status_mut(&mut **c),
        };
        matches!(status.transaction_depth(), Ok(Some(_)))
    }

    /// One attempt: a transaction of its own, or a savepoint when the
    /// connection is already inside one (group commit, nested use cases).
    fn write_once<T>(&mut self, f: &mut impl FnMut(&mut Conn) -> Result<T, Error>) -> Result<T, Error> {
        let nested = self.in_transaction();
        match self {
            Conn::Sqlite(c) if !nested => AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")?,
            Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
            Conn::Postgres(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
        }
        let outcome = f(self);
        let finish = match (&outcome, &mut *self) {
            (Ok(_), Conn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            (Ok(_), Conn::Postgres(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            (Err(_), Conn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
            (Err(_), Conn::Postgres(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
        };
        match (outcome, finish) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), _) => Err(e),
        }
    }
}

/// The page cache of each SQLite connection that reads, in KiB: room for
/// what a page of 1,000 members reads (about 1,200 pages of 4 KiB: the
/// group's memberships, each member's entry in the users' id index, their
/// rows). At SQLite's default of 2,000 KiB each such page read every one of
/// them from the file again (4.6 MB of `pread`s a request); a connection
/// only grows its cache as far as it reads, and the pool hands out the most
/// recently returned connection first. It helps between writes only: in
/// WAL mode a connection empties its cache at its first read after any
/// commit (`pagerBeginReadTransaction`), so under a steady write load each
/// page still reads its pages once (but no longer any twice).
const READER_CACHE_KIB: u32 = 8 * 1024;

/// What all SQLite connections of the process may hold together (page
/// caches, prepared statements, schemas), in bytes: past it, a connection
/// that needs another page recycles its own least recently used one
/// instead of growing its cache, so [`READER_CACHE_KIB`] is room a busy
/// connection may take, not a reservation for each.
const SQLITE_HEAP_LIMIT: i64 = 32 << 20;

/// The group-commit writer's page cache, in KiB (SQLite's default): SQLite
/// walks the whole cache at every commit, so a larger one made commits
/// slower (bench/RESULTS.md, 2026-12-06, session 7).
const WRITER_CACHE_KIB: u32 = 2_000;

#[derive(Debug)]
struct SqliteSetup {
    synchronous: &'static str,
    wal_autocheckpoint: u32,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqliteSetup {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = {}; PRAGMA cache_size = -{};",
            self.synchronous, self.wal_autocheckpoint, READER_CACHE_KIB
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// PostgreSQL connections run without JIT compilation: it pays off for long
/// analytic queries, never for this service's short ones, and a cost
/// estimate above `jit_above_cost` (a recursive walk of the hierarchy, say)
/// otherwise spends milliseconds compiling a query that runs in less.
#[derive(Debug)]
struct PostgresSetup;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PostgresSetup {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET jit = off").map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Clone)]
enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The connection pool, and on SQLite the group-commit writer; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    pools: Pools,
    group_commit: Option<group_commit::GroupCommit>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot open database {url}: {cause}")]
    Open { url: String, cause: String },
    #[error("cannot migrate database: {0}")]
    Migrate(String),
}

impl Pool {
    /// Opens the pool and fails fast (within the connect timeout) when the
    /// database cannot be reached.
    pub fn connect(config: &DatabaseConfig) -> Result<Pool, ConnectError> {
        let open_error = |cause: String| ConnectError::Open { url: config.redacted_url(), cause };
        let timeout = Duration::from_secs(config.connect_timeout_secs.max(1));
        if config.is_postgres() {
            let manager = ConnectionManager::<PgConnection>::new(config.url.as_str());
            let pool = diesel::r2d2::Pool::builder()
                .max_size(config.pool_size)
                .connection_timeout(timeout)
                // No `SELECT 1` before each use (it was one statement in three
                // of a single add): a connection is checked after a failure
                // instead ([`Conn::discard_if_dead`]).
                .test_on_check_out(false)
                .connection_customizer(Box::new(PostgresSetup))
                .build(manager)
                .map_err(|e| open_error(e.to_string()))?;
            Ok(Pool { pools: Pools::Postgres(pool), group_commit: None })
        } else {
            let path = config.sqlite_path();
            stable_plans::enable();
            // SAFETY: sets a process-wide number; callable at any time.
            unsafe { libsqlite3_sys::sqlite3_soft_heap_limit64(SQLITE_HEAP_LIMIT) };
            // WAL lets readers proceed during a write; set once, it persists in
            // the file. The busy timeout comes first: another process closing
            // the database (its last connection checkpoints) holds a lock briefly.
            let mut first = SqliteConnection::establish(&path).map_err(|e| open_error(e.to_string()))?;
            first.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;").map_err(|e| open_error(e.to_string()))?;
            let manager = ConnectionManager::<SqliteConnection>::new(path);
            // The writer keeps one connection; readers need at least one more.
            let size = if config.sqlite_group_commit { config.pool_size.max(2) } else { config.pool_size };
            let pool = diesel::r2d2::Pool::builder()
                .max_size(size)
                .connection_timeout(timeout)
                // A file connection cannot be cut off the way a network one
                // can: no `SELECT 1` before each use.
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqliteSetup {
                    synchronous: config.sqlite_synchronous.pragma(),
                    wal_autocheckpoint: config.sqlite_wal_autocheckpoint,
                }))
                .build(manager)
                .map_err(|e| open_error(e.to_string()))?;
            let group_commit = if config.sqlite_group_commit {
                let mut conn = pool.get().map_err(|e| open_error(e.to_string()))?;
                // Each job of a shared transaction runs in a savepoint, and
                // SQLite keeps the pages a savepoint may have to restore in a
                // statement journal, a temporary file once it outgrows 64 KiB:
                // 18 % of the writer's time under single adds went to writing
                // that file. In memory it is a copy, bounded by what one
                // batch touches.
                conn.batch_execute(&format!("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{WRITER_CACHE_KIB};"))
                    .map_err(|e| open_error(e.to_string()))?;
                Some(group_commit::GroupCommit::start(Conn::Sqlite(conn)))
            } else {
                None
            };
            Ok(Pool { pools: Pools::Sqlite(pool), group_commit })
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.pools, Pools::Postgres(_))
    }

    pub fn backend_name(&self) -> &'static str {
        match (&self.pools, &self.group_commit) {
            (Pools::Sqlite(_), Some(_)) => "sqlite, group commit",
            (Pools::Sqlite(_), None) => "sqlite",
            (Pools::Postgres(_), _) => "postgres",
        }
    }

    /// Reports the pool's connections to the metrics.
    pub fn report_state(&self) {
        let (max, state) = match &self.pools {
            Pools::Sqlite(p) => (p.max_size(), p.state()),
            Pools::Postgres(p) => (p.max_size(), p.state()),
        };
        crate::observe::pool_state(max, state.connections, state.idle_connections);
        if !self.is_postgres() {
            // SAFETY: reads a process-wide counter.
            crate::observe::sqlite_heap(unsafe { libsqlite3_sys::sqlite3_memory_used() }, SQLITE_HEAP_LIMIT);
        }
    }

    pub fn get(&self) -> Result<Conn, Error> {
        Ok(match &self.pools {
            Pools::Sqlite(p) => Conn::Sqlite(p.get()?),
            Pools::Postgres(p) => Conn::Postgres(p.get()?),
        })
    }

    /// Applies pending migrations; on SQLite then pins the planner's
    /// statistics ([`statistics`]). On PostgreSQL an advisory lock keeps
    /// instances that start together from migrating at the same time.
    pub fn migrate(&self) -> Result<(), ConnectError> {
        self.migrate_reporting().map(drop)
    }

    /// [`Pool::migrate`], returning the name-key collisions that re-keying
    /// found ([`name_keys`]; also logged).
    pub fn migrate_reporting(&self) -> Result<Vec<name_keys::Collision>, ConnectError> {
        let failed = |e: &dyn std::fmt::Display| ConnectError::Migrate(e.to_string());
        let mut conn = self.get().map_err(|e| failed(&e))?;
        match &mut conn {
            Conn::Sqlite(c) => {
                c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(|e| failed(&e))?;
                statistics::pin(c).map_err(|e| failed(&e))?;
                name_keys::ensure_current(&mut conn).map_err(|e| failed(&e))
            }
            Conn::Postgres(c) => {
                let lock = "SELECT pg_advisory_lock(7243151)";
                let unlock = "SELECT pg_advisory_unlock(7243151)";
                c.batch_execute(lock).map_err(|e| failed(&e))?;
                let done = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop).map_err(|e| failed(&e));
                let done = done.and_then(|()| name_keys::ensure_current(&mut conn).map_err(|e| failed(&e)));
                if let Conn::Postgres(c) = &mut conn {
                    let _ = c.batch_execute(unlock);
                }
                done
            }
        }
    }

    /// Runs blocking database work off the async workers, on one pooled
    /// connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.clone();
        // The blocking thread logs in the caller's span (its request id).
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            let outcome = f(&mut conn);
            if matches!(&outcome, Err(e) if e.is_server_fault()) {
                conn.discard_if_dead();
            }
            outcome
        })
        .await
        .map_err(|e| Error::internal(format!("a database task failed: {e}")))?
    }

    /// Runs a write use case: through the group commit on SQLite (answered
    /// once its shared commit is durable), else like [`Pool::run`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        match &self.group_commit {
            Some(writer) => writer.write(f).await,
            None => self.run(f).await,
        }
    }
}

/// Serializes, per account, the transactions that take this lock (`what`
/// names which ones) until they end: their checks then see each other's
/// committed writes. SQLite writes are serial already; on PostgreSQL this is
/// a transaction-scoped advisory lock, so it holds across instances.
pub fn lock_account(conn: &mut Conn, what: &str, account_id: AccountId) -> QueryResult<()> {
    if let Conn::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(format!("rollcall-{what}-{account_id}"))
            .execute(&mut **c)?;
    }
    Ok(())
}

/// A trivial query: is the database answering?
pub fn ping(conn: &mut Conn) -> Result<(), Error> {
    with_conn!(conn, |c| c.batch_execute("SELECT 1"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    /// `.cargo/config.toml` builds the bundled SQLite in multi-thread mode
    /// (no mutex around each call of a connection that one thread uses).
    #[test]
    fn sqlite_is_built_in_multi_thread_mode() {
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("SELECT compile_options FROM pragma_compile_options").load(&mut conn).unwrap();
        let mode: Vec<&str> = options.iter().map(|o| o.compile_options.as_str()).filter(|o| o.starts_with("THREADSAFE=")).collect();
        assert_eq!(mode, ["THREADSAFE=2"]);
    }
}
