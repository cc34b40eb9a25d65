//! The Rollcall benchmark: a real release server on a fresh database of each
//! backend, loaded by wrk, against its in-process ceiling (the same engine
//! calls without HTTP) and the HTTP floor (an empty handler behind the same
//! middleware). Prints a table; writes target/bench/results.json.
//!
//!   bash bench/run.sh            full run (100,000 users, 1,000 groups, 1,000,000 memberships)
//!   cargo test --bench rollcall  tiny data set, debug build (what CI runs to keep it working)
//!
//! Environment: ROLLCALL_BENCH_BACKENDS (default "sqlite,postgres"),
//! ROLLCALL_BENCH_SECONDS (per load run), ROLLCALL_BENCH_ONLY=events (only the
//! events on / off rows), nesting (only the nesting rows), pages (only
//! the member pages, without the fill), signin (only the wrong-password
//! burst, and peak RSS after it), single (single adds at c=64 on one and
//! two instances, and pgbench), create (creating users and groups against
//! the single add, at c=16) or scale (1,000,000 users, 10,000 groups,
//! 10,000,000 memberships filled over HTTP; ROLLCALL_BENCH_SCALE=users,groups),
//! ROLLCALL_BENCH_ROUNDS (of the events rows), ROLLCALL_TEST_POSTGRES_URL,
//! ROLLCALL_BENCH_KEEP (keep the databases, and print their URLs).
//! The PostgreSQL run also runs `pgbench` (one insert a transaction) for comparison,
//! and both backends measure the storage alone: the single adds' inserts
//! straight into the database, batched as the server batches them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use rollcall::config::{DatabaseConfig, SqliteSynchronous};
use rollcall::db::{self, Pool};
use rollcall::domain::{AccountId, GroupId, GroupIdentifier, IdList, Principal, UserId, UserIdentifier};
use rollcall::engine::accounts;
use rollcall::service::Service;
use rollcall::tokens::TokenKeys;
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

struct Scale {
    users: usize,
    /// Wrong passwords in the sign-in burst.
    burst: usize,
    /// Groups of the nesting account (10 levels of a tenth each).
    nested_groups: usize,
    groups: usize,
    memberships: usize,
    seconds: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One measured figure set.
#[derive(Clone, Debug, Default)]
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    requests: u64,
}

