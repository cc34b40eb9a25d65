//! Test harness: a real server on a real port over a fresh database per test,
//! on SQLite (a temporary file) or PostgreSQL (a new database, dropped after).

use std::net::TcpListener;
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use rollcall::config::{DatabaseConfig, FeedConfig};
use rollcall::db::Pool;
use rollcall::service::Service;
use rollcall::tokens::TokenKeys;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

fn postgres_admin_url() -> String {
    std::env::var("ROLLCALL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL tests can run. In CI an unreachable server is a
/// failure, not a skip.
fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match PgConnection::establish(&postgres_admin_url()) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                panic!("CI must run the PostgreSQL tests, but {} is unreachable: {e}", postgres_admin_url());
            }
            eprintln!("SKIPPING PostgreSQL tests: {} is unreachable ({e})", postgres_admin_url());
            false
        }
    })
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("rollcall.db").display());
                Some(TestDatabase { url, postgres_name: None, _dir: Some(dir) })
            }
            Backend::Postgres => {
                if !postgres_available() {
                    return None;
                }
                let name = format!("rollcall_test_{}", Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&postgres_admin_url()).expect("postgres admin connection");
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
                let base = postgres_admin_url();
                let url = format!("{}/{name}", &base[..base.rfind('/').expect("url has a database")]);
                Some(TestDatabase { url, postgres_name: Some(name), _dir: None })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            if let Ok(mut admin) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// An account with its administrator, as `rollcall bootstrap` makes them.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub account_id: String,
    pub admin_id: String,
    pub token: String,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    /// The core the server runs on (for setting up what the API cannot).
    pub service: Service,
    pub keys: TokenKeys,
    pub feed: FeedConfig,
    /// The first account; most tests need only this one.
    pub tenant: Tenant,
    pub db_url: String,
    _db: TestDatabase,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// A server in this process on a pool of its own; returns its base URL.
fn start_server(config: &DatabaseConfig, keys: &TokenKeys, feed: &FeedConfig) -> (String, Pool, Service) {
    let pool = Pool::connect(config).expect("connect");
    pool.migrate().expect("migrate");
    let service = rollcall::cli::service_with(pool.clone(), keys.clone(), feed.clone());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = rollcall::startup::serve(listener, service.clone(), 2).expect("server");
    tokio::spawn(server);
    (address, pool, service)
}

/// Runs a future of the core to its end from synchronous test code (on the
/// tests' multi-threaded runtime).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

impl TestApp {
    /// Another server instance on the same database (as a second machine
    /// would run); returns its base URL.
    pub fn start_another_instance(&self) -> String {
        start_server(&DatabaseConfig::new(self.db_url.clone()), &self.keys, &self.feed).0
    }

    /// A new server instance on this database in place of this one, as a
    /// restart brings up (the old instance keeps running, unused).
    #[allow(dead_code, reason = "used by tests/query_plans.rs, which shares this module")]
    pub fn restart(mut self) -> TestApp {
        let (address, pool, service) = start_server(&DatabaseConfig::new(self.db_url.clone()), &self.keys, &self.feed);
        self.address = address;
        self.pool = pool;
        self.service = service;
        self
    }

    /// Starts a server on its own database, or None when the backend is
    /// unavailable outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| ()).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut DatabaseConfig)) -> Option<TestApp> {
        Self::spawn_configured(backend, configure, FeedConfig::default()).await
    }

    /// A server with the feed's and webhooks' settings `feed` (kept for
    /// further instances).
    pub async fn spawn_configured(backend: Backend, configure: impl FnOnce(&mut DatabaseConfig), feed: FeedConfig) -> Option<TestApp> {
        init_test_logs();
        let db = TestDatabase::create(backend)?;
        let mut config = DatabaseConfig::new(db.url.clone());
        configure(&mut config);
        let keys = TokenKeys::from_secret(SECRET);
        let (address, pool, service) = start_server(&config, &keys, &feed);
        let mut app = TestApp {
            address,
            client: reqwest::Client::new(),
            pool,
            service,
            keys,
            feed,
            tenant: Tenant { account_id: String::new(), admin_id: String::new(), token: String::new() },
            db_url: db.url.clone(),
            _db: db,
        };
        app.tenant = app.new_tenant("acme");
        Some(app)
    }

    pub fn new_tenant(&self, name: &str) -> Tenant {
        let (account, admin) = block_on(self.service.ensure_account_admin(name, "admin", "admin@example.com")).expect("account");
        let token = self.keys.issue(admin.id, account.id, 3600).expect("token");
        Tenant { account_id: account.id.to_string(), admin_id: admin.id.to_string(), token }
    }

    pub fn token_for(&self, tenant: &Tenant, user_id: &str) -> String {
        self.keys.issue(user_id.parse().expect("a user id"), tenant.account_id.parse().expect("an account id"), 3600).expect("token")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with the tenant's admin token (and `X-Account-ID` on v1).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(&self.tenant, &self.tenant.token, method, path)
    }

    pub fn request_as(&self, tenant: &Tenant, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.client.request(method, self.url(path)).bearer_auth(token);
        if path.starts_with("/v1/") {
            builder = builder.header("X-Account-ID", &tenant.account_id);
        }
        builder
    }

    /// One call as the tenant's administrator, with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.call_as(&self.tenant, &self.tenant.token, method, path, body).await
    }

    /// One call as any principal: a token of a user of `tenant`.
    pub async fn call_as(&self, tenant: &Tenant, token: &str, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.request_as(tenant, token, method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Response {
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response { status, headers, body, text }
    }

    pub async fn create_user_in(&self, tenant: &Tenant, email: &str, username: Option<&str>) -> String {
        let mut body = json!({"email": email, "first_name": "Test", "last_name": "User"});
        if let Some(username) = username {
            body["username"] = json!(username);
        }
        let r = self.send(self.request_as(tenant, &tenant.token, Method::POST, "/v1/users").json(&body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "create user: {}", r.text);
        r.body["id"].as_str().expect("user id").to_owned()
    }

    pub async fn create_user(&self, email: &str, username: Option<&str>) -> String {
        self.create_user_in(&self.tenant, email, username).await
    }

    pub async fn create_users(&self, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            ids.push(self.create_user(&format!("user{i}-{}@example.com", Uuid::new_v4().simple()), None).await);
        }
        ids
    }

    pub async fn create_group_in(&self, tenant: &Tenant, name: &str) -> String {
        let body = json!({"name": name, "description": "test group"});
        let r = self.send(self.request_as(tenant, &tenant.token, Method::POST, "/v1/groups").json(&body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "create group: {}", r.text);
        r.body["id"].as_str().expect("group id").to_owned()
    }

    pub async fn create_group(&self, name: &str) -> String {
        self.create_group_in(&self.tenant, name).await
    }

    /// Member ids of a group, read over HTTP, sorted.
    pub async fn members(&self, group_id: &str) -> Vec<String> {
        let r = self.send(self.request(Method::GET, &format!("/v1/groups/{group_id}/users?limit=1000"))).await;
        assert_eq!(r.status, StatusCode::OK, "list members: {}", r.text);
        let mut ids: Vec<String> =
            r.body["items"].as_array().expect("items").iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        assert_eq!(r.body["total"].as_i64(), Some(ids.len() as i64), "total matches items");
        ids
    }

    /// Raw membership rows of a group straight from the database, to check
    /// that nothing is duplicated or written behind the API's back.
    pub fn membership_rows(&self, group_id: &str) -> Vec<String> {
        use diesel::prelude::*;
        use rollcall::db::schema::memberships;
        let mut conn = self.pool.get().expect("connection");
        let query = memberships::table
            .filter(memberships::group_id.eq(group_id.to_owned()))
            .order(memberships::user_id)
            .select(memberships::user_id);
        rollcall::with_conn!(&mut conn, |c| query.load::<String>(c)).expect("rows")
    }

    /// Every column of a group's membership rows, to check that a rejected
    /// request left them exactly as they were.
    pub fn membership_snapshot(&self, group_id: &str) -> Vec<(String, String, chrono::NaiveDateTime)> {
        use diesel::prelude::*;
        use rollcall::db::schema::memberships;
        let mut conn = self.pool.get().expect("connection");
        let query = memberships::table.filter(memberships::group_id.eq(group_id.to_owned())).order(memberships::user_id).select((
            memberships::group_id,
            memberships::user_id,
            memberships::created_at,
        ));
        rollcall::with_conn!(&mut conn, |c| query.load(c)).expect("rows")
    }

    /// Whether the test's own pool can reach the database at all.
    pub fn membership_rows_unchecked(&self) -> Option<()> {
        let mut conn = self.pool.get().ok()?;
        let answered = rollcall::db::ping(&mut conn);
        if answered.is_err() {
            conn.discard_if_dead();
        }
        answered.ok()
    }

    pub fn grant(&self, group_id: &str, permission: &str) {
        let account = self.tenant.account_id.parse().expect("an account id");
        let group = group_id.parse().expect("a group id");
        let permission = permission.parse().expect("a permission");
        block_on(self.service.write_as_system(move |w| Ok(rollcall::db::groups::grant(w, account, group, permission)?))).expect("grant");
    }
}

/// Asserts the v1 `ErrorResponse` shape and code.
pub fn assert_v1_error(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "status; body: {}", r.text);
    assert_eq!(r.body["status"].as_u64(), Some(status as u64), "status field: {}", r.text);
    assert_eq!(r.body["error_code"], code, "error_code: {}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {}", r.text);
    assert!(r.body["developer_message"].is_string(), "developer_message: {}", r.text);
    let id = r.body["error_id"].as_str().expect("error_id");
    assert!(Uuid::try_parse(id).is_ok(), "error_id is a uuid: {id}");
}

/// Asserts the management `Error` shape and code.
pub fn assert_management_error(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "status; body: {}", r.text);
    assert_eq!(r.body["type"], "error", "type: {}", r.text);
    assert_eq!(r.body["data"]["code"], code, "data.code: {}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {}", r.text);
    let id = r.body["logId"].as_str().expect("logId");
    assert!(Uuid::try_parse(id).is_ok(), "logId is a uuid: {id}");
}

/// Asserts the error shape of the surface `path` is on, and its code.
pub fn assert_surface_error(r: &Response, path: &str, status: u16, code: &str) {
    if path.starts_with("/scim/") {
        // SCIM's Error has no code of Rollcall's: its status (a string) and schema.
        assert_eq!(r.status.as_u16(), status, "status; body: {}", r.text);
        assert_eq!(r.body["schemas"], serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", r.text);
        assert_eq!(r.body["status"], serde_json::json!(status.to_string()), "{}", r.text);
    } else if path.starts_with("/v1") {
        assert_v1_error(r, status, code);
    } else {
        assert_management_error(r, status, code);
    }
}

/// Runs each named `async fn(TestApp)` once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Server logs during tests, when `ROLLCALL_TEST_LOG` is set (e.g. `warn`).
pub fn init_test_logs() {
    if let Ok(filter) = std::env::var("ROLLCALL_TEST_LOG") {
        let _ =
            tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_writer(std::io::stderr).try_init();
    }
}
