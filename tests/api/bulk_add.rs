//! The bulk adds: `POST {mgmt}/groups/{g}/users/` and `PUT /v1/groups/{id}/users`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_v1_error, Response, TestApp};

/// The spellings of a bulk add, with the status each answers on success.
const SPELLINGS: [(&str, &str, u16); 4] = [
    ("POST", "/api/security/groups/{g}/users/", 204),
    ("POST", "/api/security/groups/{g}/users", 204),
    ("POST", "/api/management/security/groups/{g}/users/", 204),
    ("PUT", "/v1/groups/{g}/users", 201),
];

fn bulk_routes(group: &str) -> Vec<(Method, String, StatusCode)> {
    SPELLINGS
        .iter()
        .map(|(method, path, ok)| {
            (Method::from_bytes(method.as_bytes()).unwrap(), path.replace("{g}", group), StatusCode::from_u16(*ok).unwrap())
        })
        .collect()
}

/// Each spelling on a group of its own.
async fn bulk_routes_on_fresh_groups(app: &TestApp) -> Vec<(String, Method, String, StatusCode)> {
    let mut routes = Vec::new();
    for (i, spelling) in SPELLINGS.iter().enumerate() {
        let group = app.create_group(&format!("Group {i}")).await;
        let (method, path, ok) = bulk_routes(&group).swap_remove(i);
        assert_eq!(method.as_str(), spelling.0);
        routes.push((group, method, path, ok));
    }
    routes
}

async fn send_json(app: &TestApp, method: Method, path: &str, body: &Value) -> Response {
    app.send(app.request(method, path).json(body)).await
}

fn assert_surface_error(path: &str, r: &Response, status: u16, code: &str) {
    if path.starts_with("/v1/") {
        assert_v1_error(r, status, code);
    } else {
        assert_management_error(r, status, code);
    }
}

async fn every_spelling_adds_all_users_and_ignores_duplicates_and_members(app: TestApp) {
    let users = app.create_users(6).await;
    for (group, method, path, ok) in bulk_routes_on_fresh_groups(&app).await {
        // u0 is already a member; u1 is listed twice.
        assert_eq!(send_json(&app, method.clone(), &path, &json!([users[0]])).await.status, ok);
        let body = json!([users[0], users[1], users[1], users[2], users[3], users[4], users[5]]);
        let r = send_json(&app, method.clone(), &path, &body).await;
        assert_eq!(r.status, ok, "{method} {path}: {}", r.text);
        let mut expected = users.clone();
        expected.sort();
        assert_eq!(app.membership_rows(&group), expected, "{method} {path}");
        // Idempotent: the same request again changes nothing.
        assert_eq!(send_json(&app, method.clone(), &path, &body).await.status, ok);
        assert_eq!(app.membership_rows(&group), expected);
    }
}

async fn one_unknown_id_rejects_the_whole_bulk_and_lists_every_offender(app: TestApp) {
    let other = app.new_tenant("other");
    let theirs = app.create_user_in(&other, "theirs@example.com", None).await;
    let users = app.create_users(3).await;
    let missing = Uuid::new_v4().to_string();
    for (group, method, path, ok) in bulk_routes_on_fresh_groups(&app).await {
        assert_eq!(send_json(&app, method.clone(), &path, &json!([users[0]])).await.status, ok);
        let before = app.membership_snapshot(&group);
        let body = json!([users[1], missing, users[2], theirs]);
        let r = send_json(&app, method.clone(), &path, &body).await;
        assert_surface_error(&path, &r, 400, "UNKNOWN_USERS");
        if path.starts_with("/v1/") {
            let message = r.body["developer_message"].as_str().unwrap();
            assert!(message.contains(&missing) && message.contains(&theirs), "{message}");
            assert!(!message.contains(&users[1]), "known ids are not listed: {message}");
        } else {
            assert_eq!(r.body["data"]["userIds"], json!([missing, theirs]));
        }
        assert_eq!(app.membership_snapshot(&group), before, "{method} {path}: nothing written");
    }
}