impl Figures {
    fn json(&self) -> Value {
        json!({"requests_per_s": round(self.rps), "p50_ms": round(self.p50_ms), "p99_ms": round(self.p99_ms), "errors": self.errors, "requests": self.requests})
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn postgres_admin_url() -> String {
    std::env::var("ROLLCALL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

struct Database {
    url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    fn create(backend: Backend) -> Database {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir_in(out_dir()).unwrap();
                Database { url: format!("sqlite://{}", dir.path().join("bench.db").display()), pg_name: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let name = format!("rollcall_bench_{}", std::process::id());
                let mut admin = PgConnection::establish(&postgres_admin_url()).expect("PostgreSQL for the benchmark");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
                let base = postgres_admin_url();
                Database { url: format!("{}/{name}", &base[..base.rfind('/').unwrap()]), pg_name: Some(name), _dir: None }
            }
        }
    }

    /// A new database holding what this one holds now (no server may be
    /// writing to it): SQLite copies the file, PostgreSQL uses it as the
    /// template of a new database.
    fn copy(&self, suffix: &str) -> Database {
        match &self.pg_name {
            None => {
                let from = self.url.strip_prefix("sqlite://").unwrap();
                let dir = tempfile::tempdir_in(out_dir()).unwrap();
                let to = dir.path().join("bench.db");
                std::fs::copy(from, &to).unwrap();
                // The write-ahead log holds what is not yet checkpointed.
                let _ = std::fs::copy(format!("{from}-wal"), format!("{}-wal", to.display()));
                Database { url: format!("sqlite://{}", to.display()), pg_name: None, _dir: Some(dir) }
            }
            Some(template) => {
                let name = format!("{template}_{suffix}");
                let mut admin = PgConnection::establish(&postgres_admin_url()).expect("PostgreSQL for the benchmark");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).unwrap();
                let base = postgres_admin_url();
                Database { url: format!("{}/{name}", &base[..base.rfind('/').unwrap()]), pg_name: Some(name), _dir: None }
            }
        }
    }

    fn pool(&self, synchronous: SqliteSynchronous, size: u32) -> Pool {
        let mut config = DatabaseConfig::new(self.url.clone());
        config.sqlite_synchronous = synchronous;
        config.pool_size = size;
        let pool = Pool::connect(&config).unwrap();
        pool.migrate().unwrap();
        pool
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // ROLLCALL_BENCH_KEEP: leave the database for a profile or a query plan.
        if std::env::var_os("ROLLCALL_BENCH_KEEP").is_some() {
            eprintln!("kept: {}", self.url);
            if let Some(dir) = self._dir.take() {
                let _ = dir.keep();
            }
            return;
        }
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

struct Seeded {
    account: String,
    admin: String,
    users: Vec<String>,
    groups: Vec<String>,
}

/// The runtime the in-process calls into the service run on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}

fn service(pool: Pool) -> Service {
    rollcall::cli::service(pool, TokenKeys::from_secret(SECRET.as_bytes()))
}

/// Seeds through the library at low durability (seeding is not measured).
fn seed(db: &Database, scale: &Scale) -> Seeded {
    let service = service(db.pool(SqliteSynchronous::Normal, 2));
    let (user_count, group_count) = (scale.users, scale.groups);
    let seeded = service.write_as_system(move |w| {
        let account = accounts::ensure_account(w, "bench")?;
        let admin = accounts::ensure_admin(w, account.id, "admin", "admin@example.com")?;
        let now = chrono::Utc::now().naive_utc();
        let users: Vec<db::users::NewUser> = (0..user_count)
            .map(|i| {
                let (email, username) = (format!("user{i}@example.com"), Some(format!("user{i}")));
                db::users::NewUser::new(UserId::new(), account.id, email, username, None, None, now)
            })
            .collect();
        db::users::insert_many(w, &users)?;
        let mut groups = Vec::new();
        for i in 0..group_count {
            let group = db::groups::NewGroup {
                id: GroupId::new(),
                account_id: account.id,
                name: format!("group {i}"),
                name_key: format!("group {i}"),
                description: String::new(),
                is_system: false,
                created_at: now,
                updated_at: now,
            };
            db::groups::insert(w, &group)?;
            groups.push(group.id.to_string());
        }
        Ok(Seeded {
            account: account.id.to_string(),
            admin: admin.id.to_string(),
            users: users.into_iter().map(|u| u.id.to_string()).collect(),
            groups,
        })
    });
    runtime().block_on(seeded).unwrap()
}

/// Adds the users to the group through the service, as the system.
fn add_block(service: &Service, account: &str, group: &str, users: &[String]) {
    let (account, group): (AccountId, GroupId) = (account.parse().unwrap(), group.parse().unwrap());
    let users: Vec<UserId> = users.iter().map(|u| u.parse().unwrap()).collect();
    let now = chrono::Utc::now().naive_utc();
    runtime().block_on(service.write_as_system(move |w| Ok(db::memberships::add(w, account, group, &users, now)?))).unwrap();
}

/// Creates `n` users of the account who are in no group, their emails
/// sorting before every seeded user's.
fn add_outsiders(service: &Service, account: &str, n: usize) {
    let account: AccountId = account.parse().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let made = service.write_as_system(move |w| {
        let users: Vec<db::users::NewUser> = (0..n)
            .map(|i| db::users::NewUser::new(UserId::new(), account, format!("bench-outside-{i}@example.com"), None, None, None, now))
            .collect();
        Ok(db::users::insert_many(w, &users)?)
    });
    runtime().block_on(made).unwrap();
}

/// Adds memberships until the database holds about `target`, on groups the
/// load runs do not write to in the same pattern (whole blocks of users).
fn fill_memberships(db: &Database, seeded: &Seeded, target: usize, skip_group: &str) {
    let service = service(db.pool(SqliteSynchronous::Normal, 2));
    let per_group = (target / seeded.groups.len()).max(1).min(seeded.users.len());
    for (k, group) in seeded.groups.iter().enumerate().filter(|(_, g)| *g != skip_group) {
        let start = (k * 7919) % seeded.users.len();
        let block: Vec<String> = (0..per_group).map(|j| seeded.users[(start + j) % seeded.users.len()].clone()).collect();
        add_block(&service, &seeded.account, group, &block);
    }
}

/// Refreshes PostgreSQL's planner statistics after a bulk load, as its
/// autovacuum would shortly after. SQLite needs nothing: the server pins its
/// statistics at every start (`rollcall::db::statistics`), and an ANALYZE
/// here would be undone by the next start.
fn analyze(db: &Database) {
    use diesel::connection::SimpleConnection;
    if db.pg_name.is_none() {
        return;
    }
    let pool = db.pool(SqliteSynchronous::Normal, 1);
    let mut conn = pool.get().unwrap();
    rollcall::with_conn!(&mut conn, |c| c.batch_execute("ANALYZE")).unwrap();
}

fn count_memberships(db: &Database) -> i64 {
    use diesel::prelude::*;
    let pool = db.pool(SqliteSynchronous::Normal, 1);
    let mut conn = pool.get().unwrap();
    rollcall::with_conn!(&mut conn, |c| db::schema::memberships::table.count().get_result(c)).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Database) -> Server {
        Self::start_with(db, true)
    }

    /// A server that records events or (the baseline of what recording
    /// costs) does not.
    fn start_with(db: &Database, events: bool) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &db.url)
            .env("ROLLCALL_EVENTS", events.to_string())
            .env("ROLLCALL_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rollcall serve");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        if events {
            feed_caught_up(db);
        }
        Server { child, base }
    }

    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// On PostgreSQL, waits until the server's sequencer has numbered every
/// event written so far (the seeding writes one for each of its users), so
/// that a measurement sees the steady state, not the sequencer catching up
/// on a backlog beside it. SQLite numbers events as it writes them.
fn feed_caught_up(db: &Database) {
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    if db.pg_name.is_none() {
        return;
    }
    let mut conn = PgConnection::establish(&db.url).expect("the benchmark's database");
    let waiting = |conn: &mut PgConnection| {
        diesel::sql_query("SELECT count(*) AS n FROM events WHERE pos IS NULL").get_result::<Waiting>(conn).expect("count").n
    };
    let (first, started) = (waiting(&mut conn), Instant::now());
    while waiting(&mut conn) > 0 {
        assert!(started.elapsed() < Duration::from_secs(900), "the sequencer did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    if first > 0 {
        eprintln!("[postgres] the sequencer numbered a backlog of {first} event rows in {:.1} s", started.elapsed().as_secs_f64());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Load<'a> {
    users_file: &'a Path,
    groups_file: &'a Path,
    token: &'a str,
    account: &'a str,
    seconds: u64,
}

/// Runs wrk and reads the figures its script prints.
fn wrk(load: &Load, url: &str, mode: &str, offset: usize, connections: usize) -> Figures {
    let threads = connections.clamp(1, 2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{}s", load.seconds), "--timeout", "10s"])
        .args(["-s", root().join("bench/wrk.lua").to_str().unwrap(), url, "--"])
        .args([load.users_file.to_str().unwrap(), load.groups_file.to_str().unwrap(), mode, &offset.to_string(), load.token, load.account])
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_RESULT "))
        .unwrap_or_else(|| panic!("wrk printed no result for {url}: {stdout} {}", String::from_utf8_lossy(&output.stderr)));
    let v: Value = serde_json::from_str(line).unwrap();
    let requests = v["requests"].as_u64().unwrap();
    Figures {
        rps: requests as f64 / (v["duration_us"].as_f64().unwrap() / 1e6),
        p50_ms: v["p50_us"].as_f64().unwrap() / 1000.0,
        p99_ms: v["p99_us"].as_f64().unwrap() / 1000.0,
        errors: v["socket_errors"].as_u64().unwrap() + v["status_errors"].as_u64().unwrap(),
        requests,
    }
}

/// Runs `op(i)` on `threads` threads for `seconds`, with distinct `i`s.
/// Runs `op(first)`, `op(first + 1)`, … from `threads` threads for `seconds`;
/// give each run its own `first` so that no run repeats another's writes.
fn in_process(threads: usize, seconds: u64, first: usize, op: impl Fn(usize) + Sync) -> Figures {
    let counter = AtomicUsize::new(first);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut latencies: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while Instant::now() < deadline {
                        let i = counter.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        op(i);
                        mine.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
    Figures { rps: latencies.len() as f64 / elapsed, p50_ms: at(0.5), p99_ms: at(0.99), errors: 0, requests: latencies.len() as u64 }
}

/// The HTTP floor: an empty handler behind the server's middleware.
fn start_floor() -> String {
    use actix_web::{middleware::Logger, web, App, HttpResponse, HttpServer};
    let port = free_port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new()
                    .route("/floor", web::put().to(|| async { HttpResponse::NoContent().finish() }))
                    .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
            })
            .bind(("127.0.0.1", port))
            .unwrap()
            .run()
            .await
            .unwrap()
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    format!("http://127.0.0.1:{port}/floor")
}

fn admin(seeded: &Seeded) -> Principal {
    Principal::new(seeded.admin.parse().unwrap(), seeded.account.parse().unwrap())
}

/// One single add through the service, as the admin: the pair of (group,
/// user) that index `i` names, new for every `i` below 1,000 x users.
fn add_one(service: &Service, seeded: &Seeded, i: usize) {
    let groups = &seeded.groups[..seeded.groups.len() - 1];
    let group = GroupIdentifier::Id(groups[i % groups.len()].parse().unwrap());
    let user = UserIdentifier::Id(seeded.users[(i / groups.len()) % seeded.users.len()].parse().unwrap());
    runtime().block_on(service.add_user_to_group(&admin(seeded), group, user)).unwrap();
}

/// What PostgreSQL itself serves: `pgbench` at `connections`, each
/// transaction one `INSERT … ON CONFLICT DO NOTHING` of a new row into a
/// two-column table shaped like `memberships`, on the benchmark's database
/// and URL (so with the same TLS). `None` when pgbench is not installed.
fn pgbench(db: &Database, connections: usize, seconds: u64) -> Option<Figures> {
    let mut conn = PgConnection::establish(&db.url).unwrap();
    diesel::sql_query("CREATE TABLE IF NOT EXISTS pgbench_pairs (a BIGINT, b BIGINT, PRIMARY KEY (a, b))").execute(&mut conn).unwrap();
    let script = out_dir().join("pgbench-insert.sql");
    std::fs::write(
        &script,
        "\\set a random(1, 1000000000000)\n\\set b random(1, 1000000000000)\n\
         INSERT INTO pgbench_pairs VALUES (:a, :b) ON CONFLICT DO NOTHING;\n",
    )
    .unwrap();
    let (tps, latency) = run_pgbench(db, connections, seconds, &script)?;
    diesel::sql_query("DROP TABLE pgbench_pairs").execute(&mut conn).unwrap();
    // pgbench reports the mean latency, not percentiles: shown as p50.
    Some(Figures { rps: tps, p50_ms: latency, p99_ms: 0.0, errors: 0, requests: (tps * seconds as f64) as u64 })
}

/// Runs `pgbench` with `script` on `connections` (two threads) for
/// `seconds`; returns its tps and mean latency (ms). `None` when pgbench
/// is not installed.
fn run_pgbench(db: &Database, connections: usize, seconds: u64, script: &Path) -> Option<(f64, f64)> {
    let output = Command::new("pgbench")
        .args(["-n", "-c", &connections.to_string(), "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(script)
        .arg(&db.url)
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("pgbench printed no {prefix}: {stdout} {}", String::from_utf8_lossy(&output.stderr)))
    };
    Some((value("tps = "), value("latency average = ")))
}

/// Single adds at c=64: on `server` alone, then split over it and a second
/// instance on the same database (two wrk at c=32 at once; the rate is their
/// sum, the latencies the worse of the two), then `pgbench` at c=64 on
/// PostgreSQL, then the storage alone ([`storage_ceiling`]). Returns (one
/// instance, two instances, pgbench, storage alone).
fn single_adds_c64(
    load: &Load,
    db: &Database,
    server: &Server,
    offset: usize,
    row: &mut dyn FnMut(&str, &Figures, String),
) -> (Figures, Figures, Option<Figures>, Option<Figures>) {
    let before = batch_sums(&server.base);
    let one = wrk(load, &format!("{}/", server.base), "single", offset, 64);
    let after = batch_sums(&server.base);
    row("single add c=64, one instance", &one, batch_means(&before, &after));
    let second = Server::start(db);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| wrk(load, &format!("{}/", server.base), "single", offset + 5_000_000, 32));
        let b = s.spawn(|| wrk(load, &format!("{}/", second.base), "single", offset + 10_000_000, 32));
        (a.join().unwrap(), b.join().unwrap())
    });
    let two = Figures {
        rps: a.rps + b.rps,
        p50_ms: a.p50_ms.max(b.p50_ms),
        p99_ms: a.p99_ms.max(b.p99_ms),
        errors: a.errors + b.errors,
        requests: a.requests + b.requests,
    };
    row("single add c=64, two instances (c=32 each)", &two, format!("{:.0} + {:.0} req/s", a.rps, b.rps));
    drop(second);
    let pgbench64 = if db.pg_name.is_some() { pgbench(db, 64, load.seconds) } else { None };
    if let Some(f) = &pgbench64 {
        let note =
            format!("one insert a transaction; p50 column: mean latency; Rollcall {:.2}x / {:.2}x", one.rps / f.rps, two.rps / f.rps);
        row("pgbench: INSERT ON CONFLICT c=64", f, note);
    }
    // The same inserts as the batches of the one-instance run, straight
    // into the database: what the storage alone serves.
    let batch = mean_batch(&before, &after, "single_add").map_or(20, |b| b.round().max(1.0) as usize);
    let storage = storage_ceiling(db, load, batch, offset + 15_000_000);
    if let Some(s) = &storage {
        let mut note = format!("{batch} rows a transaction, no HTTP, no checks, no events; Rollcall {:.2}x", one.rps / s.rps);
        if let Some(f) = &pgbench64 {
            note += &format!("; itself {:.2}x pgbench", s.rps / f.rps);
        }
        row("storage alone: batched inserts into memberships", s, note);
    }
    (one, two, pgbench64, storage)
}

/// What the database alone serves of the single adds' writes: new
/// memberships inserted straight into `memberships` (its indexes, foreign
/// keys and counters' trigger, at the server's durability), `batch` rows a
/// transaction as the server's batches carry them, for the run's seconds; no
/// HTTP, no token or permission checks, no events. SQLite: one connection
/// (SQLite has one writer at a time). PostgreSQL: `pgbench` on two
/// connections (the server runs two batches at once). The rate is of rows
/// actually inserted (new pairs), so the figure reads as memberships/s.
/// `None` when pgbench is not installed.
fn storage_ceiling(db: &Database, load: &Load, batch: usize, offset: usize) -> Option<Figures> {
    let users: Vec<String> = std::fs::read_to_string(load.users_file).unwrap().lines().map(str::to_owned).collect();
    let groups: Vec<String> = std::fs::read_to_string(load.groups_file).unwrap().lines().map(str::to_owned).collect();
    let pair = |i: usize| (&groups[i % groups.len()], &users[(i / groups.len()) % users.len()]);
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = diesel::sql_query("SELECT count(*) AS n FROM memberships");
    if db.pg_name.is_none() {
        use diesel::connection::SimpleConnection;
        let path = db.url.strip_prefix("sqlite://").unwrap();
        let mut conn = diesel::SqliteConnection::establish(path).unwrap();
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = {};",
            rollcall::config::DEFAULT_WAL_AUTOCHECKPOINT
        ))
        .unwrap();
        let before = count.clone().get_result::<N>(&mut conn).unwrap().n;
        let deadline = Instant::now() + Duration::from_secs(load.seconds);
        let started = Instant::now();
        let mut latencies = Vec::new();
        let mut i = offset;
        while Instant::now() < deadline {
            let rows: Vec<String> = (i..i + batch)
                .map(|k| {
                    let (g, u) = pair(k);
                    format!("('{g}', '{u}', strftime('%Y-%m-%d %H:%M:%f', 'now'))")
                })
                .collect();
            i += batch;
            let t = Instant::now();
            conn.batch_execute(&format!(
                "BEGIN IMMEDIATE; INSERT OR IGNORE INTO memberships (group_id, user_id, created_at) VALUES {}; COMMIT;",
                rows.join(", ")
            ))
            .unwrap();
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let inserted = count.clone().get_result::<N>(&mut conn).unwrap().n - before;
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let at = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
        return Some(Figures { rps: inserted as f64 / elapsed, p50_ms: at(0.5), p99_ms: at(0.99), errors: 0, requests: inserted as u64 });
    }
    // PostgreSQL: pgbench picks each row's group and user at random from
    // numbered copies of the ids (dropped afterwards).
    let mut conn = PgConnection::establish(&db.url).unwrap();
    for (table, ids) in [("pgbench_groups", &groups), ("pgbench_users", &users)] {
        diesel::sql_query(format!("CREATE TABLE {table} (n BIGINT PRIMARY KEY, id TEXT NOT NULL)")).execute(&mut conn).unwrap();
        for chunk in ids.chunks(10_000) {
            let values: Vec<String> = chunk.iter().map(|id| format!("('{id}')")).collect();
            diesel::sql_query(format!(
                "INSERT INTO {table} (n, id) SELECT (SELECT count(*) FROM {table}) + row_number() OVER (), v.id FROM (VALUES {}) v(id)",
                values.join(", ")
            ))
            .execute(&mut conn)
            .unwrap();
        }
    }
    let mut script = String::new();
    let mut values = Vec::new();
    for k in 0..batch {
        script += &format!("\\set g{k} random(1, {})\n\\set u{k} random(1, {})\n", groups.len(), users.len());
        values.push(format!("(:g{k}, :u{k})"));
    }
    script += &format!(
        "INSERT INTO memberships (group_id, user_id, created_at) SELECT g.id, u.id, now() FROM (VALUES {}) v(g, u) \
         JOIN pgbench_groups g ON g.n = v.g JOIN pgbench_users u ON u.n = v.u ORDER BY 1, 2 ON CONFLICT DO NOTHING;\n",
        values.join(", ")
    );
    let path = out_dir().join("pgbench-batch.sql");
    std::fs::write(&path, script).unwrap();
    let before = count.clone().get_result::<N>(&mut conn).unwrap().n;
    let ran = run_pgbench(db, 2, load.seconds, &path);
    let inserted = count.clone().get_result::<N>(&mut conn).unwrap().n - before;
    diesel::sql_query("DROP TABLE pgbench_groups, pgbench_users").execute(&mut conn).unwrap();
    let (_, latency) = ran?;
    // pgbench reports the mean latency, not percentiles: shown as p50.
    Some(Figures { rps: inserted as f64 / load.seconds as f64, p50_ms: latency, p99_ms: 0.0, errors: 0, requests: inserted as u64 })
}

