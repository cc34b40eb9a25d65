//! Tokens, the v1 account header, permissions and tenant isolation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use rollcall::tokens::Claims;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_surface_error, assert_v1_error, TestApp, SECRET};

fn claims(app: &TestApp, exp_offset: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: app.tenant.admin_id.clone(),
        acc: app.tenant.account_id.clone(),
        exp: now + exp_offset,
        iat: now,
        iss: "rollcall".into(),
        kid: None,
        sid: None,
        ep: 0,
    }
}

fn sign(claims: &impl serde::Serialize, secret: &[u8], alg: Algorithm) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn unsigned(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{body}.")
}

/// Every way a token can be wrong, as (what, Authorization header value).
fn bad_authorizations(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    let good = claims(app, 3600);
    let mut wrong_issuer = good.clone();
    wrong_issuer.iss = "someone-else".into();
    let mut not_a_user = good.clone();
    not_a_user.sub = "admin".into();
    vec![
        ("missing", None),
        ("not bearer", Some(format!("Basic {}", URL_SAFE_NO_PAD.encode("admin:admin")))),
        ("empty bearer", Some("Bearer ".into())),
        ("malformed", Some("Bearer not.a.token".into())),
        ("expired", Some(format!("Bearer {}", sign(&claims(app, -3600), SECRET, Algorithm::HS256)))),
        ("badly signed", Some(format!("Bearer {}", sign(&good, b"another-secret", Algorithm::HS256)))),
        ("alg none", Some(format!("Bearer {}", unsigned(&good)))),
        ("other algorithm", Some(format!("Bearer {}", sign(&good, SECRET, Algorithm::HS512)))),
        ("wrong issuer", Some(format!("Bearer {}", sign(&wrong_issuer, SECRET, Algorithm::HS256)))),
        ("subject not a uuid", Some(format!("Bearer {}", sign(&not_a_user, SECRET, Algorithm::HS256)))),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                sign(&json!({"sub": good.sub, "acc": good.acc, "iat": good.iat, "iss": "rollcall"}), SECRET, Algorithm::HS256)
            )),
        ),
    ]
}

