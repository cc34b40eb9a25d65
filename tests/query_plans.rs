//! Every statement the server runs reaches its rows through an index, on
//! SQLite, whatever statistics were in the file before the server started.
//!
//! A server is started on a database whose planner statistics were gathered
//! while it was nearly empty (as a stray `ANALYZE` would leave them: they
//! make SQLite scan `memberships` for every permission check and member
//! page). Every operation family is then exercised over HTTP while diesel's
//! instrumentation records each statement, and each recorded statement is
//! explained on one of the server's own connections: none may scan a table
//! of tenant data.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::BTreeSet;
use std::sync::Mutex;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

static STATEMENTS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn record() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text.split(" -- binds: ").next().unwrap_or_default().trim().to_owned();
            STATEMENTS.lock().unwrap().insert(sql);
        }
    }))
}

/// Tables that grow with tenants' data.
/// (`webhooks` is not one of them: the dispatcher reads every enabled
/// webhook of the deployment each round, at most 100 an account.)
const DATA_TABLES: &[&str] = &[
    "accounts",
    "users",
    "groups",
    "group_permissions",
    "memberships",
    "group_children",
    "api_keys",
    "sessions",
    "events",
    "event_retention",
    "webhook_deliveries",
];

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    id: i32,
    #[diesel(sql_type = Text)]
    detail: String,
}

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = app.call(method.clone(), path, body).await;
    assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.text);
    r.body
}