/// The sum and count of each batch-size histogram the server reports
/// (`/metrics`), by name.
fn batch_sums(base: &str) -> BTreeMap<String, (f64, f64)> {
    let text = runtime().block_on(async { reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok() }).unwrap_or_default();
    let mut sums = BTreeMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(' ') else { continue };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let Some(name) = name.strip_prefix("rollcall_").filter(|n| n.contains("batch_size")) else { continue };
        if let Some(histogram) = name.strip_suffix("_sum") {
            sums.entry(histogram.to_owned()).or_insert((0.0, 0.0)).0 = value;
        } else if let Some(histogram) = name.strip_suffix("_count") {
            sums.entry(histogram.to_owned()).or_insert((0.0, 0.0)).1 = value;
        }
    }
    sums
}

/// The mean size of the batches of histogram `name` between two readings
/// of [`batch_sums`]; `None` when none ran.
fn mean_batch(before: &BTreeMap<String, (f64, f64)>, after: &BTreeMap<String, (f64, f64)>, name: &str) -> Option<f64> {
    let (sum, count) = after.get(&format!("{name}_batch_size")).copied()?;
    let (sum0, count0) = before.get(&format!("{name}_batch_size")).copied().unwrap_or_default();
    (count > count0).then(|| (sum - sum0) / (count - count0))
}

