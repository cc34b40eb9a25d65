//! The change feed: every change is an event with its fields, written in
//! the change's transaction (an idempotent repeat and a rejected bulk add
//! nothing), paged by cursor exactly once, behind `audit_read`, per account;
//! retention refuses a cursor that missed events.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_v1_error, Tenant, TestApp};

const M: &str = "/api/security";

impl TestApp {
    /// Every event of the tenant's account after `after`, following the feed
    /// with pages of `limit` until it is caught up.
    pub async fn follow_feed(&self, tenant: &Tenant, after: Option<&str>, limit: usize) -> (Vec<Value>, String) {
        let mut cursor = after.map(str::to_owned);
        let mut events = Vec::new();
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/events?limit={limit}&after={c}"),
                None => format!("/v1/events?limit={limit}"),
            };
            let r = self.call_as(tenant, &tenant.token, Method::GET, &path, None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let items = r.body["items"].as_array().unwrap().clone();
            let next = r.body["next_cursor"].as_str().unwrap().to_owned();
            let done = items.len() < limit;
            events.extend(items);
            cursor = Some(next.clone());
            if done {
                return (events, next);
            }
        }
    }

    /// The feed after `after`, once every event committed so far is positioned
    /// (the sequencer runs after commit on PostgreSQL): polls until `count`
    /// events are there, then checks no more come.
    pub async fn events_after(&self, after: &str, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (events, _) = self.follow_feed(&self.tenant, Some(after), 1000).await;
            if events.len() >= count || std::time::Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The feed's cursor now (behind every event committed so far).
    pub async fn feed_head(&self) -> String {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.follow_feed(&self.tenant, None, 1000).await.1
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Each type of change, made over the surfaces, is one event with its
/// subjects, actor (user and API key), request id and changed fields; a
/// bulk add of three with one already there is two events sharing a request
/// id; an idempotent repeat and a rejected bulk add nothing.
async fn every_change_is_an_event_with_its_fields(app: TestApp) {
    let start = app.feed_head().await;
    let admin = app.tenant.admin_id.clone();
    let user = app.create_user("ada@example.com", Some("ada")).await;
    let others = [app.create_user("b@example.com", None).await, app.create_user("c@example.com", None).await];
    let group = app.create_group("Engineers").await;
    let child = app.create_group("Interns").await;
    let r = app.send(app.request(Method::PATCH, &format!("/v1/users/{user}")).json(&json!({"first_name": "Ada"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let put = |ids: Vec<&str>, request_id: &str| {
        app.request(Method::PUT, &format!("/v1/groups/{group}/users")).header("x-request-id", request_id).json(&json!(ids))
    };
    assert_eq!(app.send(put(vec![&user], "add-one")).await.status, StatusCode::CREATED);
    assert_eq!(app.send(put(vec![&user, &others[0], &others[1]], "add-three")).await.status, StatusCode::CREATED);
    // Idempotent repeat, and a bulk with an unknown user: no events.
    assert_eq!(app.send(put(vec![&user, &others[0]], "repeat")).await.status, StatusCode::CREATED);
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = app.send(put(vec![&others[1], &unknown], "rejected")).await;
    assert_v1_error(&r, 400, "UNKNOWN_USERS");
    let r = app.call(Method::PUT, &format!("{M}/groups/{group}/groups/{child}"), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.call(Method::DELETE, &format!("{M}/groups/{group}/groups/{child}"), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.send(app.request(Method::DELETE, &format!("/v1/groups/{group}/users")).json(&json!([others[0]]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Sign-in events: a key made, used (its id is the actor), revoked.
    let r = app.call(Method::POST, "/v1/api-keys", Some(json!({"name": "ci"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (key, secret) = (r.body["id"].as_str().unwrap().to_owned(), r.body["secret"].as_str().unwrap().to_owned());
    let grant = app
        .send(app.client.post(app.url("/authenticate/connect/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", key.as_str()),
            ("client_secret", secret.as_str()),
        ]))
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.text);
    let key_token = grant.body["access_token"].as_str().unwrap().to_owned();
    let r = app.call_as(&app.tenant, &key_token, Method::PATCH, &format!("/v1/groups/{child}"), Some(json!({"description": "new"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.call(Method::DELETE, &format!("/v1/api-keys/{key}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "suspend"}))).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.call(Method::POST, &format!("{M}/users/{user}/credentials/password"), Some(json!({"new": "a long new password"}))).await;
    assert!(r.status.is_success(), "{}", r.text);
    // Deleting a group and a user ends their memberships: each is an event.
    let r = app.call(Method::DELETE, &format!("/v1/groups/{group}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let holder = app.create_group("Holders").await;
    assert_eq!(
        app.send(app.request(Method::PUT, &format!("/v1/groups/{holder}/users")).json(&json!([others[1]]))).await.status,
        StatusCode::CREATED
    );
    let r = app.call(Method::DELETE, &format!("/v1/users/{}", others[1]), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    let events = app.events_after(&start, 25).await;
    assert_eq!(
        kinds(&events),
        [
            "user.created",
            "user.created",
            "user.created",
            "group.created",
            "group.created",
            "user.updated",
            "membership.added",
            "membership.added",
            "membership.added",
            "group.nested",
            "group.unnested",
            "membership.removed",
            "api_key.created",
            "group.updated",
            "api_key.revoked",
            "user.suspended",
            "user.password_changed",
            "membership.removed",
            "membership.removed",
            "group.deleted",
            "group.created",
            "membership.added",
            "membership.removed",
            "user.deleted",
        ],
        "{events:#?}"
    );
    let account = &app.tenant.account_id;
    for e in &events {
        assert_eq!(&e["account_id"], account, "{e}");
        assert!(uuid::Uuid::parse_str(e["id"].as_str().unwrap()).is_ok(), "{e}");
        assert!(chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).is_ok(), "{e}");
        assert!(e["request_id"].as_str().is_some_and(|r| !r.is_empty()), "every change here came from a request: {e}");
        assert!(!e.to_string().contains(&secret) && !e.to_string().contains("a long new password"), "never a secret: {e}");
    }
    let by_admin = |e: &Value| e["actor"]["user_id"] == admin.as_str() && e["actor"]["api_key_id"].is_null();
    assert!(events.iter().filter(|e| e["type"] != "group.updated").all(by_admin), "{events:#?}");
    // The key's own call names the key.
    assert_eq!(events[13]["actor"], json!({"user_id": admin, "api_key_id": key}));
    assert_eq!(events[13]["group_id"], child.as_str());
    assert_eq!(events[13]["fields"], json!(["description"]));
    assert_eq!(events[0]["user_id"], user.as_str());
    assert_eq!(events[5]["fields"], json!(["first_name"]));
    assert_eq!(events[5]["user_id"], user.as_str());
    // One add, then the bulk's two new members with one request id.
    assert_eq!((&events[6]["request_id"], &events[6]["user_id"], &events[6]["group_id"]), (&json!("add-one"), &json!(user), &json!(group)));
    let bulk: std::collections::BTreeSet<String> = events[7..9].iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(bulk, others.iter().cloned().collect());
    assert!(events[7..9].iter().all(|e| e["request_id"] == "add-three"), "{events:#?}");
    assert!(!events.iter().any(|e| e["request_id"] == "repeat" || e["request_id"] == "rejected"), "{events:#?}");
    assert_eq!((&events[9]["group_id"], &events[9]["child_group_id"]), (&json!(group), &json!(child)));
    assert_eq!(events[12]["api_key_id"], key.as_str());
    assert_eq!(events[12]["user_id"], admin.as_str());
    assert_eq!(events[16]["user_id"], user.as_str());
    // The group's deletion removes its remaining members (ada, c) first.
    let removed: std::collections::BTreeSet<String> = events[17..19].iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(removed, [user.clone(), others[1].clone()].into_iter().collect());
    assert_eq!(events[19]["group_id"], group.as_str());
    assert_eq!((&events[22]["group_id"], &events[22]["user_id"]), (&json!(holder), &json!(others[1])));
    assert_eq!(events[23]["user_id"], others[1].as_str());
    // Cursors grow, and each names its event's place.
    let cursors: Vec<u64> = events.iter().map(|e| e["cursor"].as_str().unwrap().parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let resumed = app.events_after(&cursors[10].to_string(), 13).await;
    assert_eq!(resumed.first().map(|e| &e["id"]), Some(&events[11]["id"]));
}

/// A user locked by failed password sign-ins is an event of the system
/// (no actor), with the sign-in's request id.
async fn a_lockout_is_an_event_without_an_actor(app: TestApp) {
    let r = app
        .call(
            Method::POST,
            &format!("{M}/users"),
            Some(json!({"email": "l@example.com", "username": "locky", "credentials": {"password": "right password here"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let user = r.body["id"].as_str().unwrap().to_owned();
    let start = app.feed_head().await;
    for _ in 0..5 {
        let form = [("grant_type", "contensis_classic"), ("username", "locky"), ("password", "wrong"), ("scope", "openid")];
        let r = app.send(app.client.post(app.url("/authenticate/connect/token")).header("x-request-id", "guess").form(&form)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
    let events = app.events_after(&start, 1).await;
    assert_eq!(kinds(&events), ["user.locked"], "{events:#?}");
    assert_eq!(events[0]["user_id"], user.as_str());
    assert!(events[0]["actor"].is_null(), "{}", events[0]);
    assert_eq!(events[0]["request_id"], "guess");
}

/// The feed needs `audit_read` (or administrator); each account sees only
/// its own events; pages of any size give every event exactly once; filters
/// narrow; bad parameters are 400s in the v1 error body.
async fn the_feed_is_per_account_behind_audit_read_and_pages_exactly_once(app: TestApp) {
    let other = app.new_tenant("other");
    let users = app.create_users(5).await;
    let group = app.create_group("G").await;
    for u in &users {
        assert_eq!(
            app.send(app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!([u]))).await.status,
            StatusCode::CREATED
        );
    }
    // And all five at once elsewhere: one change of five events (pages
    // below start and end inside it).
    let team = app.create_group("Team").await;
    assert_eq!(
        app.send(app.request(Method::PUT, &format!("/v1/groups/{team}/users")).json(&json!(users))).await.status,
        StatusCode::CREATED
    );
    app.create_user_in(&other, "x@other.example", None).await;
    let (all, _) = {
        app.events_after("0", 18).await;
        app.follow_feed(&app.tenant, None, 1000).await
    };
    assert!(all.iter().all(|e| e["account_id"] == app.tenant.account_id.as_str()), "only its own account");
    for limit in [1, 2, 7] {
        let (paged, _) = app.follow_feed(&app.tenant, None, limit).await;
        let ids = |v: &[Value]| v.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(&paged), ids(&all), "pages of {limit}");
    }
    let (theirs, _) = app.follow_feed(&other, None, 1000).await;
    assert!(!theirs.is_empty() && theirs.iter().all(|e| e["account_id"] == other.account_id.as_str()));

    // Filters.
    let a = &app;
    let only = |q: &str| {
        let path = format!("/v1/events?{q}");
        async move { a.call(Method::GET, &path, None).await }
    };
    let r = only("type=membership.added").await;
    // The administrator's own membership of System Administrators, and the five twice.
    assert_eq!(r.body["items"].as_array().unwrap().len(), 11, "{}", r.text);
    let r = only(&format!("user_id={}", users[2])).await;
    assert_eq!(kinds(r.body["items"].as_array().unwrap()), ["user.created", "membership.added", "membership.added"], "{}", r.text);
    assert_eq!(r.body["items"][2]["group_id"], team.as_str(), "{}", r.text);
    assert!(r.body["items"].as_array().unwrap().iter().all(|e| e["user_id"] == users[2].as_str()), "{}", r.text);
    let r = only(&format!("group_id={team}&type=membership.added&limit=3")).await;
    let first = r.body["items"].as_array().unwrap().iter().map(|e| e["user_id"].clone()).collect::<Vec<_>>();
    let r = only(&format!("group_id={team}&type=membership.added&after={}", r.body["next_cursor"].as_str().unwrap())).await;
    let rest = r.body["items"].as_array().unwrap().iter().map(|e| e["user_id"].clone()).collect::<Vec<_>>();
    let mut paged: Vec<String> = [first, rest].concat().iter().map(|u| u.as_str().unwrap().to_owned()).collect();
    paged.sort();
    let mut five = users.clone();
    five.sort();
    assert_eq!(paged, five, "the bulk's five events, split across pages, each once");
    let r = only(&format!("group_id={group}&type=membership.added&limit=2")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{}", r.text);
    for bad in ["after=abc", "after=-1", "limit=0", "limit=1001", "type=membership.exploded", "group_id=nope", "user_id=1"] {
        assert_v1_error(&only(bad).await, 400, "VALIDATION_ERROR");
    }

    // Without audit_read: 403; granted through a group: 200.
    let auditor = app.create_user("auditor@example.com", None).await;
    let token = app.token_for(&app.tenant, &auditor);
    let r = app.call_as(&app.tenant, &token, Method::GET, "/v1/events", None).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
    let auditors = app.create_group("Auditors").await;
    app.grant(&auditors, "audit_read");
    assert_eq!(
        app.send(app.request(Method::PUT, &format!("/v1/groups/{auditors}/users")).json(&json!([auditor]))).await.status,
        StatusCode::CREATED
    );
    let r = app.call_as(&app.tenant, &token, Method::GET, "/v1/events?limit=1", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // audit_read reads; it does not manage webhooks.
    let r = app.call_as(&app.tenant, &token, Method::GET, "/v1/webhooks", None).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
}

/// Retention removes old events without a gap going unnoticed: a cursor
/// from before the pruned events is 410 `CURSOR_EXPIRED`; starting afresh
/// (no `after`) works, and so does a cursor past what was pruned.
async fn a_cursor_from_before_pruned_events_is_refused(app: TestApp) {
    app.create_users(3).await;
    // Every event so far (on PostgreSQL the last may take a sequencing round).
    let events = app.events_after("0", 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = app.events_after(events.last().unwrap()["cursor"].as_str().unwrap(), 0).await.into_iter().fold(events, |mut all, e| {
        all.push(e);
        all
    });
    let first = events[0]["cursor"].as_str().unwrap().to_owned();
    let last = events.last().unwrap()["cursor"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cutoff = rollcall::engine::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let kept = app.create_user("kept@example.com", None).await;
    // In rounds of two, as the background pruning does in larger ones: it
    // stops at the first event younger than the cutoff.
    let mut removed = 0;
    loop {
        let n = rollcall::db::events::prune(&mut app.pool.get().unwrap(), cutoff, 2).expect("prune");
        if n == 0 {
            break;
        }
        removed += n;
    }
    assert!(removed >= events.len(), "{removed}");
    let r = app.call(Method::GET, &format!("/v1/events?after={first}"), None).await;
    assert_v1_error(&r, 410, "CURSOR_EXPIRED");
    // (On PostgreSQL the kept event may still wait for its sequencing round.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let r = loop {
        let r = app.call(Method::GET, "/v1/events", None).await;
        if r.body["items"].as_array().is_none_or(|items| !items.is_empty()) || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(kinds(r.body["items"].as_array().unwrap()), ["user.created"], "only the event after the cutoff is left: {}", r.text);
    assert_eq!(r.body["items"][0]["user_id"], kept.as_str(), "{}", r.text);
    let r = app.call(Method::GET, &format!("/v1/events?after={last}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.create_user("after@example.com", None).await;
    assert_eq!(kinds(&app.events_after(&last, 2).await), ["user.created", "user.created"], "the kept one and the new one");
}

backend_tests!(
    every_change_is_an_event_with_its_fields,
    a_lockout_is_an_event_without_an_actor,
    the_feed_is_per_account_behind_audit_read_and_pages_exactly_once,
    a_cursor_from_before_pruned_events_is_refused,
);

/// The PostgreSQL sequencer's head row: its row version (`xmin`, new with
/// every write of it), the last position handed out, and how many events
/// wait for theirs.
fn sequencer_state(app: &TestApp) -> (String, i64, i64) {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Head {
        #[diesel(sql_type = Text)]
        version: String,
        #[diesel(sql_type = BigInt)]
        last: i64,
        #[diesel(sql_type = BigInt)]
        waiting: i64,
    }
    let mut conn = app.pool.get().expect("connection");
    let rollcall::db::Conn::Postgres(c) = &mut conn else { panic!("a PostgreSQL test") };
    let head: Head = diesel::sql_query(
        "SELECT xmin::text AS version, last, (SELECT count(*) FROM events WHERE pos IS NULL) AS waiting FROM event_head WHERE id = 1",
    )
    .get_result(&mut **c)
    .expect("the head row");
    (head.version, head.last, head.waiting)
}

/// Waits (at most 10 s) until every event is numbered and the head row has
/// stayed the same for 0.5 s (about 15 of the sequencer's idle rounds).
async fn settled(app: &TestApp) -> (String, i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut before = sequencer_state(app);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = sequencer_state(app);
        if now == before && now.2 == 0 {
            return (now.0, now.1);
        }
        assert!(std::time::Instant::now() < deadline, "the sequencer kept writing its head row while idle: {before:?} then {now:?}");
        before = now;
    }
}

/// An idle PostgreSQL instance's sequencer (a round every ~30 ms, for other
/// instances' commits) writes nothing, so its rounds commit without flushing
/// the WAL; it still numbers the next change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_idle_sequencer_writes_nothing() {
    let Some(app) = TestApp::spawn(crate::helpers::Backend::Postgres).await else { return };
    let (_, last) = settled(&app).await;
    app.create_user("idle@example.com", None).await;
    let (_, numbered) = settled(&app).await;
    assert!(numbered > last, "the change after the idle rounds was numbered: {last} then {numbered}");
}
