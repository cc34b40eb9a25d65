//! Bad input, one labelled row each: every row is answered with its status
//! and code in its surface's error body, and none changes anything.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_surface_error, TestApp};

struct Row {
    label: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

fn row(label: &'static str, method: Method, path: String, body: Option<Value>, status: u16, code: &'static str) -> Row {
    Row { label, method, path, body, status, code }
}

async fn every_bad_input_is_refused_with_its_code_and_changes_nothing(app: TestApp) {
    let group = app.create_group("Guarded").await;
    let user = app.create_user("guarded@example.com", Some("guarded")).await;
    let r = app.call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!([user]))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let stranger = uuid::Uuid::new_v4();
    let hundred_and_one: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (m, v1) = ("/api/security", "/v1");
    use Method as H;
    let rows = [
        row("v1 bulk: empty array", H::PUT, format!("{v1}/groups/{group}/users"), Some(json!([])), 400, "VALIDATION_ERROR"),
        row("v1 bulk: 101 ids", H::PUT, format!("{v1}/groups/{group}/users"), Some(json!(hundred_and_one)), 400, "VALIDATION_ERROR"),
        row("v1 bulk: not a uuid", H::PUT, format!("{v1}/groups/{group}/users"), Some(json!(["nope"])), 400, "VALIDATION_ERROR"),
        row(
            "v1 bulk: unhyphenated uuid",
            H::PUT,
            format!("{v1}/groups/{group}/users"),
            Some(json!([stranger.simple().to_string()])),
            400,
            "VALIDATION_ERROR",
        ),
        row("v1 bulk: an object", H::PUT, format!("{v1}/groups/{group}/users"), Some(json!({"ids": [user]})), 400, "VALIDATION_ERROR"),
        row("v1 bulk: unknown user", H::PUT, format!("{v1}/groups/{group}/users"), Some(json!([user, stranger])), 400, "UNKNOWN_USERS"),
        row("v1 bulk: group id not a uuid", H::PUT, format!("{v1}/groups/Guarded/users"), Some(json!([user])), 400, "VALIDATION_ERROR"),
        row("v1 bulk: no such group", H::PUT, format!("{v1}/groups/{stranger}/users"), Some(json!([user])), 404, "GROUP_NOT_FOUND"),
        row("v1 list: limit 0", H::GET, format!("{v1}/groups/{group}/users?limit=0"), None, 400, "VALIDATION_ERROR"),
        row("v1 list: limit 1001", H::GET, format!("{v1}/groups/{group}/users?limit=1001"), None, 400, "VALIDATION_ERROR"),
        row("v1 list: cursor not a uuid", H::GET, format!("{v1}/groups/{group}/users?cursor=x"), None, 400, "VALIDATION_ERROR"),
        row("v1 users: unknown sort", H::GET, format!("{v1}/users?sort=password"), None, 400, "VALIDATION_ERROR"),
        row("v1 users: negative offset", H::GET, format!("{v1}/users?offset=-1"), None, 400, "VALIDATION_ERROR"),
        row("v1 group: empty name", H::POST, format!("{v1}/groups"), Some(json!({"name": ""})), 400, "VALIDATION_ERROR"),
        row("v1 group: name taken (other case)", H::POST, format!("{v1}/groups"), Some(json!({"name": "GUARDED"})), 409, "NAME_TAKEN"),
        row(
            "v1 group: unknown permission",
            H::POST,
            format!("{v1}/groups"),
            Some(json!({"name": "X", "permissions": ["root"]})),
            400,
            "VALIDATION_ERROR",
        ),
        row("v1 user: bad email", H::POST, format!("{v1}/users"), Some(json!({"email": "no-at-sign"})), 400, "VALIDATION_ERROR"),
        row(
            "v1 user: username with @",
            H::POST,
            format!("{v1}/users"),
            Some(json!({"email": "a@b.c", "username": "a@b"})),
            400,
            "VALIDATION_ERROR",
        ),
        row(
            "v1 user: username taken",
            H::POST,
            format!("{v1}/users"),
            Some(json!({"email": "n@b.c", "username": "Guarded"})),
            409,
            "NAME_TAKEN",
        ),
        row("mgmt bulk: empty array", H::POST, format!("{m}/groups/{group}/users/"), Some(json!([])), 400, "VALIDATION_ERROR"),
        row("mgmt bulk: unknown user", H::POST, format!("{m}/groups/Guarded/users"), Some(json!([stranger])), 400, "UNKNOWN_USERS"),
        row("mgmt add: no such user", H::PUT, format!("{m}/groups/Guarded/users/nobody"), None, 404, "USER_NOT_FOUND"),
        row("mgmt add: no such group", H::PUT, format!("{m}/groups/Nowhere/users/guarded"), None, 404, "GROUP_NOT_FOUND"),
        row("mgmt remove: not a member", H::DELETE, format!("{m}/groups/Guarded/users/admin"), None, 404, "NOT_A_MEMBER"),
        row("mgmt nest: into itself", H::PUT, format!("{m}/groups/Guarded/groups/Guarded"), None, 400, "GROUP_CYCLE"),
        row("mgmt nest: unknown child", H::POST, format!("{m}/groups/Guarded/groups"), Some(json!([stranger])), 400, "UNKNOWN_GROUPS"),
        row("mgmt unnest: not a child", H::DELETE, format!("{m}/groups/Guarded/groups/System Administrators"), None, 404, "NOT_A_CHILD"),
        row("mgmt list: page size 0", H::GET, format!("{m}/groups/Guarded/users?pageSize=0"), None, 400, "VALIDATION_ERROR"),
        row("mgmt list: unknown order", H::GET, format!("{m}/users?order=password"), None, 400, "VALIDATION_ERROR"),
        row("mgmt system group: delete", H::DELETE, format!("{m}/groups/System Administrators"), None, 409, "SYSTEM_GROUP"),
        row(
            "mgmt system group: last admin",
            H::DELETE,
            format!("{m}/groups/System Administrators/users/admin"),
            None,
            409,
            "LAST_ADMINISTRATOR",
        ),
    ];
    let members_before = app.membership_snapshot(&group);
    let groups_before = app.call(H::GET, "/v1/groups?limit=1000", None).await.body;
    let users_before = app.call(H::GET, "/v1/users?limit=1000&include_deleted=true", None).await.body;
    for r in rows {
        let answer = app.call(r.method.clone(), &r.path, r.body.clone()).await;
        assert!(
            answer.status.as_u16() == r.status && answer.text.contains(r.code),
            "{}: {} {} answered {} {}",
            r.label,
            r.method,
            r.path,
            answer.status,
            answer.text
        );
        assert_surface_error(&answer, &r.path, r.status, r.code);
    }
    assert_eq!(app.membership_snapshot(&group), members_before, "no membership changed");
    assert_eq!(app.call(H::GET, "/v1/groups?limit=1000", None).await.body, groups_before, "no group changed");
    assert_eq!(app.call(H::GET, "/v1/users?limit=1000&include_deleted=true", None).await.body, users_before, "no user changed");
}

backend_tests!(every_bad_input_is_refused_with_its_code_and_changes_nothing);
