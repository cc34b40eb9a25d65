//! A group's member total comes from counters the database keeps beside
//! the memberships (migration 000009): every way memberships change must
//! move it, on both surfaces, also under concurrent writers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

const M: &str = "/api/security";

/// The totals both surfaces give equal the group's membership rows.
async fn assert_totals(app: &TestApp, group: &str, expected: usize, context: &str) {
    let rows = app.membership_rows(group).len();
    assert_eq!(rows, expected, "{context}: membership rows");
    let v1 = app.call(Method::GET, &format!("/v1/groups/{group}/users?limit=2"), None).await;
    assert_eq!(v1.status, StatusCode::OK, "{context}: {}", v1.text);
    assert_eq!(v1.body["total"].as_u64(), Some(expected as u64), "{context}: v1 total {}", v1.text);
    let mgmt = app.call(Method::GET, &format!("{M}/groups/{group}/users?pageSize=2"), None).await;
    assert_eq!(mgmt.status, StatusCode::OK, "{context}: {}", mgmt.text);
    assert_eq!(mgmt.body["totalCount"].as_u64(), Some(expected as u64), "{context}: management total {}", mgmt.text);
}

async fn totals_follow_every_change_of_membership(app: TestApp) {
    let users = app.create_users(6).await;
    let (a, b) = (app.create_group("Counted A").await, app.create_group("Counted B").await);
    assert_totals(&app, &a, 0, "new group").await;

    let r = app.call(Method::PUT, &format!("{M}/groups/{a}/users/{}", users[0]), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.call(Method::PUT, &format!("{M}/groups/{a}/users/{}", users[0]), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_totals(&app, &a, 1, "single add, repeated").await;

    let r = app.call(Method::PUT, &format!("/v1/groups/{a}/users"), Some(json!(users))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.call(Method::PUT, &format!("/v1/groups/{b}/users"), Some(json!(users[..3]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_totals(&app, &a, 6, "bulk add over a member").await;
    assert_totals(&app, &b, 3, "bulk add").await;

    // A rejected bulk (an unknown id) changes nothing.
    let r = app.call(Method::PUT, &format!("/v1/groups/{b}/users"), Some(json!([users[4], uuid::Uuid::new_v4()]))).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert_totals(&app, &b, 3, "rejected bulk").await;

    let r = app.call(Method::DELETE, &format!("{M}/groups/{a}/users/{}", users[5]), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.call(Method::DELETE, &format!("{M}/groups/{a}/users/{}", users[5]), None).await;
    assert!(r.status.is_success() || r.status == StatusCode::NOT_FOUND, "{}", r.text);
    assert_totals(&app, &a, 5, "single remove, repeated").await;

    let r = app.call(Method::DELETE, &format!("/v1/groups/{a}/users"), Some(json!([users[3], users[4], users[5]]))).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_totals(&app, &a, 3, "bulk remove").await;

    // Deleting a user leaves every group they were in.
    let r = app.call(Method::DELETE, &format!("/v1/users/{}", users[0]), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_totals(&app, &a, 2, "user deleted (a)").await;
    assert_totals(&app, &b, 2, "user deleted (b)").await;

    // Deleting a group leaves the others as they were.
    let r = app.call(Method::DELETE, &format!("/v1/groups/{b}"), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_totals(&app, &a, 2, "other group deleted").await;
}

async fn totals_stay_exact_under_concurrent_writers(app: TestApp) {
    let users = app.create_users(24).await;
    let group = app.create_group("Busy").await;
    // 24 writers at once to one group: single adds, then half of them
    // removed while the others are added again (no-ops).
    let paths: Vec<String> = users.iter().map(|u| format!("{M}/groups/{group}/users/{u}")).collect();
    let adds = paths.iter().map(|path| app.call(Method::PUT, path, None));
    for r in futures_util::future::join_all(adds).await {
        assert!(r.status.is_success(), "{}", r.text);
    }
    assert_totals(&app, &group, 24, "concurrent adds").await;
    let mixed = paths.iter().enumerate().map(|(i, path)| {
        let method = if i % 2 == 0 { Method::DELETE } else { Method::PUT };
        app.call(method, path, None)
    });
    for r in futures_util::future::join_all(mixed).await {
        assert!(r.status.is_success(), "{}", r.text);
    }
    assert_totals(&app, &group, 12, "concurrent removes and repeats").await;
}

backend_tests!(totals_follow_every_change_of_membership, totals_stay_exact_under_concurrent_writers);
