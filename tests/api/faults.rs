//! Faults: the server killed under load, the database going away. Nothing
//! acknowledged may be lost; clients get quick 503s, and the same process
//! recovers by itself.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::Method;
use rollcall::config::DatabaseConfig;
use rollcall::db::Pool;
use rollcall::domain::{Email, PersonName};
use rollcall::engine::{accounts, users::UserDraft};
use serde_json::json;

use crate::helpers::{assert_management_error, assert_v1_error, Backend, TestApp, TestDatabase, SECRET};

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn start_rollcall(db_url: &str, address: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--bind", address, "--workers", "2"])
        .env("DATABASE_URL", db_url)
        .env("ROLLCALL_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rollcall serve starts")
}

async fn wait_until_ready(client: &reqwest::Client, address: &str) {
    // Generous: a loaded CI machine starts a debug build slowly.
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("http://{address}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {address} did not become ready");
}

/// Steady single adds from 8 clients, kill -9, restart: every acknowledged
/// membership is there.
async fn killing_the_server_loses_no_acknowledged_membership(backend: Backend) {
    let Some(db) = TestDatabase::create(backend) else { return };
    let (token, account_id, group_id, user_ids) = {
        // Seeding need not be durable; the server under test runs at full durability.
        let mut config = DatabaseConfig::new(db.url.clone());
        config.sqlite_synchronous = rollcall::config::SqliteSynchronous::Normal;
        let pool = Pool::connect(&config).unwrap();
        pool.migrate().unwrap();
        let service = rollcall::cli::service(pool, rollcall::tokens::TokenKeys::from_secret(SECRET));
        let seeded = service.write_as_system(|w| {
            let account = accounts::ensure_account(w, "crash")?;
            let admin = accounts::ensure_admin(w, account.id, "admin", "admin@example.com")?;
            let group = rollcall::engine::groups::insert_group(
                w,
                account.id,
                rollcall::domain::GroupName::parse("Survivors")?,
                rollcall::domain::GroupDescription::parse(None)?,
            )?;
            let mut users = Vec::new();
            for i in 0..1500 {
                let draft = UserDraft {
                    email: Email::parse(&format!("u{i}@example.com"))?,
                    username: None,
                    first_name: PersonName::parse("first_name", None)?,
                    last_name: PersonName::parse("last_name", None)?,
                    password_hash: None,
                    suspended: false,
                    profile: Default::default(),
                };
                users.push(rollcall::engine::users::insert_user(w, account.id, draft)?.id.to_string());
            }
            Ok((account.id, admin.id, group.id, users))
        });
        let (account, admin, group, users) = seeded.await.unwrap();
        let token = rollcall::tokens::TokenKeys::from_secret(SECRET).issue(admin, account, 3600).unwrap();
        (token, account.to_string(), group.to_string(), users)
    };

    let address = free_address();
    let mut server = start_rollcall(&db.url, &address);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    wait_until_ready(&client, &address).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let users = Arc::new(user_ids);
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, acknowledged, next, users) = (client.clone(), acknowledged.clone(), next.clone(), users.clone());
        let (address, token, group_id) = (address.clone(), token.clone(), group_id.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(user) = users.get(i) else { break };
                let url = format!("http://{address}/api/security/groups/{group_id}/users/{user}");
                match client.put(url).bearer_auth(&token).send().await {
                    Ok(r) if r.status().as_u16() == 204 => acknowledged.lock().unwrap().push(user.clone()),
                    Ok(r) => panic!("unexpected answer {} under load", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    // Let the load run, then pull the plug mid-stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 300, "the load ran ({} acknowledged)", acknowledged.len());

    let mut server = start_rollcall(&db.url, &address);
    wait_until_ready(&client, &address).await;
    let mut present = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("http://{address}/v1/groups/{group_id}/users?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let r = client.get(url).bearer_auth(&token).header("X-Account-ID", &account_id).send().await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        present.extend(body["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let lost: Vec<&String> = acknowledged.iter().filter(|u| !present.contains(*u)).collect();
    eprintln!("crash test ({backend:?}): acknowledged={} present={} lost={}", acknowledged.len(), present.len(), lost.len());
    assert!(lost.is_empty(), "{} acknowledged memberships were lost", lost.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killing_the_server_loses_no_acknowledged_membership() {
    killing_the_server_loses_no_acknowledged_membership(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killing_the_server_loses_no_acknowledged_membership() {
    killing_the_server_loses_no_acknowledged_membership(Backend::Postgres).await;
}

fn postgres_admin() -> PgConnection {
    let url = std::env::var("ROLLCALL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgConnection::establish(&url).unwrap()
}

/// Cuts the database off from its clients: no new connections, existing ones
/// terminated — what a database restart or failover looks like to the pool.
fn cut_off(db_name: &str, cut: bool) {
    let mut admin = postgres_admin();
    let allow = if cut { "false" } else { "true" };
    diesel::sql_query(format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS {allow}")).execute(&mut admin).unwrap();
    if cut {
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"
        ))
        .execute(&mut admin)
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_gives_quick_503s_and_the_same_process_recovers() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |c| {
        c.connect_timeout_secs = 2;
        c.pool_size = POOL_SIZE;
    })
    .await
    else {
        return;
    };
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Resilient").await;
    let db_name = app.db_url.rsplit('/').next().unwrap().to_owned();
    let single = format!("/api/security/groups/{group}/users/bob");
    let bulk = format!("/v1/groups/{group}/users");

    cut_off(&db_name, true);
    for _ in 0..3 {
        let started = Instant::now();
        let r = app.send(app.request(Method::PUT, &single)).await;
        assert_management_error(&r, 503, "SERVICE_UNAVAILABLE");
        let r = app.send(app.request(Method::PUT, &bulk).json(&json!([user]))).await;
        assert_v1_error(&r, 503, "SERVICE_UNAVAILABLE");
        assert!(started.elapsed() < Duration::from_secs(8), "503s come quickly: {:?}", started.elapsed());
        assert!(!r.text.contains("terminat") && !r.text.contains("postgres"), "no internals: {}", r.text);
    }
    assert_eq!(app.send(app.client.get(app.url("/readyz"))).await.status.as_u16(), 503);
    assert_eq!(app.send(app.client.get(app.url("/healthz"))).await.status.as_u16(), 200);
    assert!(app.membership_rows_unchecked().is_none(), "the database is really unreachable");

    cut_off(&db_name, false);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app.send(app.request(Method::PUT, &single)).await;
        if r.status.as_u16() == 204 {
            break;
        }
        assert_eq!(r.status.as_u16(), 503, "only 503 while recovering: {}", r.text);
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.send(app.client.get(app.url("/readyz"))).await.status.as_u16(), 200);
    assert_eq!(app.membership_rows(&group), vec![user]);

    // A restart between two requests (no request sees the outage): the pool
    // does not ping before each use, so each connection the restart killed
    // fails once, is found dead and closed — at most one 503 per pooled
    // connection, and never a dead connection handed out for good.
    cut_off(&db_name, true);
    cut_off(&db_name, false);
    let mut unavailable = 0;
    let mut added = 0;
    for _ in 0..3 * POOL_SIZE {
        let r = app.send(app.request(Method::PUT, &single)).await;
        match r.status.as_u16() {
            204 => added += 1,
            503 => {
                assert_management_error(&r, 503, "SERVICE_UNAVAILABLE");
                assert!(!r.text.contains("terminat") && !r.text.contains("postgres"), "no internals: {}", r.text);
                unavailable += 1;
            }
            _ => panic!("only 204 or 503 after a restart: {} {}", r.status, r.text),
        }
    }
    assert!(unavailable <= POOL_SIZE, "{unavailable} 503s from {POOL_SIZE} dead connections");
    assert!(added >= 2 * POOL_SIZE, "the pool serves again: {added} of {} added", 3 * POOL_SIZE);
}

const POOL_SIZE: u32 = 4;