async fn bad_bodies_are_400s_that_change_nothing(app: TestApp) {
    let users = app.create_users(2).await;
    let group = app.create_group("Strict").await;
    let r = send_json(&app, Method::PUT, &format!("/v1/groups/{group}/users"), &json!([users[1]])).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let before = app.membership_snapshot(&group);
    let over_limit: Vec<String> = (0..101).map(|_| Uuid::new_v4().to_string()).collect();
    let over_with_duplicates: Vec<&str> = (0..101).map(|_| users[0].as_str()).collect();
    let bad: Vec<(&str, String)> = vec![
        ("empty array", "[]".into()),
        ("101 ids", json!(over_limit).to_string()),
        ("101 ids counting duplicates", json!(over_with_duplicates).to_string()),
        ("not a uuid", json!(["not-a-uuid"]).to_string()),
        ("a number", "[1]".into()),
        ("null item", "[null]".into()),
        ("an object", json!({"userIds": users}).to_string()),
        ("a string", json!(users[0]).to_string()),
        ("malformed json", "[\"".into()),
        ("empty body", String::new()),
    ];
    for (method, path, _) in bulk_routes(&group) {
        for (what, body) in &bad {
            let request = app.request(method.clone(), &path).header("content-type", "application/json").body(body.clone());
            let r = app.send(request).await;
            assert_surface_error(&path, &r, 400, "VALIDATION_ERROR");
            assert_eq!(app.membership_snapshot(&group), before, "{what} on {path} changed the group");
        }
    }
}

async fn exactly_100_ids_are_accepted(app: TestApp) {
    let users = app.create_users(100).await;
    let group = app.create_group("Hundred").await;
    let r = send_json(&app, Method::PUT, &format!("/v1/groups/{group}/users"), &json!(users)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(app.membership_rows(&group).len(), 100);
}

async fn wrong_content_type_is_a_415_and_oversized_bodies_a_413(app: TestApp) {
    let users = app.create_users(1).await;
    let group = app.create_group("Picky").await;
    let huge = format!("[{}]", vec![format!("\"{}\"", users[0]); 3000].join(","));
    for (method, path, _) in bulk_routes(&group) {
        let r = app.send(app.request(method.clone(), &path).header("content-type", "text/plain").body(json!(users).to_string())).await;
        assert_surface_error(&path, &r, 415, "UNSUPPORTED_MEDIA_TYPE");
        let r = app.send(app.request(method.clone(), &path).header("content-type", "application/json").body(huge.clone())).await;
        assert_surface_error(&path, &r, 413, "PAYLOAD_TOO_LARGE");
    }
    assert!(app.membership_rows(&group).is_empty());
}

async fn missing_groups_are_404_and_v1_wants_a_uuid(app: TestApp) {
    let users = app.create_users(1).await;
    let missing = Uuid::new_v4().to_string();
    for (method, path, _) in bulk_routes(&missing) {
        assert_surface_error(&path, &send_json(&app, method, &path, &json!(users)).await, 404, "GROUP_NOT_FOUND");
    }
    let r = send_json(&app, Method::POST, "/api/security/groups/No%20Such%20Group/users/", &json!(users)).await;
    assert_management_error(&r, 404, "GROUP_NOT_FOUND");
    let r = send_json(&app, Method::PUT, "/v1/groups/not-a-uuid/users", &json!(users)).await;
    assert_v1_error(&r, 400, "VALIDATION_ERROR");
}

backend_tests!(
    every_spelling_adds_all_users_and_ignores_duplicates_and_members,
    one_unknown_id_rejects_the_whole_bulk_and_lists_every_offender,
    bad_bodies_are_400s_that_change_nothing,
    exactly_100_ids_are_accepted,
    wrong_content_type_is_a_415_and_oversized_bodies_a_413,
    missing_groups_are_404_and_v1_wants_a_uuid,
);