async fn every_bad_token_is_a_401_on_every_surface(app: TestApp) {
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Guarded").await;
    let calls = [
        (Method::PUT, format!("/api/security/groups/{group}/users/{user}"), None),
        (Method::POST, format!("/api/management/security/groups/{group}/users/"), Some(json!([user]))),
        (Method::PUT, format!("/v1/groups/{group}/users"), Some(json!([user]))),
        (Method::GET, format!("/v1/groups/{group}/users"), None),
        (Method::POST, "/v1/users".to_owned(), Some(json!({"email": "x@example.com"}))),
    ];
    for (what, authorization) in bad_authorizations(&app) {
        for (method, path, body) in &calls {
            let mut request = app.client.request(method.clone(), app.url(path)).header("X-Account-ID", &app.tenant.account_id);
            if let Some(value) = &authorization {
                request = request.header("Authorization", value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let r = app.send(request).await;
            if path.starts_with("/v1/") {
                assert_v1_error(&r, 401, "UNAUTHENTICATED");
            } else {
                assert_management_error(&r, 401, "UNAUTHENTICATED");
            }
            assert_eq!(r.headers.get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"), "{what}");
        }
    }
    assert!(app.membership_rows(&group).is_empty());
}

async fn v1_requires_the_tokens_account_in_x_account_id(app: TestApp) {
    let user = app.create_user("bob@example.com", None).await;
    let group = app.create_group("Guarded").await;
    let other = app.new_tenant("other");
    let path = format!("/v1/groups/{group}/users");
    for header in [None, Some(other.account_id.as_str()), Some("not-a-uuid"), Some("")] {
        let mut request = app.client.put(app.url(&path)).bearer_auth(&app.tenant.token).json(&json!([user]));
        if let Some(value) = header {
            request = request.header("X-Account-ID", value);
        }
        assert_v1_error(&app.send(request).await, 403, "ACCOUNT_MISMATCH");
    }
    assert!(app.membership_rows(&group).is_empty());
    // The management surfaces do not use the header.
    let r = app.send(app.request(Method::PUT, &format!("/api/security/groups/{group}/users/{user}"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

async fn users_without_permission_get_403_and_change_nothing(app: TestApp) {
    let plain = app.create_user("plain@example.com", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    let group = app.create_group("Guarded").await;
    let tenant = app.tenant.clone();
    let calls = [
        (Method::PUT, format!("/api/security/groups/{group}/users/plain"), None),
        (Method::POST, format!("/api/security/groups/{group}/users/"), Some(json!([plain]))),
        (Method::PUT, format!("/v1/groups/{group}/users"), Some(json!([plain]))),
        (Method::GET, format!("/v1/groups/{group}/users"), None),
        (Method::POST, "/v1/users".to_owned(), Some(json!({"email": "new@example.com"}))),
        (Method::POST, "/v1/groups".to_owned(), Some(json!({"name": "New"}))),
    ];
    for (method, path, body) in calls {
        let mut request = app.request_as(&tenant, &token, method, &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = app.send(request).await;
        assert_surface_error(&r, &path, 403, "FORBIDDEN");
    }
    assert!(app.membership_rows(&group).is_empty());
}

async fn a_group_granted_group_update_may_add_members_and_nothing_more(app: TestApp) {
    let editor = app.create_user("editor@example.com", Some("editor")).await;
    let member = app.create_user("member@example.com", Some("member")).await;
    let editors = app.create_group("Editors").await;
    let target = app.create_group("Target").await;
    let path = format!("/api/security/groups/{editors}/users/{editor}");
    assert_eq!(app.send(app.request(Method::PUT, &path)).await.status, StatusCode::NO_CONTENT);
    let token = app.token_for(&app.tenant, &editor);
    let tenant = app.tenant.clone();

    let add = |token: &str| app.request_as(&tenant, token, Method::PUT, &format!("/v1/groups/{target}/users")).json(&json!([member]));
    assert_v1_error(&app.send(add(&token)).await, 403, "FORBIDDEN");
    app.grant(&editors, "group_update");
    assert_eq!(app.send(add(&token)).await.status, StatusCode::CREATED);
    assert_eq!(app.membership_rows(&target), vec![member.clone()]);

    let r = app.send(app.request_as(&tenant, &token, Method::POST, "/v1/users").json(&json!({"email": "x@example.com"}))).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
}

async fn a_token_names_its_account_and_sees_nothing_of_another(app: TestApp) {
    let other = app.new_tenant("other");
    let their_group = app.create_group_in(&other, "Theirs").await;
    let their_user = app.create_user_in(&other, "theirs@example.com", Some("theirs")).await;
    let mine = app.create_user("mine@example.com", None).await;

    // Admin of my account, aimed at their ids: they do not exist for me.
    let r = app.send(app.request(Method::GET, &format!("/v1/groups/{their_group}/users"))).await;
    assert_v1_error(&r, 404, "GROUP_NOT_FOUND");
    let r = app.send(app.request(Method::PUT, &format!("/v1/groups/{their_group}/users")).json(&json!([mine]))).await;
    assert_v1_error(&r, 404, "GROUP_NOT_FOUND");

    // A token claiming their account for my admin (validly signed) names no
    // user there: it is refused outright.
    let forged_scope = app.keys.issue(app.tenant.admin_id.parse().unwrap(), other.account_id.parse().unwrap(), 3600).unwrap();
    let r = app
        .send(app.request_as(&other, &forged_scope, Method::PUT, &format!("/v1/groups/{their_group}/users")).json(&json!([their_user])))
        .await;
    assert_v1_error(&r, 401, "UNAUTHENTICATED");
    assert!(app.membership_rows(&their_group).is_empty());
}

/// The header rule and the error body follow the route that matched, however
/// the path spells it: `%76%31` routes as `v1`.
async fn the_surface_follows_the_route_not_the_raw_path(app: TestApp) {
    let other = app.new_tenant("other");
    let user = app.create_user("bob@example.com", Some("bob")).await;
    for spelling in ["/%76%31/groups", "/%761/groups", "/v%31/groups", "/v1/%67roups", "/%76%31/%67%72%6f%75%70%73"] {
        let r = app.send(app.client.get(app.url(spelling)).bearer_auth(&app.tenant.token).header("X-Account-ID", &other.account_id)).await;
        assert_v1_error(&r, 403, "ACCOUNT_MISMATCH");
        let r = app.send(app.client.post(app.url(spelling)).bearer_auth(&app.tenant.token).json(&json!({"name": "Sneaky"}))).await;
        assert_v1_error(&r, 403, "ACCOUNT_MISMATCH");
        let r =
            app.send(app.client.get(app.url(spelling)).bearer_auth(&app.tenant.token).header("X-Account-ID", &app.tenant.account_id)).await;
        assert_eq!(r.status, StatusCode::OK, "{spelling}: {}", r.text);
        let r = app.send(app.client.delete(app.url(spelling)).bearer_auth(&app.tenant.token)).await;
        assert_v1_error(&r, 405, "METHOD_NOT_ALLOWED");
    }
    assert_v1_error(&app.send(app.client.get(app.url("/%76%31/nothing-here"))).await, 404, "NOT_FOUND");
    assert_v1_error(
        &app.send(
            app.client
                .get(app.url("/%76%31/groups/not-a-uuid"))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id),
        )
        .await,
        400,
        "VALIDATION_ERROR",
    );
    // An encoded management path is the management surface: no header rule, its body.
    let r = app.send(app.client.get(app.url("/api/%73ecurity/users/nobody")).bearer_auth(&app.tenant.token)).await;
    assert_management_error(&r, 404, "USER_NOT_FOUND");
    let r = app
        .send(app.client.put(app.url(&format!("/api/%73ecurity/groups/System%20Administrators/users/{user}"))).bearer_auth(&other.token))
        .await;
    assert_management_error(&r, 404, "USER_NOT_FOUND");
    let groups = app.send(app.request(Method::GET, "/v1/groups")).await;
    assert_eq!(groups.body["total"], 1, "nothing was created: {}", groups.text);
}

fn signed(app: &TestApp, extra: serde_json::Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"sub": app.tenant.admin_id, "acc": app.tenant.account_id, "exp": now + 3600, "iat": now, "iss": "rollcall"});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    sign(&claims, SECRET, Algorithm::HS256)
}

async fn tokens_not_yet_valid_or_issued_in_the_future_are_refused(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let ten_years = 10 * 365 * 86_400;
    for (what, extra, accepted) in [
        ("nbf in the past", json!({"nbf": now - 60}), true),
        ("nbf in ten minutes", json!({"nbf": now + 600}), false),
        ("iat 30 s ahead", json!({"iat": now + 30}), true),
        ("iat 2 min ahead", json!({"iat": now + 120, "exp": now + 3600}), false),
        ("iat ten years ahead", json!({"iat": now + ten_years, "exp": now + ten_years + 3600}), false),
    ] {
        let token = signed(&app, extra);
        let r = app.send(app.client.get(app.url("/v1/groups")).bearer_auth(&token).header("X-Account-ID", &app.tenant.account_id)).await;
        if accepted {
            assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
        } else {
            assert_v1_error(&r, 401, "UNAUTHENTICATED");
            let r = app.send(app.client.get(app.url("/api/security/groups/")).bearer_auth(&token)).await;
            assert_management_error(&r, 401, "UNAUTHENTICATED");
        }
    }
}

async fn a_request_with_two_credentials_is_refused(app: TestApp) {
    let good = format!("Bearer {}", app.tenant.token);
    let other = app.new_tenant("other");
    let theirs = format!("Bearer {}", other.token);
    for pair in [[&good, &good], [&good, &theirs], [&theirs, &good], [&good, &"Bearer junk".to_owned()]] {
        let r = app
            .send(
                app.client
                    .get(app.url("/v1/groups"))
                    .header("Authorization", pair[0].as_str())
                    .header("Authorization", pair[1].as_str())
                    .header("X-Account-ID", &app.tenant.account_id),
            )
            .await;
        assert_v1_error(&r, 401, "UNAUTHENTICATED");
        let r = app
            .send(
                app.client
                    .get(app.url("/api/security/groups/"))
                    .header("Authorization", pair[0].as_str())
                    .header("Authorization", pair[1].as_str()),
            )
            .await;
        assert_management_error(&r, 401, "UNAUTHENTICATED");
    }
    let r = app
        .send(
            app.client
                .get(app.url("/v1/groups"))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id)
                .header("X-Account-ID", &other.account_id),
        )
        .await;
    assert_v1_error(&r, 403, "ACCOUNT_MISMATCH");
}

backend_tests!(
    every_bad_token_is_a_401_on_every_surface,
    v1_requires_the_tokens_account_in_x_account_id,
    users_without_permission_get_403_and_change_nothing,
    a_group_granted_group_update_may_add_members_and_nothing_more,
    a_token_names_its_account_and_sees_nothing_of_another,
    the_surface_follows_the_route_not_the_raw_path,
    tokens_not_yet_valid_or_issued_in_the_future_are_refused,
    a_request_with_two_credentials_is_refused,
);