/// Calls each operation family of both surfaces once or twice.
async fn exercise(app: &TestApp) {
    const M: &str = "/api/security";
    let users = app.create_users(30).await;
    let engineering = app.create_group("engineering").await;
    ok(app, Method::PUT, &format!("/v1/groups/{engineering}/users"), Some(json!(users[..20]))).await;
    ok(app, Method::PUT, &format!("{M}/groups/{engineering}/users/{}", users[25]), None).await;
    ok(app, Method::POST, &format!("{M}/groups/{engineering}/users"), Some(json!(users[20..24]))).await;
    ok(app, Method::GET, &format!("/v1/groups/{engineering}/users?limit=5"), None).await;
    let page = ok(app, Method::GET, &format!("/v1/groups/{engineering}/users?limit=5"), None).await;
    let cursor = page["next_cursor"].as_str().expect("a next cursor").to_owned();
    ok(app, Method::GET, &format!("/v1/groups/{engineering}/users?limit=5&cursor={cursor}"), None).await;
    ok(app, Method::DELETE, &format!("/v1/groups/{engineering}/users"), Some(json!(users[..2]))).await;
    ok(app, Method::DELETE, &format!("{M}/groups/{engineering}/users/{}", users[25]), None).await;

    // Users and groups on v1.
    ok(app, Method::GET, "/v1/users?limit=10&offset=5&sort=-email&email=example", None).await;
    ok(app, Method::GET, "/v1/users?name=Test&sort=username&include_deleted=true", None).await;
    ok(app, Method::GET, &format!("/v1/users/{}", users[3]), None).await;
    ok(app, Method::PATCH, &format!("/v1/users/{}", users[3]), Some(json!({"first_name": "Renamed"}))).await;
    ok(app, Method::GET, &format!("/v1/users/{}/groups", users[3]), None).await;
    ok(app, Method::DELETE, &format!("/v1/users/{}", users[4]), None).await;
    ok(app, Method::GET, &format!("/v1/users/{}?include_deleted=true", users[4]), None).await;
    ok(app, Method::GET, "/v1/groups?limit=10&name=eng&sort=-name", None).await;
    ok(app, Method::GET, &format!("/v1/groups/{engineering}"), None).await;
    ok(app, Method::PATCH, &format!("/v1/groups/{engineering}"), Some(json!({"description": "builders"}))).await;

    // The management surface: groups, users, nesting, inherited listings.
    let platform = ok(app, Method::POST, &format!("{M}/groups/"), Some(json!({"name": "platform", "permissions": ["user_read"]}))).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sre = ok(app, Method::POST, &format!("{M}/groups/"), Some(json!({"name": "sre"}))).await["id"].as_str().unwrap().to_owned();
    ok(app, Method::PUT, &format!("{M}/groups/{engineering}/groups/{platform}"), None).await;
    ok(app, Method::POST, &format!("{M}/groups/{platform}/groups"), Some(json!([sre]))).await;
    ok(app, Method::PUT, &format!("{M}/groups/sre/users/{}", users[26]), None).await;
    ok(app, Method::GET, &format!("{M}/groups/?pageIndex=0&pageSize=5&order=-createdAt&q=e"), None).await;
    ok(app, Method::GET, &format!("{M}/groups/platform"), None).await;
    ok(
        app,
        Method::PUT,
        &format!("{M}/groups/platform"),
        Some(json!({"name": "platform", "description": "paved roads", "permissions": ["user_read"]})),
    )
    .await;
    ok(app, Method::GET, &format!("{M}/groups/engineering/groups?includeInherited=true&includeSelf=true"), None).await;
    ok(app, Method::GET, &format!("{M}/groups/engineering/users?pageSize=5&pageIndex=1&order=-email&q=example"), None).await;
    ok(app, Method::GET, &format!("{M}/groups/engineering/users?includeInherited=true&excludedGroups=sre"), None).await;
    ok(app, Method::HEAD, &format!("{M}/groups/engineering/users/{}", users[26]), None).await;
    ok(app, Method::GET, &format!("{M}/users?pageSize=5&order=username&q=example"), None).await;
    ok(app, Method::POST, &format!("{M}/users"), Some(json!({"email": "t.durden@fightclub.com", "username": "tdurden"}))).await;
    ok(app, Method::GET, &format!("{M}/users/tdurden"), None).await;
    ok(
        app,
        Method::PUT,
        &format!("{M}/users/tdurden"),
        Some(json!({"email": "tyler@fightclub.com", "username": "tdurden", "firstName": "Tyler"})),
    )
    .await;
    ok(app, Method::GET, &format!("{M}/users/{}/groups?includeInherited=true", users[26]), None).await;
    ok(app, Method::HEAD, &format!("{M}/users/{}/groups/engineering,sre", users[26]), None).await;
    ok(app, Method::DELETE, &format!("{M}/groups/platform/groups/sre"), None).await;
    ok(app, Method::DELETE, &format!("{M}/users/tdurden"), None).await;

    // A caller who is not an administrator: its permission comes from a
    // parent group (platform, user_read) through its membership of sre.
    ok(app, Method::PUT, &format!("{M}/groups/{platform}/groups/{sre}"), None).await;
    let token = app.token_for(&app.tenant, &users[26]);
    let r = app.send(app.request_as(&app.tenant, &token, Method::GET, &format!("/v1/users/{}", users[5]))).await;
    assert_eq!(r.status, StatusCode::OK, "inherited user_read: {}", r.text);
    let r = app
        .send(app.request_as(&app.tenant, &token, Method::PUT, &format!("/v1/groups/{engineering}/users")).json(&json!([users[6]])))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    ok(app, Method::DELETE, &format!("/v1/groups/{sre}"), None).await;

    // Signing in: keys, the three grants, a failure, revocation, suspension.
    let key = ok(app, Method::POST, "/v1/api-keys", Some(json!({"user_id": users[7]}))).await;
    let (key_id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    ok(app, Method::GET, "/v1/api-keys", None).await;
    ok(app, Method::GET, &format!("/v1/api-keys?user_id={}", users[7]), None).await;
    // SCIM: the lookups identity providers make on every provisioning cycle.
    const U: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    let made = ok(
        app,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [U], "userName": "ann@contoso.com", "externalId": "e1", "emails": [{"value": "ann@contoso.com"}]})),
    )
    .await;
    let ann = made["id"].as_str().unwrap().to_owned();
    for filter in ["userName%20eq%20%22ann%40contoso.com%22", "externalId%20eq%20%22e1%22", &format!("id%20eq%20%22{ann}%22")] {
        ok(app, Method::GET, &format!("/scim/v2/Users?filter={filter}"), None).await;
    }
    ok(app, Method::GET, "/scim/v2/Users?startIndex=3&count=5", None).await;
    let g = ok(
        app,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "scim team", "members": [{"value": ann}]})),
    )
    .await;
    let g = g["id"].as_str().unwrap().to_owned();
    let check = format!("id%20eq%20%22{g}%22%20and%20members%5Bvalue%20eq%20%22{ann}%22%5D");
    ok(app, Method::GET, &format!("/scim/v2/Groups?filter={check}&excludedAttributes=members"), None).await;
    ok(app, Method::GET, "/scim/v2/Groups?filter=displayName%20eq%20%22scim%20team%22", None).await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": users[9]}]}, {"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]});
    ok(app, Method::PATCH, &format!("/scim/v2/Groups/{g}"), Some(patch)).await;
    ok(app, Method::GET, &format!("/scim/v2/Users/{ann}"), None).await;
    let grant = |form: Vec<(&str, &str)>| app.send(app.client.post(app.url("/authenticate/connect/token")).form(&form));
    let r = grant(vec![("grant_type", "client_credentials"), ("client_id", key_id), ("client_secret", secret)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = json!({"email": "pw@example.com", "username": "pw", "credentials": {"password": "a long password"}});
    let pw = ok(app, Method::POST, &format!("{M}/users"), Some(body)).await;
    let r = grant(vec![("grant_type", "password"), ("username", "pw"), ("password", "wrong password"), ("scope", "offline_access")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = grant(vec![("grant_type", "password"), ("username", "pw"), ("password", "a long password"), ("scope", "offline_access")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = grant(vec![("grant_type", "refresh_token"), ("refresh_token", r.body["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let pw_id = pw["id"].as_str().unwrap();
    ok(app, Method::POST, &format!("{M}/users/{pw_id}/credentials/password"), Some(json!({"new": "another long password"}))).await;
    for action in ["suspend", "unsuspend", "unlock", "setPasswordToExpirable"] {
        ok(app, Method::POST, &format!("{M}/users/{pw_id}/actions"), Some(json!({"type": action}))).await;
    }
    ok(app, Method::DELETE, &format!("/v1/api-keys/{key_id}"), None).await;

    // The change feed, with each filter, and webhooks.
    let page = ok(app, Method::GET, "/v1/events?limit=5", None).await;
    let after = page["next_cursor"].as_str().expect("a next cursor").to_owned();
    ok(app, Method::GET, &format!("/v1/events?after={after}&limit=50"), None).await;
    ok(app, Method::GET, &format!("/v1/events?type=membership.added&group_id={engineering}"), None).await;
    ok(app, Method::GET, &format!("/v1/events?after={after}&user_id={}", users[3]), None).await;
    let hook = ok(
        app,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://hooks.example.com/rollcall", "event_types": ["membership.added"]})),
    )
    .await;
    let hook = hook["id"].as_str().unwrap().to_owned();
    ok(app, Method::GET, "/v1/webhooks", None).await;
    ok(app, Method::GET, &format!("/v1/webhooks/{hook}"), None).await;
    ok(app, Method::PATCH, &format!("/v1/webhooks/{hook}"), Some(json!({"description": "sync", "enabled": true}))).await;
    ok(app, Method::GET, &format!("/v1/webhooks/{hook}/deliveries"), None).await;
    ok(app, Method::DELETE, &format!("/v1/webhooks/{hook}"), None).await;
    let mut conn = app.pool.get().unwrap();
    rollcall::db::events::prune(&mut conn, rollcall::engine::now() - chrono::Duration::days(1), 100).expect("prune");
    rollcall::db::webhooks::prune_deliveries(&mut conn, rollcall::engine::now() - chrono::Duration::days(1)).expect("prune deliveries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statements_use_indexes_whatever_the_statistics() {
    set_default_instrumentation(record).expect("instrumentation");
    let first = TestApp::spawn(Backend::Sqlite).await.expect("sqlite is always available");
    // Statistics of a nearly empty database, gathered on purpose; this
    // connection (of the first server) plans with them from now on.
    let mut old = first.pool.get().unwrap();
    rollcall::with_conn!(&mut old, |c| c.batch_execute("ANALYZE")).expect("analyze");
    let samples = |conn: &mut rollcall::db::Conn| -> i64 {
        rollcall::with_conn!(conn, |c| diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM sqlite_stat4)"))
            .get_result(c))
        .expect("sqlite_stat4 exists after ANALYZE")
    };
    assert!(samples(&mut old) > 0, "the stray ANALYZE took key samples");
    // The server a restart brings up on that file.
    let app = first.restart();
    assert_eq!(samples(&mut app.pool.get().unwrap()), 0, "the restart dropped the stray samples");
    STATEMENTS.lock().unwrap().clear();
    exercise(&app).await;

    let statements = std::mem::take(&mut *STATEMENTS.lock().unwrap());
    assert!(statements.len() > 40, "only {} distinct statements were recorded", statements.len());
    // The first server's connection sees the new statistics too once it
    // runs a statement (the schema changed under it), as another process
    // on the same file would.
    rollcall::with_conn!(&mut old, |c| c.batch_execute("SELECT COUNT(*) FROM accounts")).unwrap();
    let mut scans = Vec::new();
    for (server, mut conn) in [("restarted", app.pool.get().unwrap()), ("first", old)] {
        for sql in &statements {
            if !["SELECT", "INSERT", "UPDATE", "DELETE"].iter().any(|verb| sql.starts_with(verb)) {
                continue;
            }
            let plan: Vec<PlanStep> = rollcall::with_conn!(&mut conn, |c| diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(c))
                .unwrap_or_else(|e| panic!("explain {sql}: {e}"));
            for step in plan {
                let scanned = step.detail.strip_prefix("SCAN ").and_then(|rest| rest.split(' ').next());
                // A walk of the primary key from its start that LIMIT stops
                // (retention's oldest events) reads only the rows it returns.
                let bounded = scanned.is_some_and(|table| sql.ends_with(&format!("FROM `{table}` ORDER BY `{table}`.`seq` ASC LIMIT ?")));
                if scanned.is_some_and(|table| DATA_TABLES.contains(&table)) && !bounded {
                    scans.push(format!("{server} server: {}\n    in: {sql}", step.detail));
                }
            }
        }
    }
    assert!(scans.is_empty(), "{} statements scan a table:\n{}", scans.len(), scans.join("\n"));
}

#[derive(QueryableByName, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct IndexName {
    #[diesel(sql_type = Text)]
    tbl_name: String,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SchemaVersion {
    #[diesel(sql_type = Integer)]
    schema_version: i32,
}

/// The pinned statistics name every index of the schema (a new index without
/// them would be planned from SQLite's guesses), and a start that finds them
/// in place changes nothing (other connections keep their plans).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statistics_cover_every_index_and_are_written_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite is always available");
    let mut conn = app.pool.get().unwrap();
    let mut indexes: Vec<IndexName> = rollcall::with_conn!(&mut conn, |c| diesel::sql_query(
        "SELECT tbl_name, name FROM sqlite_schema WHERE type = 'index' AND tbl_name NOT LIKE '%diesel%'"
    )
    .load(c))
    .unwrap();
    indexes.sort();
    let mut pinned: Vec<IndexName> =
        rollcall::db::statistics::PINNED.iter().map(|(tbl, idx, _)| IndexName { tbl_name: (*tbl).into(), name: (*idx).into() }).collect();
    pinned.sort();
    assert_eq!(indexes, pinned);

    let version = |conn: &mut rollcall::db::Conn| -> i32 {
        let row: SchemaVersion =
            rollcall::with_conn!(conn, |c| diesel::sql_query("SELECT schema_version FROM pragma_schema_version").get_result(c)).unwrap();
        row.schema_version
    };
    let before = version(&mut conn);
    app.pool.migrate().expect("second start");
    assert_eq!(version(&mut conn), before, "a start that found the statistics in place changed the schema");
}