/// The mean batch sizes between two readings of [`batch_sums`]: what a
/// run's requests shared (adds a batch, jobs a commit, token checks a read).
fn batch_means(before: &BTreeMap<String, (f64, f64)>, after: &BTreeMap<String, (f64, f64)>) -> String {
    let means: Vec<String> = after
        .iter()
        .filter_map(|(name, (sum, count))| {
            let (sum0, count0) = before.get(name).copied().unwrap_or_default();
            let n = count - count0;
            (n > 0.0).then(|| format!("{} {:.1}", name.trim_end_matches("_batch_size"), (sum - sum0) / n))
        })
        .collect();
    if means.is_empty() {
        String::new()
    } else {
        format!("mean batch: {}", means.join(", "))
    }
}

/// A burst of `n` wrong passwords at the token endpoint, `concurrency` at a
/// time, from a thread of its own: unknown usernames, so that no lockout
/// cuts it short (each is checked against the decoy hash, at a wrong
/// password's cost). Returns how many were refused as they should be
/// (400 `invalid_grant`) and how long the burst took.
fn wrong_password_burst(base: &str, n: usize, concurrency: usize) -> std::thread::JoinHandle<(usize, Duration)> {
    let url = format!("{base}/authenticate/connect/token");
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let client = reqwest::Client::new();
            let next = std::sync::Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let workers = (0..concurrency).map(|_| {
                let (client, url, next) = (client.clone(), url.clone(), next.clone());
                tokio::spawn(async move {
                    let mut refused = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return refused;
                        }
                        let body = format!("grant_type=password&username=nobody-{i}&password=wrong-{i}");
                        let answer = client.post(&url).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await;
                        if answer.is_ok_and(|a| a.status() == reqwest::StatusCode::BAD_REQUEST) {
                            refused += 1;
                        }
                    }
                })
            });
            let mut refused = 0;
            for worker in workers.collect::<Vec<_>>() {
                refused += worker.await.unwrap();
            }
            (refused, started.elapsed())
        })
    })
}

/// Nesting at scale, in an account of its own: `scale.nested_groups` groups
/// in 10 levels, each group below the first level under 2 groups of the
/// level above (every fifth under 3), about 2.2 edges a group. Loaded
/// through the library's tables in one transaction (the API would take
/// 200,000 calls; loading is not what is measured). A user is a member of
/// one group of the last level, and a group of the first level above it
/// grants `user_read`. Measured one request at a time: the membership
/// `HEAD` of the top group through the levels, the user's inherited groups,
/// and a call the user may make only through the nesting.
fn nesting_at_scale(db: &Database, scale: &Scale, row: &mut dyn FnMut(&str, &Figures, String)) -> (f64, f64, f64) {
    use diesel::prelude::*;
    const LEVELS: usize = 10;
    let width = (scale.nested_groups / LEVELS).max(2);
    let parents_of = move |j: usize| {
        let mut p = vec![(j * 7 + 1) % width, (j * 13 + 5) % width];
        if j.is_multiple_of(5) {
            p.push((j * 31 + 11) % width);
        }
        p.sort_unstable();
        p.dedup();
        p
    };
    let service = service(db.pool(SqliteSynchronous::Normal, 2));
    let built = service.write_as_system(move |w| {
        let account = accounts::ensure_account(w, "nesting")?;
        let admin = accounts::ensure_admin(w, account.id, "nesting-admin", "nesting-admin@example.com")?;
        let now = chrono::Utc::now().naive_utc();
        let mut ids = Vec::with_capacity(LEVELS * width);
        for i in 0..LEVELS * width {
            let group = db::groups::NewGroup {
                id: GroupId::new(),
                account_id: account.id,
                name: format!("level {} group {}", i / width, i % width),
                name_key: format!("level {} group {}", i / width, i % width),
                description: String::new(),
                is_system: false,
                created_at: now,
                updated_at: now,
            };
            db::groups::insert(w, &group)?;
            ids.push(group.id);
        }
        let mut edges = Vec::new();
        for level in 1..LEVELS {
            for j in 0..width {
                for parent in parents_of(j) {
                    edges.push((
                        db::schema::group_children::account_id.eq(account.id),
                        db::schema::group_children::parent_id.eq(ids[(level - 1) * width + parent]),
                        db::schema::group_children::child_id.eq(ids[level * width + j]),
                        db::schema::group_children::created_at.eq(now),
                    ));
                }
            }
        }
        let edge_count = edges.len();
        for chunk in edges.chunks(2000) {
            let conn: &mut db::Conn = w;
            rollcall::with_conn!(conn, |c| diesel::insert_into(db::schema::group_children::table).values(chunk).execute(c))?;
        }
        // The member, in the last level; the top of its first-parent chain
        // grants `user_read`.
        let leaf = (LEVELS - 1) * width;
        let mut top = 0;
        for _ in 1..LEVELS {
            top = parents_of(top)[0];
        }
        let member = db::users::NewUser::new(UserId::new(), account.id, "nested@example.com".into(), None, None, None, now);
        db::users::insert_many(w, std::slice::from_ref(&member))?;
        db::memberships::add(w, account.id, ids[leaf], &[member.id], now)?;
        db::groups::grant(w, account.id, ids[top], rollcall::domain::Permission::UserRead)?;
        Ok((account.id, admin.id, member.id, ids[top], edge_count))
    });
    let (account, admin_id, member, top, edge_count) = runtime().block_on(built).unwrap();
    drop(service);
    analyze(db);
    let keys = TokenKeys::from_secret(SECRET.as_bytes());
    let admin_token = keys.issue(admin_id, account, 86_400).unwrap();
    let member_token = keys.issue(member, account, 86_400).unwrap();
    let account_text = account.to_string();
    let dummy = out_dir().join("empty.txt");
    let load = |token| Load { users_file: &dummy, groups_file: &dummy, token, account: &account_text, seconds: scale.seconds };
    let server = Server::start(db);
    let shape = format!("{} groups, {edge_count} edges, {LEVELS} levels", LEVELS * width);
    let head = wrk(&load(&admin_token), &format!("{}/api/security/groups/{top}/users/{member}", server.base), "head", 0, 1);
    row("nesting: HEAD member of the top group, through 10 levels, c=1", &head, shape);
    let inherited = wrk(
        &load(&admin_token),
        &format!("{}/api/security/users/{member}/groups?includeInherited=true&pageSize=100", server.base),
        "get",
        0,
        1,
    );
    row("nesting: a user's inherited groups (management, 100 a page), c=1", &inherited, String::new());
    let through = wrk(&load(&member_token), &format!("{}/v1/users/{admin_id}", server.base), "get", 0, 1);
    row("nesting: a call allowed only through 9 levels (user_read), c=1", &through, String::new());
    (head.p50_ms, inherited.p50_ms, through.p50_ms)
}

