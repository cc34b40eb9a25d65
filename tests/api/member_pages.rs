//! Offset pages of a large group are read from where their stride begins
//! (the server keeps every 256th member of the email order, current while
//! the group's member version is unchanged). Such pages must be
//! exactly the pages read without that copy, in both directions, and every
//! change to the group's members or to a member's email, made on another
//! instance, must show on the first page read after it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Response, TestApp};
use rollcall::db::member_pages;
use rollcall::domain::GroupId;

const M: &str = "/api/security";

fn ids(page: &Response) -> Vec<String> {
    let items = page.body["items"].as_array().unwrap_or_else(|| panic!("no items: {}", page.text));
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// The whole list in `order`, read the way that never uses the copy (a
/// search that every member matches).
async fn whole(app: &TestApp, group: &str, order: &str) -> Vec<String> {
    let r = app.call(Method::GET, &format!("{M}/groups/{group}/users?pageSize=1000&q=example.com&order={order}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    ids(&r)
}

/// Every page of 50 in `order`, read on the instance at `base`, put together.
async fn paged(app: &TestApp, base: &str, group: &str, order: &str, total: usize) -> Vec<String> {
    let mut joined = Vec::new();
    for index in 0..total.div_ceil(50) {
        let path = format!("{M}/groups/{group}/users?pageSize=50&pageIndex={index}&order={order}");
        let r = app.send(app.client.get(format!("{base}{path}")).bearer_auth(&app.tenant.token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["totalCount"].as_u64(), Some(total as u64), "{order} page {index}");
        joined.extend(ids(&r));
    }
    joined
}

async fn deep_pages_are_exact_and_every_change_bites_at_once_on_every_instance(app: TestApp) {
    let other = app.start_another_instance();
    // Two users first in the order, not members yet.
    let early = [app.create_user("aaa0@example.com", None).await, app.create_user("aaa1@example.com", None).await];
    let members = app.create_users(700).await;
    // Users who are not members, among the members in the email order.
    for i in 0..30 {
        app.create_user(&format!("user3{i:02}-outside@example.com"), None).await;
    }
    let group = app.create_group("Large").await;
    for chunk in members.chunks(100) {
        let r = app.call(Method::POST, &format!("{M}/groups/{group}/users"), Some(json!(chunk))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let group_id: GroupId = group.parse().unwrap();
    let check = |what: &'static str, total: usize| {
        let (app, group, other) = (&app, &group, &other);
        async move {
            for order in ["email", "-email"] {
                let expected = whole(app, group, order).await;
                assert_eq!(expected.len(), total, "{what}, {order}");
                for base in [&app.address, other] {
                    let pages = paged(app, base, group, order, total).await;
                    // The first difference, not two lists of 700 ids.
                    let at = pages.iter().zip(&expected).position(|(a, b)| a != b);
                    assert!(at.is_none() && pages.len() == total, "{what}: {order} pages on {base} differ at {at:?}");
                }
            }
        }
    };
    check("as filled", 700).await;
    assert!(member_pages::kept(group_id), "the pages were read from a kept copy");
    // Each change on the other instance, after this one has kept the copy.
    let r = app.send(app.client.put(format!("{other}{M}/groups/{group}/users/{}", early[1])).bearer_auth(&app.tenant.token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    check("a member added before all others", 701).await;
    let r = app.send(app.client.delete(format!("{other}{M}/groups/{group}/users/{}", members[350])).bearer_auth(&app.tenant.token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    check("a member in the middle removed", 700).await;
    let r = app
        .send(
            app.client
                .delete(format!("{other}/v1/users/{}", members[360]))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    check("a member in the middle deleted", 699).await;
    let r = app
        .send(
            app.client
                .post(format!("{other}{M}/groups/{group}/users"))
                .bearer_auth(&app.tenant.token)
                .json(&json!([early[0], members[350]])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    check("two added back in one call", 701).await;
    let path = format!("{other}/v1/users/{}", members[120]);
    let r = app
        .send(
            app.client
                .patch(path)
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id)
                .json(&json!({"email": "zzz@example.com"})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    check("a member's email changed (moved to the end)", 701).await;
    assert!(member_pages::kept(group_id));
}

backend_tests!(deep_pages_are_exact_and_every_change_bites_at_once_on_every_instance);
