//! `POST /v1/users`, `POST /v1/groups`, `GET /v1/groups/{id}/users`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{assert_v1_error, TestApp};

async fn post(app: &TestApp, path: &str, body: Value) -> crate::helpers::Response {
    app.send(app.request(Method::POST, path).json(&body)).await
}

async fn creating_a_user_returns_it(app: TestApp) {
    let body = json!({"email": "T.Durden@FightClub.com", "username": "tdurden", "first_name": "Tyler", "last_name": "Durden"});
    let r = post(&app, "/v1/users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(Uuid::try_parse(r.body["id"].as_str().unwrap()).is_ok());
    assert_eq!(r.body["account_id"], app.tenant.account_id.as_str());
    assert_eq!(r.body["email"], "T.Durden@FightClub.com");
    assert_eq!(r.body["username"], "tdurden");
    assert_eq!(r.body["first_name"], "Tyler");
    assert_eq!(r.body["last_name"], "Durden");
    assert!(r.body["created_at"].is_string());
}

async fn emails_and_usernames_are_unique_per_account_ignoring_case(app: TestApp) {
    assert_eq!(post(&app, "/v1/users", json!({"email": "bob@example.com", "username": "bob"})).await.status, StatusCode::CREATED);
    assert_v1_error(&post(&app, "/v1/users", json!({"email": "BOB@example.com"})).await, 409, "NAME_TAKEN");
    assert_v1_error(&post(&app, "/v1/users", json!({"email": "other@example.com", "username": "BOB"})).await, 409, "NAME_TAKEN");
    // Another account may use the same names.
    let other = app.new_tenant("other");
    app.create_user_in(&other, "bob@example.com", Some("bob")).await;
}

async fn invalid_users_are_400(app: TestApp) {
    let uuid = Uuid::new_v4().to_string();
    let long = "x".repeat(256);
    for body in [
        json!({}),
        json!({"email": ""}),
        json!({"email": "no-at-sign"}),
        json!({"email": 42}),
        json!({"email": "a@example.com", "username": uuid}),
        json!({"email": "a@example.com", "username": "has@sign"}),
        json!({"email": "a@example.com", "username": ""}),
        json!({"email": "a@example.com", "username": long}),
        json!({"email": "a@example.com", "first_name": long}),
        json!([]),
    ] {
        assert_v1_error(&post(&app, "/v1/users", body.clone()).await, 400, "VALIDATION_ERROR");
    }
}

async fn groups_are_created_unique_and_never_uuid_named(app: TestApp) {
    let r = post(&app, "/v1/groups", json!({"name": "Paper Street Soap Company", "description": "Soap"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], "Paper Street Soap Company");
    assert_eq!(r.body["description"], "Soap");
    assert_eq!(r.body["is_system"], false);
    assert_v1_error(&post(&app, "/v1/groups", json!({"name": "paper street SOAP company"})).await, 409, "NAME_TAKEN");
    assert_v1_error(&post(&app, "/v1/groups", json!({"name": "system administrators"})).await, 409, "NAME_TAKEN");
    for body in [
        json!({"name": Uuid::new_v4().to_string()}),
        json!({"name": ""}),
        json!({"name": "x".repeat(256)}),
        json!({"name": "ok", "description": "x".repeat(1001)}),
        json!({"description": "no name"}),
    ] {
        assert_v1_error(&post(&app, "/v1/groups", body).await, 400, "VALIDATION_ERROR");
    }
}

async fn members_are_listed_in_pages_with_a_cursor(app: TestApp) {
    let users = app.create_users(5).await;
    let group = app.create_group("Paged").await;
    let r = app.send(app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!(users))).await;
    assert_eq!(r.status, StatusCode::CREATED);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/groups/{group}/users?limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.send(app.request(Method::GET, &path)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["total"], 5);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(seen, expected, "every member once, in id order");

    for bad in ["limit=0", "limit=1001", "limit=x", "cursor=nope"] {
        let r = app.send(app.request(Method::GET, &format!("/v1/groups/{group}/users?{bad}"))).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
    }
    let empty = app.create_group("Empty").await;
    let r = app.send(app.request(Method::GET, &format!("/v1/groups/{empty}/users"))).await;
    assert_eq!(r.body, json!({"items": [], "total": 0}));
}

backend_tests!(
    creating_a_user_returns_it,
    emails_and_usernames_are_unique_per_account_ignoring_case,
    invalid_users_are_400,
    groups_are_created_unique_and_never_uuid_named,
    members_are_listed_in_pages_with_a_cursor,
);