/// Pages of 1,000 of the big group (every user a member): the v1 cursor
/// (first, middle, last; c=4 and c=1) and the management `pageIndex`
/// (first, middle, last; c=1).
fn member_pages(server: &Server, seeded: &Seeded, big_group: &str, load: &Load, row: &mut dyn FnMut(&str, &Figures, String)) {
    let mut sorted = seeded.users.clone();
    sorted.sort();
    let page = 1000.min(sorted.len());
    let list = |cursor: Option<&String>| {
        let mut url = format!("{}/v1/groups/{big_group}/users?limit={page}", server.base);
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        url
    };
    let middle = sorted.len() / 2;
    for (label, url) in [
        ("list first page", list(None)),
        ("list middle page", list(Some(&sorted[middle - 1]))),
        ("list last page", list(sorted.len().checked_sub(page + 1).map(|i| &sorted[i]))),
    ] {
        let f = wrk(load, &url, "get", 0, 4);
        row(&format!("{label} of {} (1000 a page) c=4", sorted.len()), &f, String::new());
        let f = wrk(load, &url, "get", 0, 1);
        row(&format!("{label} of {} (1000 a page) c=1", sorted.len()), &f, String::new());
    }
    // The management surface's offset pages (`pageIndex`), one at a time.
    let pages = sorted.len().div_ceil(page);
    for (label, index) in [("first", 0), ("middle", pages / 2), ("last", pages.saturating_sub(1))] {
        let url = format!("{}/api/security/groups/{big_group}/users?pageSize={page}&pageIndex={index}", server.base);
        let f = wrk(load, &url, "get", 0, 1);
        row(&format!("management: list {label} page (pageIndex {index}) c=1"), &f, String::new());
    }
}

/// Everyone else's latency while 1,000 wrong passwords arrive at once
/// (Argon2 runs on a bounded set of threads: the other requests must not
/// starve): single adds at c=4 alone, then during the burst. Returns the
/// p50 and p99 ratios during / alone.
fn wrong_password_rows(
    load: &Load,
    server: &Server,
    single_url: &str,
    scale: &Scale,
    row: &mut dyn FnMut(&str, &Figures, String),
) -> (f64, f64) {
    let alone = wrk(load, single_url, "single", 40_000_000, 4);
    row("single add c=4, alone", &alone, String::new());
    let burst = wrong_password_burst(&server.base, scale.burst, 64);
    std::thread::sleep(Duration::from_millis(200));
    let during = wrk(load, single_url, "single", 45_000_000, 4);
    let (refused, took) = burst.join().unwrap();
    let burst_p50 = during.p50_ms / alone.p50_ms;
    let burst_p99 = during.p99_ms / alone.p99_ms;
    row(
        &format!("single add c=4, during {} wrong passwords", scale.burst),
        &during,
        format!(
            "p50 {burst_p50:.2}x, p99 {burst_p99:.2}x alone; the burst: {refused} refused in {:.1} s ({:.0}/s)",
            took.as_secs_f64(),
            refused as f64 / took.as_secs_f64()
        ),
    );
    (burst_p50, burst_p99)
}

