//! Observability through the seams: `/metrics` counts requests by route and
//! status class and membership changes (fed by the change hook), and every
//! request carries a request id — echoed, and on every log line it causes.
//! Its own test binary: the metrics recorder is per process, so no other
//! test's requests move the counters read here.

#[path = "api/helpers.rs"]
#[allow(dead_code, reason = "the shared harness has more than this binary uses")]
mod helpers;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helpers::{Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// The sum of a metric's samples whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            (metric == name && wanted).then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let r = app.send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"), "Prometheus text format");
    r.text
}

async fn metrics_count_a_membership_add_and_a_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let group = app.create_group("Metered").await;
    let user = app.create_user("metered@example.com", None).await;
    let route = "/api/security/groups/{groupIdentifier}/users/{userIdentifier}";
    let before = scrape(&app).await;

    let r = app.send(app.request(Method::PUT, &format!("/api/security/groups/{group}/users/{user}"))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Again: idempotent, so no second membership change.
    let r = app.send(app.request(Method::PUT, &format!("/api/security/groups/{group}/users/{user}"))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = app.send(app.request(Method::GET, "/no/such/route")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let after = scrape(&app).await;

    let delta = |name: &str, labels: &[(&str, &str)]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(delta("rollcall_membership_changes_total", &[("kind", "added")]), 1.0, "{after}");
    assert_eq!(delta("rollcall_changes_total", &[("kind", "membership.added")]), 1.0);
    let put = [("route", route), ("method", "PUT"), ("status", "2xx")];
    assert_eq!(delta("rollcall_http_requests_total", &put), 2.0, "{after}");
    assert_eq!(delta("rollcall_http_request_duration_seconds_count", &put), 2.0, "a latency histogram");
    assert!(after.contains("rollcall_http_request_duration_seconds_bucket{"), "buckets, not a summary");
    let missing = [("route", "unmatched"), ("method", "GET"), ("status", "4xx")];
    assert_eq!(delta("rollcall_http_requests_total", &missing), 1.0, "{after}");
    assert!(sample(&after, "rollcall_db_pool_max_connections", &[]) >= 1.0, "pool use: {after}");
    assert!(after.contains("rollcall_db_pool_connections{state=\"in_use\"}"), "{after}");
    if backend == Backend::Sqlite {
        assert!(delta("rollcall_group_commit_batch_size_count", &[]) >= 2.0, "group commit batches: {after}");
        assert!(sample(&after, "rollcall_sqlite_heap_bytes", &[]) > 0.0, "SQLite's heap: {after}");
        assert_eq!(sample(&after, "rollcall_sqlite_heap_limit_bytes", &[]), 32.0 * 1024.0 * 1024.0, "{after}");
    }
    // The batches README names: the two adds, the group's and the user's creation.
    assert!(delta("rollcall_single_add_batch_size_count", &[]) >= 2.0, "single-add batches: {after}");
    assert!(sample(&before, "rollcall_creation_batch_size_count", &[]) >= 2.0, "creation batches: {before}");
    assert!(before.contains("rollcall_creation_batch_size_bucket{"), "buckets: {before}");
}

async fn request_ids_are_taken_when_well_formed_and_made_otherwise(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let rows = [
        ("a client id is echoed", Some("req-7f3a.b_c:1"), true),
        ("spaces are not an id", Some("has spaces"), false),
        ("too long", Some(&*"x".repeat(129)), false),
        ("none sent", None, false),
    ];
    for (label, sent, kept) in rows {
        for path in ["/v1/groups", "/api/security/groups/nope", "/healthz"] {
            let mut request = app.request(Method::GET, path);
            if let Some(id) = sent {
                request = request.header("X-Request-Id", id);
            }
            let r = app.send(request).await;
            let answered = r.headers.get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
            let answered = answered.unwrap_or_else(|| panic!("{label}: {path} answers with a request id"));
            if kept {
                assert_eq!(Some(answered.as_str()), sent, "{label}: {path}");
            } else {
                assert!(uuid::Uuid::try_parse(&answered).is_ok(), "{label}: {path} gets a fresh id, not {answered}");
            }
        }
    }
}

/// The server binary with JSON logs: the line that carries an error id
/// carries the request id too, as does the access line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_on_every_line_of_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--bind", &address, "--workers", "1", "--log-format", "json"])
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("logs.db").display()))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rollcall serve starts");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while client.get(format!("http://{address}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client
        .get(format!("http://{address}/api/security/groups/nope"))
        .header("X-Request-Id", "trace-me-42")
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    let error_id = body["logId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().unwrap();
    let stderr = server.stderr.take().unwrap();
    server.wait().unwrap();
    let lines: Vec<Value> = BufReader::new(stderr).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect();
    let of_request: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == json!("trace-me-42")).collect();
    assert!(of_request.iter().any(|l| l["fields"]["error_id"] == json!(error_id)), "the error line carries the request id: {lines:#?}");
    assert!(of_request.iter().any(|l| l["fields"]["message"] == "served"), "so does the access line: {lines:#?}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "structured lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observability_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        metrics_count_a_membership_add_and_a_404(backend).await;
        request_ids_are_taken_when_well_formed_and_made_otherwise(backend).await;
    }
}
