//! Webhooks against a real local HTTP receiver: every event arrives, signed
//! the Standard Webhooks way, in feed order, through failed attempts, a
//! receiver that is down for a while, and a `kill -9` of the server in the
//! middle of delivering; a webhook that keeps failing is disabled (an event);
//! inward destinations are refused unless allowed; administrators only.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, StatusCode};
use rollcall::config::FeedConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::helpers::{assert_v1_error, Backend, TestApp, TestDatabase};

/// One delivery as received.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn cursor(&self) -> u64 {
        self.json()["data"]["cursor"].as_str().unwrap().parse().unwrap()
    }

    /// Verifies the signature as a Standard Webhooks consumer does.
    fn verify(&self, secret: &str) -> bool {
        use hmac::Mac;
        let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

/// A local HTTP receiver: answers 500 to the first `fail_first` posts, is
/// down (the port refuses connections) while `down`, and records each
/// post it answers 200.
#[derive(Clone)]
struct Receiver {
    port: u16,
    fail_first: Arc<AtomicUsize>,
    always_fail: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
    delay: Duration,
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(fail_first: usize, delay: Duration) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            port,
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            always_fail: Arc::default(),
            down: Arc::default(),
            delay,
            received: Arc::default(),
            attempts: Arc::default(),
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                if r.down.load(Ordering::SeqCst) {
                    // Down: nothing listens on the port.
                    listener = None;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let l = match &listener {
                    Some(l) => l,
                    None => {
                        let socket = tokio::net::TcpSocket::new_v4().unwrap();
                        socket.set_reuseaddr(true).unwrap();
                        socket.bind(([127, 0, 0, 1], port).into()).unwrap();
                        listener = Some(socket.listen(64).unwrap());
                        listener.as_ref().unwrap()
                    }
                };
                let accepted = tokio::time::timeout(Duration::from_millis(50), l.accept()).await;
                if let Ok(Ok((stream, _))) = accepted {
                    let r = r.clone();
                    tokio::spawn(async move { r.serve(stream).await });
                }
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let (head_end, length) = loop {
            let Ok(n) = stream.read(&mut chunk).await else { return };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
                break (end + 4, length);
            }
        };
        while buf.len() < head_end + length {
            let Ok(n) = stream.read(&mut chunk).await else { return };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        self.attempts.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        let fail = self.always_fail.load(Ordering::SeqCst)
            || self.fail_first.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        let status = if fail { "500 Internal Server Error" } else { "200 OK" };
        if !fail {
            self.received.lock().unwrap().push(Received {
                id: header(&head, "webhook-id").unwrap_or_default(),
                timestamp: header(&head, "webhook-timestamp").unwrap_or_default(),
                signature: header(&head, "webhook-signature").unwrap_or_default(),
                body: buf[head_end..head_end + length].to_vec(),
            });
        }
        let _ = stream.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until every id in `ids` was received (or the time is up).
    async fn wait_for(&self, ids: &BTreeSet<String>, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            let seen: BTreeSet<String> = got.iter().map(|r| r.id.clone()).collect();
            if ids.is_subset(&seen) || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// Checks what a receiver got against the feed's events: every one arrived,
/// signed, and in order (a redelivery only repeats the latest event).
fn assert_delivered_in_order(received: &[Received], expected: &[Value], secret: &str) -> usize {
    let ids: Vec<String> = expected.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let mut firsts = Vec::new();
    let mut seen = BTreeSet::new();
    for r in received {
        assert!(r.verify(secret), "signature of {} verifies", r.id);
        let body = r.json();
        assert_eq!(body["data"]["id"], r.id.as_str(), "webhook-id is the event id");
        assert_eq!(body["type"], body["data"]["type"]);
        if seen.insert(r.id.clone()) {
            firsts.push(r.id.clone());
        }
    }
    assert_eq!(firsts, ids, "every event, first delivered in feed order");
    let cursors: Vec<u64> = received.iter().map(Received::cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] <= w[1]), "in order, a redelivery only of the latest: {cursors:?}");
    received.len() - ids.len()
}

fn fast_retries() -> FeedConfig {
    FeedConfig {
        webhooks_allow_private: true,
        webhook_retry_base_ms: 100,
        webhook_lease_secs: 3,
        webhook_timeout_secs: 1,
        ..FeedConfig::default()
    }
}

async fn spawn_fast(backend: Backend, feed: FeedConfig) -> Option<TestApp> {
    TestApp::spawn_configured(backend, |_| (), feed).await
}

async fn create_webhook(app: &TestApp, body: Value) -> (String, String, String) {
    let r = app.call(Method::POST, "/v1/webhooks", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
        r.body["cursor"].as_str().unwrap().to_owned(),
    )
}

/// Every event arrives, signed and in order, although the receiver fails
/// the first attempts and is down for a while; the delivery log shows the
/// failures with their next retry; a webhook for one type gets only that.
async fn deliveries_survive_failures_and_downtime(backend: Backend) {
    let Some(app) = spawn_fast(backend, fast_retries()).await else { return };
    let receiver = Receiver::start(3, Duration::ZERO).await;
    let (hook, secret, cursor) = create_webhook(&app, json!({"url": receiver.url(), "description": "all"})).await;
    let only_adds = Receiver::start(0, Duration::ZERO).await;
    let (_, adds_secret, adds_cursor) = create_webhook(&app, json!({"url": only_adds.url(), "event_types": ["membership.added"]})).await;
    let group = app.create_group("Hooked").await;
    let users = app.create_users(10).await;
    let ids: Vec<&str> = users.iter().map(String::as_str).collect();
    let r = app.send(app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!(ids[..5]))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Down for two seconds while more changes are made.
    receiver.down.store(true, Ordering::SeqCst);
    let r = app.send(app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!(ids[5..]))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.create_users(3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    receiver.down.store(false, Ordering::SeqCst);

    let expected = app.events_after(&cursor, 2 + 1 + 10 + 10 + 3).await;
    let want: BTreeSet<String> = expected.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let got = receiver.wait_for(&want, Duration::from_secs(60)).await;
    let repeats = assert_delivered_in_order(&got, &expected, &secret);
    eprintln!(
        "{backend:?}: {} events, {} posts answered 2xx, {repeats} redelivered, {} attempts",
        expected.len(),
        got.len(),
        receiver.attempts.load(Ordering::SeqCst)
    );

    let adds: Vec<Value> = app.events_after(&adds_cursor, 0).await.into_iter().filter(|e| e["type"] == "membership.added").collect();
    assert_eq!(adds.len(), 10);
    let want: BTreeSet<String> = adds.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let got = only_adds.wait_for(&want, Duration::from_secs(30)).await;
    assert_delivered_in_order(&got, &adds, &adds_secret);

    let r = app.call(Method::GET, &format!("/v1/webhooks/{hook}/deliveries?limit=1000"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let log = r.body["items"].as_array().unwrap();
    let failed: Vec<&Value> = log.iter().filter(|d| d["delivered"] == false).collect();
    assert!(failed.iter().filter(|d| d["status_code"] == 500).count() >= 3, "the three 500s are logged: {log:#?}");
    assert!(
        failed.iter().any(|d| d["status_code"].is_null() && d["error"].as_str().is_some_and(|e| !e.is_empty())),
        "a refused connection is logged"
    );
    assert!(failed.iter().all(|d| d["next_retry_at"].is_string()), "each failure says when it is retried");
    assert!(log.iter().any(|d| d["delivered"] == true && d["status_code"] == 200 && d["attempt"].as_i64() > Some(1)));
    let r = app.call(Method::GET, &format!("/v1/webhooks/{hook}"), None).await;
    assert_eq!((r.body["enabled"].clone(), r.body["failures"].clone()), (json!(true), json!(0)), "{}", r.text);
}

/// A webhook failing for longer than the retry window is disabled, which is
/// an event of the system; enabling it again delivers what it missed.
async fn a_webhook_that_keeps_failing_is_disabled(backend: Backend) {
    let feed = FeedConfig { webhook_retry_window_secs: 1, ..fast_retries() };
    let Some(app) = spawn_fast(backend, feed).await else { return };
    let receiver = Receiver::start(0, Duration::ZERO).await;
    receiver.always_fail.store(true, Ordering::SeqCst);
    let (hook, secret, cursor) = create_webhook(&app, json!({"url": receiver.url()})).await;
    app.create_users(2).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let r = app.call(Method::GET, &format!("/v1/webhooks/{hook}"), None).await;
        if r.body["enabled"] == false || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disabled.body["enabled"], false, "{}", disabled.text);
    assert!(disabled.body["disabled_reason"].as_str().is_some_and(|r| r.contains("500")), "{}", disabled.text);
    let events = app.events_after(&cursor, 4).await;
    let off: Vec<&Value> = events.iter().filter(|e| e["type"] == "webhook.disabled").collect();
    assert_eq!(off.len(), 1, "{events:#?}");
    assert_eq!(off[0]["webhook_id"], hook.as_str());
    assert!(off[0]["actor"].is_null());
    let attempts = receiver.attempts.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), attempts, "a disabled webhook gets nothing");

    receiver.always_fail.store(false, Ordering::SeqCst);
    let r = app.call(Method::PATCH, &format!("/v1/webhooks/{hook}"), Some(json!({"enabled": true}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["enabled"].clone(), r.body["failures"].clone(), r.body["disabled_reason"].clone()),
        (json!(true), json!(0), Value::Null)
    );
    let expected = app.events_after(&cursor, events.len() + 1).await;
    let want: BTreeSet<String> = expected.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let got = receiver.wait_for(&want, Duration::from_secs(30)).await;
    assert_delivered_in_order(&got, &expected, &secret);
}

/// Webhooks are for administrators, per account; inward destinations are
/// refused by default; the secret is shown once; updates and deletes work.
async fn webhooks_are_checked_and_managed(app: TestApp) {
    for inward in [
        "http://127.0.0.1/hook",
        "http://localhost:8080/x",
        "https://10.0.0.7/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "http://api.localhost/",
    ] {
        let r = app.call(Method::POST, "/v1/webhooks", Some(json!({"url": inward}))).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
        assert!(r.text.contains("private"), "{inward}: {}", r.text);
    }
    for bad in [
        json!({"url": "ftp://example.com/"}),
        json!({"url": "not a url"}),
        json!({"url": "https://u:p@example.com/"}),
        json!({"url": "https://example.com/", "event_types": []}),
        json!({"url": "https://example.com/", "event_types": ["user.exploded"]}),
        json!({}),
    ] {
        let r = app.call(Method::POST, "/v1/webhooks", Some(bad.clone())).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
    }
    let r = app.call(Method::GET, "/v1/webhooks", None).await;
    assert_eq!(r.body["items"], json!([]), "nothing refused was stored");

    let (hook, secret, _) = create_webhook(
        &app,
        json!({"url": "https://hooks.example.com/rollcall", "event_types": ["user.created", "membership.added"], "description": "sync"}),
    )
    .await;
    assert!(secret.starts_with("whsec_") && base64::engine::general_purpose::STANDARD.decode(&secret[6..]).unwrap().len() == 32);
    let r = app.call(Method::GET, &format!("/v1/webhooks/{hook}"), None).await;
    assert_eq!(r.body["event_types"], json!(["membership.added", "user.created"]), "{}", r.text);
    assert!(!r.text.contains(&secret), "the secret is shown once");
    let r = app
        .call(Method::PATCH, &format!("/v1/webhooks/{hook}"), Some(json!({"event_types": null, "description": null, "enabled": false})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["event_types"].clone(), r.body["description"].clone(), r.body["enabled"].clone()),
        (Value::Null, Value::Null, json!(false))
    );
    let r = app.call(Method::PATCH, &format!("/v1/webhooks/{hook}"), Some(json!({"url": "http://127.0.0.1:9/"}))).await;
    assert_v1_error(&r, 400, "VALIDATION_ERROR");

    // Not an administrator: 403, and nothing is learned; another account: 404.
    let plain = app.create_user("plain@example.com", None).await;
    let token = app.token_for(&app.tenant, &plain);
    for (method, path) in [
        (Method::GET, "/v1/webhooks".to_owned()),
        (Method::GET, format!("/v1/webhooks/{hook}")),
        (Method::DELETE, format!("/v1/webhooks/{hook}")),
        (Method::GET, format!("/v1/webhooks/{hook}/deliveries")),
    ] {
        let r = app.call_as(&app.tenant, &token, method.clone(), &path, None).await;
        assert_v1_error(&r, 403, "FORBIDDEN");
    }
    let r = app.call_as(&app.tenant, &token, Method::POST, "/v1/webhooks", Some(json!({"url": "https://evil.example.com/"}))).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
    let other = app.new_tenant("other");
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{hook}")),
        (Method::PATCH, format!("/v1/webhooks/{hook}")),
        (Method::DELETE, format!("/v1/webhooks/{hook}")),
        (Method::GET, format!("/v1/webhooks/{hook}/deliveries")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": true}));
        let r = app.call_as(&other, &other.token, method, &path, body).await;
        assert_v1_error(&r, 404, "WEBHOOK_NOT_FOUND");
    }
    let r = app.call(Method::DELETE, &format!("/v1/webhooks/{hook}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_v1_error(&app.call(Method::GET, &format!("/v1/webhooks/{hook}"), None).await, 404, "WEBHOOK_NOT_FOUND");
    assert_v1_error(&app.call(Method::GET, "/v1/webhooks/not-a-uuid", None).await, 400, "VALIDATION_ERROR");
}

backend_tests!(webhooks_are_checked_and_managed);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_survive_failures_and_downtime() {
    deliveries_survive_failures_and_downtime(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_survive_failures_and_downtime() {
    deliveries_survive_failures_and_downtime(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_webhook_that_keeps_failing_is_disabled() {
    a_webhook_that_keeps_failing_is_disabled(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_webhook_that_keeps_failing_is_disabled() {
    a_webhook_that_keeps_failing_is_disabled(Backend::Postgres).await;
}

// kill -9 in the middle of delivering.

fn rollcall(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    c.env("DATABASE_URL", db).env("RUST_LOG", "warn").stdin(Stdio::null());
    c
}

fn serve(db: &str, port: u16) -> Child {
    rollcall(db)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--workers", "2"])
        .env("ROLLCALL_WEBHOOKS_ALLOW_PRIVATE", "true")
        .env("ROLLCALL_WEBHOOK_RETRY_BASE_MS", "100")
        .env("ROLLCALL_WEBHOOK_LEASE_SECS", "2")
        .env("ROLLCALL_WEBHOOK_TIMEOUT_SECS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rollcall serve starts")
}

async fn wait_up(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server comes up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server is killed (SIGKILL) while it delivers a burst of events and
/// started again: every event still arrives, signed, in order.
async fn a_kill_9_mid_delivery_loses_nothing(backend: Backend) {
    let Some(db) = TestDatabase::create(backend) else { return };
    let out =
        rollcall(&db.url).args(["bootstrap", "--account", "acme", "--username", "admin", "--email", "admin@example.com"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let boot: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (account, token) = (boot["account_id"].as_str().unwrap().to_owned(), boot["token"].as_str().unwrap().to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let call = |method: Method, path: &str, body: Option<Value>| {
        let mut b = client.request(method, format!("{base}{path}")).bearer_auth(&token).header("x-account-id", &account);
        if let Some(body) = body {
            b = b.json(&body);
        }
        b.send()
    };
    let mut server = serve(&db.url, port);
    wait_up(&client, &base).await;
    // Slow answers, so that the kill lands in the middle of the burst.
    let receiver = Receiver::start(0, Duration::from_millis(15)).await;
    let r = call(Method::POST, "/v1/webhooks", Some(json!({"url": receiver.url()}))).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let hook: Value = r.json().await.unwrap();
    let (secret, cursor) = (hook["secret"].as_str().unwrap().to_owned(), hook["cursor"].as_str().unwrap().to_owned());
    let r = call(Method::POST, "/v1/groups", Some(json!({"name": "Burst"}))).await.unwrap();
    let group = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let mut users = Vec::new();
    for i in 0..100 {
        let r = call(Method::POST, "/v1/users", Some(json!({"email": format!("u{i}@example.com")}))).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        users.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let r = call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!(users))).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // 1 group + 100 users + 100 memberships after the webhook (and its own event).
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().len() < 40 {
        assert!(Instant::now() < deadline, "deliveries start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("kill -9");
    server.wait().unwrap();
    let before_restart = receiver.received().len();
    let mut server = serve(&db.url, port);
    wait_up(&client, &base).await;
    let mut expected: Vec<Value> = Vec::new();
    let mut after = cursor.clone();
    loop {
        let r = call(Method::GET, &format!("/v1/events?after={after}&limit=1000"), None).await.unwrap();
        let page: Value = r.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        expected.extend(items.iter().cloned());
        after = page["next_cursor"].as_str().unwrap().to_owned();
        if expected.len() >= 202 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let want: BTreeSet<String> = expected.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let got = receiver.wait_for(&want, Duration::from_secs(90)).await;
    let repeats = assert_delivered_in_order(&got, &expected, &secret);
    eprintln!(
        "{backend:?}: kill -9 after {before_restart} of {} deliveries; all {} arrived, {repeats} redelivered",
        expected.len(),
        want.len()
    );
    server.kill().ok();
    server.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_kill_9_mid_delivery_loses_nothing() {
    a_kill_9_mid_delivery_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_kill_9_mid_delivery_loses_nothing() {
    a_kill_9_mid_delivery_loses_nothing(Backend::Postgres).await;
}