/// What recording events costs: the same loads without events and with
/// them, each run on its own copy of the database as it is now (a run on a
/// database the previous runs grew is slower, whatever it measures), in
/// the order off, on, on, off, `ROLLCALL_BENCH_ROUNDS` times (default 1);
/// the ratios on / off of the mean single add c=64 and bulk add c=16 rates.
fn events_on_off(load: &Load, db: &Database, row: &mut dyn FnMut(&str, &Figures, String)) -> (f64, f64) {
    let rounds: usize = std::env::var("ROLLCALL_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let mut rates: BTreeMap<bool, (f64, f64)> = BTreeMap::new();
    let order = [false, true, true, false];
    for (k, events) in order.into_iter().cycle().take(4 * rounds).enumerate() {
        let copy = db.copy(&format!("run{k}"));
        let server = Server::start_with(&copy, events);
        let url = format!("{}/", server.base);
        let label = if events { "events on" } else { "events off" };
        let single = wrk(load, &url, "single", 60_000_000, 64);
        row(&format!("single add c=64, {label}"), &single, String::new());
        let bulk = wrk(load, &url, "bulk", 250_000, 16);
        row(&format!("bulk add 100 c=16, {label}"), &bulk, format!("{:.0} memberships/s", bulk.rps * 100.0));
        let sum = rates.entry(events).or_default();
        sum.0 += single.rps / (2 * rounds) as f64;
        sum.1 += bulk.rps / (2 * rounds) as f64;
    }
    let (on, off) = (rates[&true], rates[&false]);
    let (events_single, events_bulk) = (on.0 / off.0, on.1 / off.1);
    let note = format!("means: single add c=64 {events_single:.2}x, bulk add c=16 {events_bulk:.2}x");
    row("events on / off", &Figures::default(), note);
    (events_single, events_bulk)
}

/// Bytes the database takes on disk (SQLite: the file and its write-ahead
/// log; PostgreSQL: `pg_database_size`).
fn database_bytes(db: &Database) -> u64 {
    match &db.pg_name {
        None => {
            let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
            [file.clone(), format!("{file}-wal")].iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum()
        }
        Some(name) => {
            #[derive(diesel::QueryableByName)]
            struct Size {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                bytes: i64,
            }
            let mut admin = PgConnection::establish(&postgres_admin_url()).unwrap();
            let size: Size = diesel::sql_query(format!("SELECT pg_database_size('{name}') AS bytes")).get_result(&mut admin).unwrap();
            size.bytes as u64
        }
    }
}

/// Puts the members of every group in over HTTP: group `k` gets the
/// `per_group` users from `k * per_group` on (round the user list), so that
/// every user is in about the same number of groups, by v1 bulk adds of 100
/// at `concurrency`. Returns the memberships/s.
fn fill_over_http(base: &str, token: &str, seeded: &Seeded, per_group: usize, concurrency: usize) -> f64 {
    let blocks = per_group.div_ceil(100);
    let total = seeded.groups.len() * blocks;
    let users = std::sync::Arc::new(seeded.users.clone());
    let groups = std::sync::Arc::new(seeded.groups.clone());
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let client = reqwest::Client::new();
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (users, groups, next, client) = (users.clone(), groups.clone(), next.clone(), client.clone());
            let (base, token, account) = (base.to_owned(), token.to_owned(), seeded.account.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let (k, block) = (i / blocks, i % blocks);
                    let first = k * per_group + block * 100;
                    let ids: Vec<&str> =
                        (first..first + 100.min(per_group - block * 100)).map(|j| users[j % users.len()].as_str()).collect();
                    let r = client
                        .put(format!("{base}/v1/groups/{}/users", groups[k]))
                        .bearer_auth(&token)
                        .header("X-Account-ID", &account)
                        .header("Content-Type", "application/json")
                        .body(serde_json::to_string(&ids).unwrap())
                        .send()
                        .await
                        .expect("bulk add sent");
                    assert!(r.status().is_success(), "bulk add: {}", r.status());
                    if i % 10_000 == 0 {
                        eprintln!("  fill: {i} of {total} requests");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    (seeded.groups.len() * per_group) as f64 / began.elapsed().as_secs_f64()
}

/// ROLLCALL_BENCH_ONLY=scale: one account of `scale.users` users and
/// `scale.groups` groups, filled to 1,000 members a group (10 groups a user
/// at the full scale: 10,000,000 memberships). Single add, member page and
/// `HEAD` are measured with the users and groups in place before the fill
/// (only the probe group has its members) and again after it, on one
/// server whose peak RSS is read at the end.
fn at_scale(db: &Database, scale: &Scale, row: &mut dyn FnMut(&str, &Figures, String)) -> Value {
    const PER_GROUP: usize = 1_000;
    let began = Instant::now();
    let seeded = seed(db, scale);
    analyze(db);
    eprintln!("  seeded {} users, {} groups through the library in {:.0} s", scale.users, scale.groups, began.elapsed().as_secs_f64());
    let dir = out_dir();
    let users_file = dir.join("scale-users.txt");
    let groups_file = dir.join("scale-groups.txt");
    // Single adds go to the groups after the probe group.
    std::fs::write(&users_file, seeded.users.join("\n")).unwrap();
    std::fs::write(&groups_file, seeded.groups[1..].join("\n")).unwrap();
    let token = TokenKeys::from_secret(SECRET.as_bytes()).issue(admin(&seeded).user, admin(&seeded).account, 86_400).unwrap();
    let load = Load { users_file: &users_file, groups_file: &groups_file, token: &token, account: &seeded.account, seconds: scale.seconds };
    let probe = seeded.groups[0].clone();
    let member = seeded.users[PER_GROUP / 2].clone();
    add_block(&service(db.pool(SqliteSynchronous::Normal, 2)), &seeded.account, &probe, &seeded.users[..PER_GROUP]);
    let server = Server::start(db);
    let bytes_before = database_bytes(db);
    let measure = |when: &str, offset: usize, row: &mut dyn FnMut(&str, &Figures, String)| -> (f64, f64, f64) {
        let single = wrk(&load, &format!("{}/", server.base), "single", offset, 16);
        row(&format!("scale: single add c=16 ({when})"), &single, String::new());
        let page = wrk(&load, &format!("{}/v1/groups/{probe}/users?limit=1000", server.base), "get", 0, 1);
        row(&format!("scale: page of 1,000 members c=1 ({when})"), &page, String::new());
        let head = wrk(&load, &format!("{}/api/security/groups/{probe}/users/{member}", server.base), "head", 0, 1);
        row(&format!("scale: HEAD member c=1 ({when})"), &head, String::new());
        (single.p50_ms, page.p50_ms, head.p50_ms)
    };
    let before = measure("users and groups only", 0, row);
    eprintln!("  filling {} memberships over HTTP", scale.groups * PER_GROUP);
    let fill_rate = fill_over_http(&server.base, &token, &seeded, PER_GROUP, 16);
    let memberships = count_memberships(db);
    row(
        "scale: fill by v1 bulk adds of 100, c=16",
        &Figures::default(),
        format!("{fill_rate:.0} memberships/s; {memberships} memberships"),
    );
    analyze(db);
    let after = measure(&format!("{memberships} memberships"), 5_000_000, row);
    let rss = server.peak_rss_mb();
    let bytes_after = database_bytes(db);
    let per_membership = (bytes_after.saturating_sub(bytes_before)) as f64 / (memberships as f64 - PER_GROUP as f64).max(1.0);
    row("scale: peak server RSS", &Figures::default(), format!("{rss:.1} MB"));
    row(
        "scale: bytes on disk per membership",
        &Figures::default(),
        format!("{per_membership:.0} bytes (database {:.0} MB)", bytes_after as f64 / 1e6),
    );
    json!({
        "memberships": memberships,
        "fill_memberships_per_s": round(fill_rate),
        "peak_rss_mb": round(rss),
        "bytes_per_membership": round(per_membership),
        "database_mb": round(bytes_after as f64 / 1e6),
        "ratios": {
            "single_add_p50_full_vs_empty": round(after.0 / before.0),
            "page_p50_full_vs_empty": round(after.1 / before.1),
            "head_p50_full_vs_empty": round(after.2 / before.2),
        }
    })
}

fn run_backend(backend: Backend, scale: &Scale, table: &mut Vec<(String, Figures, String)>) -> Value {
    let name = format!("{backend:?}").to_lowercase();
    eprintln!("[{name}] seeding {} users, {} groups", scale.users, scale.groups);
    let db = Database::create(backend);
    let mut result = BTreeMap::new();
    // ROLLCALL_BENCH_ONLY=nesting: only the nesting rows, on a database of
    // their own (to compare builds).
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "nesting") {
        let (head, groups, check) = nesting_at_scale(&db, scale, &mut |label, figures, note| {
            result.insert(label.to_owned(), figures.json());
            table.push((format!("{name}: {label}"), figures.clone(), note));
        });
        let ratios = json!({"nesting_head_p50_ms": round(head), "nesting_inherited_groups_p50_ms": round(groups),
                            "nesting_permission_check_p50_ms": round(check)});
        return json!({"figures": result, "ratios": ratios});
    }
    // ROLLCALL_BENCH_ONLY=scale: the 10,000,000-membership rows.
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "scale") {
        let figures = at_scale(&db, scale, &mut |label, figures, note| {
            result.insert(label.to_owned(), figures.json());
            table.push((format!("{name}: {label}"), figures.clone(), note));
        });
        return json!({"figures": result, "scale": figures, "ratios": figures["ratios"]});
    }
    let seeded = seed(&db, scale);
    analyze(&db);
    let dir = out_dir();
    let users_file = dir.join(format!("{name}-users.txt"));
    let groups_file = dir.join(format!("{name}-groups.txt"));
    // The last group is the big one for listings; the load writes to the others.
    let big_group = seeded.groups.last().unwrap().clone();
    std::fs::write(&users_file, seeded.users.join("\n")).unwrap();
    std::fs::write(&groups_file, seeded.groups[..seeded.groups.len() - 1].join("\n")).unwrap();
    let token = TokenKeys::from_secret(SECRET.as_bytes()).issue(admin(&seeded).user, admin(&seeded).account, 86_400).unwrap();
    let load = Load { users_file: &users_file, groups_file: &groups_file, token: &token, account: &seeded.account, seconds: scale.seconds };
    let mut row = |label: &str, figures: &Figures, note: String, result: &mut BTreeMap<String, Value>| {
        result.insert(label.to_owned(), figures.json());
        table.push((format!("{name}: {label}"), figures.clone(), note));
    };

    // ROLLCALL_BENCH_ONLY=events: only the events on / off rows (to
    // measure a change to what recording costs, in a few minutes).
    // ROLLCALL_BENCH_ONLY=pages: only the member pages (without the fill).
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "pages") {
        let pool = service(db.pool(SqliteSynchronous::Normal, 2));
        add_block(&pool, &seeded.account, &big_group, &seeded.users);
        // As in the full run, where the creation rows leave ~50,000 users
        // who are in no group and whose emails (bench-…) sort before every
        // member's: half as many users again as the group holds.
        add_outsiders(&pool, &seeded.account, seeded.users.len() / 2);
        drop(pool);
        analyze(&db);
        let server = Server::start(&db);
        member_pages(&server, &seeded, &big_group, &load, &mut |label, figures, note| row(label, figures, note, &mut result));
        return json!({"figures": result});
    }
    let only_events = std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "events");
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "single" || v == "create") {
        // Not an empty memberships table: PostgreSQL plans a lookup in a
        // one-page table as a scan, and a connection keeps that plan while
        // the run grows the table (until an analyze), which measures the
        // first minute of a new database, not its steady state.
        add_block(&service(db.pool(SqliteSynchronous::Normal, 2)), &seeded.account, &big_group, &seeded.users);
        analyze(&db);
    }
    let server = Server::start(&db);
    let single_url = format!("{}/", server.base);
    // Offsets keep every run's memberships new.
    // ROLLCALL_BENCH_ONLY=signin: only the wrong-password burst, and the
    // server's peak RSS after it.
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "signin") {
        let (p50, p99) =
            wrong_password_rows(&load, &server, &single_url, scale, &mut |label, figures, note| row(label, figures, note, &mut result));
        let rss = server.peak_rss_mb();
        table.push((format!("{name}: peak server RSS"), Figures::default(), format!("{rss:.1} MB")));
        return json!({"figures": result, "peak_rss_mb": round(rss), "ratios": {
            "single_c4_p50_during_wrong_password_burst_vs_alone": round(p50),
            "single_c4_p99_during_wrong_password_burst_vs_alone": round(p99)}});
    }
    // ROLLCALL_BENCH_ONLY=single: only single adds at c=64 on one and two
    // instances, and pgbench.
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "single") {
        let (one, two, pgbench64, storage) =
            single_adds_c64(&load, &db, &server, 60_000_000, &mut |label, figures, note| row(label, figures, note, &mut result));
        let mut ratios = match &pgbench64 {
            Some(p) => json!({"single_c64_vs_pgbench_c64": round(one.rps / p.rps),
                "single_c64_two_instances_vs_pgbench_c64": round(two.rps / p.rps)}),
            None => json!({"single_c64_two_instances_vs_one": round(two.rps / one.rps)}),
        };
        if let Some(s) = &storage {
            ratios["single_c64_vs_storage_alone"] = json!(round(one.rps / s.rps));
            if let Some(p) = &pgbench64 {
                ratios["storage_alone_vs_pgbench_c64"] = json!(round(s.rps / p.rps));
            }
        }
        return json!({"figures": result, "ratios": ratios});
    }
    // ROLLCALL_BENCH_ONLY=create: creating users and groups against the
    // single add, all at c=16 (item 7 of issue 17).
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "create") {
        let single = wrk(&load, &single_url, "single", 70_000_000, 16);
        row("single add c=16", &single, String::new(), &mut result);
        let users = wrk(&load, &single_url, "create_user", 0, 16);
        row("create user c=16", &users, format!("{:.2}x single add c=16", users.rps / single.rps), &mut result);
        let groups = wrk(&load, &single_url, "create_group", 0, 16);
        row("create group c=16", &groups, format!("{:.2}x single add c=16", groups.rps / single.rps), &mut result);
        let ratios = json!({"create_user_c16_vs_single_add_c16": round(users.rps / single.rps),
                            "create_group_c16_vs_single_add_c16": round(groups.rps / single.rps)});
        return json!({"figures": result, "ratios": ratios});
    }
    if only_events {
        drop(server);
        let (events_single, events_bulk) = events_on_off(&load, &db, &mut |label, figures, note| row(label, figures, note, &mut result));
        let ratios = json!({"single_c64_events_on_vs_off": round(events_single), "bulk_c16_events_on_vs_off": round(events_bulk)});
        return json!({"figures": result, "ratios": ratios});
    }
    let empty = wrk(&load, &single_url, "single", 0, 1);
    row("single add c=1 (empty db)", &empty, String::new(), &mut result);
    let mut single = BTreeMap::new();
    for (k, c) in [1usize, 16, 64].into_iter().enumerate() {
        let f = wrk(&load, &single_url, "single", 10_000_000 * (k + 1), c);
        single.insert(c, f.clone());
        row(&format!("single add c={c}"), &f, String::new(), &mut result);
    }
    let bulk1 = wrk(&load, &single_url, "bulk", 0, 1);
    row("bulk add 100 c=1", &bulk1, format!("{:.0} memberships/s", bulk1.rps * 100.0), &mut result);
    let bulk16 = wrk(&load, &single_url, "bulk", 100_000, 16);
    row("bulk add 100 c=16", &bulk16, format!("{:.0} memberships/s", bulk16.rps * 100.0), &mut result);
    // Creating users and groups, against the single add at the same
    // concurrency.
    let create_users = wrk(&load, &single_url, "create_user", 0, 16);
    let users_vs_add = create_users.rps / single[&16].rps;
    row("create user c=16", &create_users, format!("{users_vs_add:.2}x single add c=16"), &mut result);
    let create_groups = wrk(&load, &single_url, "create_group", 0, 16);
    let groups_vs_add = create_groups.rps / single[&16].rps;
    row("create group c=16", &create_groups, format!("{groups_vs_add:.2}x single add c=16"), &mut result);
    let (burst_p50, burst_p99) =
        wrong_password_rows(&load, &server, &single_url, scale, &mut |label, figures, note| row(label, figures, note, &mut result));
    let (_, two_instances, pgbench64, storage) =
        single_adds_c64(&load, &db, &server, 50_000_000, &mut |label, figures, note| row(label, figures, note, &mut result));

    drop(server);
    let (events_single, events_bulk) = events_on_off(&load, &db, &mut |label, figures, note| row(label, figures, note, &mut result));
    // The ceiling: the same engine calls in this process, no HTTP, at the
    // server's durability (synchronous=FULL on SQLite), on the same data as
    // the HTTP runs above (before the fill below).
    eprintln!("[{name}] in-process ceiling");
    let pool = db.pool(SqliteSynchronous::Full, 8);
    let in_process_service = service(pool.clone());
    let groups = &seeded.groups[..seeded.groups.len() - 1];
    let one = |i: usize| add_one(&in_process_service, &seeded, i);
    let ceiling1 = in_process(1, scale.seconds, 70_000_000, one);
    row("ceiling: single add, 1 thread", &ceiling1, "one commit per add".into(), &mut result);
    let ceiling16 = in_process(16, scale.seconds, 80_000_000, one);
    row("ceiling: single add, 16 threads", &ceiling16, String::new(), &mut result);
    // What every HTTP request pays first: the signature, then the database
    // check that the token's user and key still allow it (revocation).
    let checked = |i: usize| {
        runtime().block_on(in_process_service.authenticate(&token)).unwrap();
        add_one(&in_process_service, &seeded, i);
    };
    let ceiling16_checked = in_process(16, scale.seconds, 85_000_000, checked);
    let check_cost = ceiling16_checked.rps / ceiling16.rps;
    row(
        "ceiling: token check + single add, 16 threads",
        &ceiling16_checked,
        format!("{check_cost:.2}x the rate without the check"),
        &mut result,
    );
    let add_bulk = |i: usize| {
        let group = GroupIdentifier::Id(groups[i % groups.len()].parse().unwrap());
        let first = ((500 + i / groups.len()) * 100) % seeded.users.len();
        let ids: Vec<UserId> = (0..100).map(|k| seeded.users[(first + k) % seeded.users.len()].parse().unwrap()).collect();
        let ids = IdList::parse("user", ids).unwrap();
        runtime().block_on(in_process_service.add_users_to_group(&admin(&seeded), group, ids)).unwrap();
    };
    let ceiling_bulk = in_process(1, scale.seconds, 0, add_bulk);
    row("ceiling: bulk add 100, 1 thread", &ceiling_bulk, String::new(), &mut result);

    // Signing in, in-process: token grants per second, and what a wrong
    // password and an unknown username cost (they should cost the same).
    // Lockout is off here, so that every wrong password takes its full path.
    let sign_in_service = in_process_service
        .clone()
        .with_policy(rollcall::engine::sign_in::SignInPolicy { lockout_threshold: i32::MAX, ..Default::default() });
    let key = runtime().block_on(async {
        let key = sign_in_service
            .create_api_key_as_system(
                admin(&seeded).account,
                UserIdentifier::Id(admin(&seeded).user),
                "bench",
                rollcall::engine::api_keys::KeyPurpose::General,
            )
            .await
            .unwrap();
        let draft = rollcall::engine::users::UserDraft {
            email: rollcall::domain::Email::parse("signs-in@example.com").unwrap(),
            username: Some(rollcall::domain::Username::parse("signs-in").unwrap()),
            first_name: rollcall::domain::PersonName::parse("firstName", None).unwrap(),
            last_name: rollcall::domain::PersonName::parse("lastName", None).unwrap(),
            password_hash: None,
            suspended: false,
            profile: Default::default(),
        };
        let password = rollcall::credentials::Password::parse("password", "a bench password").unwrap();
        sign_in_service.create_user(&admin(&seeded), draft, Some(password)).await.unwrap();
        key
    });
    let key_id = key.key.id.to_string();
    let grants = in_process(16, scale.seconds, 0, |_| {
        runtime().block_on(sign_in_service.grant_client_credentials(None, &key_id, &key.secret)).unwrap();
    });
    row("sign-in: client credentials grants, 16 threads", &grants, String::new(), &mut result);
    let password_grants = in_process(16, scale.seconds, 0, |_| {
        runtime().block_on(sign_in_service.grant_password(None, "signs-in", "a bench password", true)).unwrap();
    });
    row(
        "sign-in: password grants, 16 threads",
        &password_grants,
        "Argon2id m=19 MiB t=2 p=1, at most one hash per core".into(),
        &mut result,
    );
    let wrong = in_process(1, scale.seconds, 0, |_| {
        runtime().block_on(sign_in_service.grant_password(None, "signs-in", "a wrong password", false)).unwrap_err();
    });
    row("sign-in: wrong password, 1 thread", &wrong, String::new(), &mut result);
    let unknown = in_process(1, scale.seconds, 0, |_| {
        runtime().block_on(sign_in_service.grant_password(None, "nobody-by-that-name", "a wrong password", false)).unwrap_err();
    });
    let timing = unknown.p50_ms / wrong.p50_ms;
    row("sign-in: unknown username, 1 thread", &unknown, format!("p50 {timing:.2}x a wrong password"), &mut result);

    drop(in_process_service);
    drop(pool);

    eprintln!("[{name}] nesting at scale");
    let (nested_head, nested_groups, nested_check) =
        nesting_at_scale(&db, scale, &mut |label, figures, note| row(label, figures, note, &mut result));

    // Listing a group with every user as a member.
    eprintln!("[{name}] filling the big group and {} memberships", scale.memberships);
    {
        let service = service(db.pool(SqliteSynchronous::Normal, 2));
        add_block(&service, &seeded.account, &big_group, &seeded.users);
    }
    fill_memberships(&db, &seeded, scale.memberships, &big_group);
    analyze(&db);
    let total = count_memberships(&db);
    let server = Server::start(&db);
    member_pages(&server, &seeded, &big_group, &load, &mut |label, figures, note| row(label, figures, note, &mut result));
    let single_url = format!("{}/", server.base);
    let full = wrk(&load, &single_url, "single", 50_000_000, 1);
    let growth = full.p50_ms / empty.p50_ms;
    row(&format!("single add c=1 at {total} memberships"), &full, format!("p50 {:.2}x the empty db", growth), &mut result);
    let rss = server.peak_rss_mb();
    drop(server);
    // The engine alone at this size: is the growth in the engine or around it?
    let full_service = service(db.pool(SqliteSynchronous::Full, 8));
    let ceiling_full = in_process(1, scale.seconds, 90_000_000, |i| add_one(&full_service, &seeded, i));
    let engine_growth = ceiling_full.p50_ms / ceiling1.p50_ms;
    row(
        &format!("ceiling: single add, 1 thread at {total} memberships"),
        &ceiling_full,
        format!("p50 {engine_growth:.2}x the ceiling before the fill"),
        &mut result,
    );
    drop(full_service);

    let mut ratios = json!({
        "single_c16_vs_ceiling_16_threads": round(single[&16].rps / ceiling16.rps),
        "create_user_c16_vs_single_add_c16": round(users_vs_add),
        "create_group_c16_vs_single_add_c16": round(groups_vs_add),
        "ceiling_16_threads_with_token_check_vs_without": round(check_cost),
        "unknown_username_p50_vs_wrong_password_p50": round(timing),
        "single_c4_p50_during_wrong_password_burst_vs_alone": round(burst_p50),
        "single_c4_p99_during_wrong_password_burst_vs_alone": round(burst_p99),
        "single_c64_vs_one_commit_per_request": round(single[&64].rps / ceiling1.rps),
        "bulk_p50_vs_ceiling_p50": round(bulk1.p50_ms / ceiling_bulk.p50_ms),
        "single_c64_events_on_vs_off": round(events_single),
        "bulk_c16_events_on_vs_off": round(events_bulk),
        "latency_p50_at_full_vs_empty": round(growth),
        "nesting_head_p50_ms": round(nested_head),
        "nesting_inherited_groups_p50_ms": round(nested_groups),
        "nesting_permission_check_p50_ms": round(nested_check),
        "ceiling_p50_at_full_vs_before_fill": round(engine_growth),
    });
    ratios["single_c64_two_instances_vs_one"] = json!(round(two_instances.rps / single[&64].rps));
    if let Some(s) = &storage {
        ratios["single_c64_vs_storage_alone"] = json!(round(single[&64].rps / s.rps));
    }
    if let Some(f) = &pgbench64 {
        ratios["single_c64_vs_pgbench_c64"] = json!(round(single[&64].rps / f.rps));
        ratios["single_c64_two_instances_vs_pgbench_c64"] = json!(round(two_instances.rps / f.rps));
        if let Some(s) = &storage {
            ratios["storage_alone_vs_pgbench_c64"] = json!(round(s.rps / f.rps));
        }
    }
    table.push((format!("{name}: peak server RSS"), Figures::default(), format!("{rss:.1} MB")));
    json!({"figures": result, "ratios": ratios, "peak_rss_mb": round(rss), "memberships_at_end_of_load": total,
           "durability": if backend == Backend::Sqlite { "synchronous=FULL, WAL" } else { "PostgreSQL defaults (fsync on, synchronous_commit on)" }})
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --bench rollcall` does not:
    // then the data set is tiny and the build is debug (a smoke run for CI).
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = std::env::var("ROLLCALL_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(if full { 5 } else { 1 });
    let mut scale = if full {
        Scale { users: 100_000, burst: 1_000, nested_groups: 100_000, groups: 1_000, memberships: 1_000_000, seconds }
    } else {
        Scale { users: 2_000, burst: 40, nested_groups: 200, groups: 20, memberships: 5_000, seconds }
    };
    // The scale rows: 1,000,000 users and 10,000 groups of 1,000 members
    // (ROLLCALL_BENCH_SCALE=users,groups to change it).
    if std::env::var("ROLLCALL_BENCH_ONLY").is_ok_and(|v| v == "scale") {
        let given = std::env::var("ROLLCALL_BENCH_SCALE").unwrap_or_else(|_| "1000000,10000".into());
        let mut parts = given.split(',').map(|p| p.trim().parse::<usize>().expect("ROLLCALL_BENCH_SCALE=users,groups"));
        scale.users = parts.next().unwrap();
        scale.groups = parts.next().unwrap();
        scale.memberships = scale.groups * 1_000;
    }
    let backends: Vec<Backend> = std::env::var("ROLLCALL_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|b| if b.trim() == "postgres" { Backend::Postgres } else { Backend::Sqlite })
        .collect();

    let mut table = Vec::new();
    let floor_url = start_floor();
    let dummy = out_dir().join("empty.txt");
    std::fs::write(&dummy, "x").unwrap();
    let floor_load = Load { users_file: &dummy, groups_file: &dummy, token: "-", account: "-", seconds };
    let mut floor = BTreeMap::new();
    for c in [16usize, 64] {
        let f = wrk(&floor_load, &floor_url, "put", 0, c);
        floor.insert(format!("c={c}"), f.json());
        table.push((format!("HTTP floor: empty handler c={c}"), f, String::new()));
    }
    let mut results = serde_json::Map::new();
    for backend in backends {
        results.insert(format!("{backend:?}").to_lowercase(), run_backend(backend, &scale, &mut table));
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nRollcall benchmark ({}; {cores} cores; {} users, {} groups; {} s a run)",
        if full { "release" } else { "tiny smoke run" },
        scale.users,
        scale.groups,
        seconds
    );
    println!("{:<62} {:>10} {:>9} {:>9} {:>7}  note", "", "req/s", "p50 ms", "p99 ms", "errors");
    for (label, f, note) in &table {
        if f.requests == 0 {
            println!("{label:<62} {:>10} {:>9} {:>9} {:>7}  {note}", "", "", "", "");
        } else {
            println!("{label:<62} {:>10.0} {:>9.2} {:>9.2} {:>7}  {note}", f.rps, f.p50_ms, f.p99_ms, f.errors);
        }
    }
    for (backend, r) in &results {
        println!("{backend} ratios: {}", r["ratios"]);
    }
    let report = json!({"mode": if full { "full" } else { "tiny" }, "cores": cores, "seconds_per_run": seconds,
        "scale": {"users": scale.users, "groups": scale.groups, "memberships": scale.memberships},
        "http_floor": floor, "backends": results});
    let path = out_dir().join("results.json");
    std::fs::File::create(&path).unwrap().write_all(serde_json::to_string_pretty(&report).unwrap().as_bytes()).unwrap();
    println!("written: {}", path.display());
    let errors: u64 = table.iter().map(|(_, f, _)| f.errors).sum();
    assert_eq!(errors, 0, "requests failed during the benchmark");
}
