//! The `rollcall` binary: bootstrap, token, openapi, migrate, and serve's
//! first start, on both backends.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestDatabase};

fn rollcall(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("ROLLCALL_JWT_SECRET")
        .stdin(Stdio::null())
        .output()
        .expect("rollcall runs")
}

fn bootstrap(db: &TestDatabase) -> Value {
    let out = rollcall(db, &["bootstrap", "--account", "Fight Club", "--username", "tdurden", "--email", "t.durden@fightclub.com"]);
    assert!(out.status.success(), "bootstrap: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("bootstrap prints one JSON object")
}

fn bootstrap_reuses_the_account_and_user_and_prints_fresh_tokens(backend: Backend) {
    let Some(db) = TestDatabase::create(backend) else { return };
    let first = bootstrap(&db);
    std::thread::sleep(Duration::from_millis(1100)); // iat has a one-second resolution
    let second = bootstrap(&db);
    assert_eq!(first["account_id"], second["account_id"]);
    assert_eq!(first["user_id"], second["user_id"]);
    assert_ne!(first["token"], second["token"]);

    let account = first["account_id"].as_str().unwrap();
    for user in ["tdurden", "T.Durden@FightClub.com", first["user_id"].as_str().unwrap()] {
        let out = rollcall(&db, &["token", "--account", account, "--user", user, "--ttl", "60"]);
        assert!(out.status.success(), "token for {user}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim().split('.').count(), 3, "a JWT");
    }
    let out = rollcall(&db, &["token", "--account", account, "--user", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));
}

#[test]
fn sqlite_bootstrap_reuses_the_account_and_user_and_prints_fresh_tokens() {
    bootstrap_reuses_the_account_and_user_and_prints_fresh_tokens(Backend::Sqlite);
}

#[test]
fn postgres_bootstrap_reuses_the_account_and_user_and_prints_fresh_tokens() {
    bootstrap_reuses_the_account_and_user_and_prints_fresh_tokens(Backend::Postgres);
}

#[test]
fn openapi_prints_the_spec_without_a_database() {
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["openapi", "--database-url", "postgres://nobody@127.0.0.1:1/none"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc, rollcall::startup::openapi());
}

#[test]
fn an_unreachable_database_fails_fast_with_one_line() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none", "--connect-timeout-secs", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l.starts_with("rollcall: cannot open database")), "{stderr}");
}

#[test]
fn first_start_creates_an_admin_and_prints_a_working_token() {
    let Some(db) = TestDatabase::create(Backend::Sqlite) else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--bind", &address])
        .env("DATABASE_URL", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufRead::lines(std::io::BufReader::new(stdout)).take(8).map(Result::unwrap).collect();
    let after = |label: &str| lines.iter().find_map(|l| l.trim().strip_prefix(label)).map(|v| v.trim().to_owned());
    let token_line = lines.iter().position(|l| l.starts_with("Admin token")).expect("a token line");
    let token = lines[token_line + 1].trim().to_owned();
    let account = lines.last().unwrap().rsplit(' ').next().unwrap().to_owned();
    let (client_id, client_secret) = (after("client_id:").expect("a key id"), after("client_secret:").expect("a key secret"));
    assert!(lines.iter().any(|l| l.contains("/swagger-ui/")), "{lines:?}");

    let (status, key_status) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("http://{address}/v1/groups"))
            .bearer_auth(&token)
            .header("X-Account-ID", &account)
            .json(&serde_json::json!({"name": "Newcomers"}))
            .send()
            .await
            .unwrap();
        let grant = client
            .post(format!("http://{address}/authenticate/connect/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &client_secret)])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), grant.status().as_u16())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 201, "the printed token works: {lines:?}");
    assert_eq!(key_status, 200, "the printed key signs in: {lines:?}");
}

/// `rollcall api-key`: a key made on the command line signs in; the listing
/// never shows a secret; a revoked key no longer signs in.
fn api_keys_are_made_listed_and_revoked_on_the_command_line(backend: Backend) {
    let Some(db) = TestDatabase::create(backend) else { return };
    let account = bootstrap(&db)["account_id"].as_str().unwrap().to_owned();
    let out = rollcall(&db, &["api-key", "create", "--account", &account, "--user", "tdurden", "--name", "deploys"]);
    assert!(out.status.success(), "create: {}", String::from_utf8_lossy(&out.stderr));
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (made["id"].as_str().unwrap().to_owned(), made["secret"].as_str().unwrap().to_owned());
    assert_eq!(made["name"], "deploys");

    let pool = rollcall::db::Pool::connect(&rollcall::config::DatabaseConfig::new(db.url.clone())).unwrap();
    let keys = rollcall::tokens::TokenKeys::load(&pool).unwrap();
    let service = rollcall::cli::service(pool, keys);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert!(runtime.block_on(service.grant_client_credentials(None, &id, &secret)).is_ok(), "the key signs in");

    let out = rollcall(&db, &["api-key", "list", "--account", &account]);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains(&id) && !listed.contains(&secret) && !listed.contains("secret"), "{listed}");

    let out = rollcall(&db, &["api-key", "revoke", "--account", &account, "--id", &id]);
    assert!(out.status.success(), "revoke: {}", String::from_utf8_lossy(&out.stderr));
    let revoked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(runtime.block_on(service.grant_client_credentials(None, &id, &secret)).is_err(), "a revoked key does not");
    let out = rollcall(&db, &["api-key", "revoke", "--account", &account, "--id", "6254736c-70e1-43b0-b769-f8e0f6359862"]);
    assert!(!out.status.success());
}

#[test]
fn sqlite_api_keys_are_made_listed_and_revoked_on_the_command_line() {
    api_keys_are_made_listed_and_revoked_on_the_command_line(Backend::Sqlite);
}

#[test]
fn postgres_api_keys_are_made_listed_and_revoked_on_the_command_line() {
    api_keys_are_made_listed_and_revoked_on_the_command_line(Backend::Postgres);
}

/// `--sqlite-wal-autocheckpoint` reaches the writer and the readers alike
/// (only the writer commits, but a server without group commit writes on
/// any pooled connection).
#[test]
fn sqlite_wal_autocheckpoint_is_set_on_every_connection() {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        wal_autocheckpoint: i32,
    }
    fn read(conn: &mut rollcall::db::Conn) -> Result<i32, rollcall::error::Error> {
        use diesel::RunQueryDsl;
        let rollcall::db::Conn::Sqlite(c) = conn else { panic!("a SQLite connection") };
        let setting: Setting = diesel::sql_query("PRAGMA wal_autocheckpoint").get_result(&mut **c).unwrap();
        Ok(setting.wal_autocheckpoint)
    }
    let Some(db) = TestDatabase::create(Backend::Sqlite) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (group_commit, pages) in [(true, 1234), (false, 321)] {
        let mut config = rollcall::config::DatabaseConfig::new(db.url.clone());
        config.sqlite_group_commit = group_commit;
        config.sqlite_wal_autocheckpoint = pages;
        let pool = rollcall::db::Pool::connect(&config).unwrap();
        assert_eq!(runtime.block_on(pool.write(read)).unwrap(), pages as i32, "writer, group commit {group_commit}");
        assert_eq!(runtime.block_on(pool.run(read)).unwrap(), pages as i32, "reader, group commit {group_commit}");
    }
    assert_eq!(rollcall::config::DatabaseConfig::new("sqlite://x.db").sqlite_wal_autocheckpoint, 8000);
}
