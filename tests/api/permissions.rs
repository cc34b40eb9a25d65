//! The permission matrix over the full surface: administrator, delegated
//! `group_update`, inherited permissions, a plain user, another account.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_surface_error, assert_v1_error, TestApp};

const M: &str = "/api/security";

async fn status_as(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> StatusCode {
    let mut request = app.request_as(&app.tenant, token, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await.status
}

async fn a_plain_user_reads_only_themself(app: TestApp) {
    let me = app.create_user("me@example.com", Some("me")).await;
    let other = app.create_user("other@example.com", None).await;
    let group = app.create_group("Soap").await;
    app.send(app.request(Method::PUT, &format!("{M}/groups/Soap/users/me"))).await;
    let token = app.token_for(&app.tenant, &me);
    let ok = StatusCode::OK;
    let forbidden = StatusCode::FORBIDDEN;
    for (method, path, body, expected) in [
        (Method::GET, format!("/v1/users/{me}"), None, ok),
        (Method::GET, format!("/v1/users/{me}/groups"), None, ok),
        (Method::GET, format!("{M}/users/me"), None, ok),
        (Method::GET, format!("{M}/users/me@example.com/groups"), None, ok),
        (Method::HEAD, format!("{M}/users/me/groups/Soap"), None, StatusCode::NO_CONTENT),
        (Method::GET, format!("/v1/users/{other}"), None, forbidden),
        (Method::GET, format!("{M}/users/{other}/groups"), None, forbidden),
        (Method::GET, "/v1/users".to_owned(), None, forbidden),
        (Method::GET, format!("{M}/users"), None, forbidden),
        (Method::GET, "/v1/groups".to_owned(), None, forbidden),
        (Method::GET, format!("{M}/groups/Soap"), None, forbidden),
        (Method::GET, format!("{M}/groups/Soap/users"), None, forbidden),
        (Method::POST, format!("{M}/groups/"), Some(json!({"name": "Mine"})), forbidden),
        (Method::PATCH, format!("/v1/users/{me}"), Some(json!({"first_name": "Boss"})), forbidden),
        (Method::DELETE, format!("/v1/groups/{group}"), None, forbidden),
        (Method::PUT, format!("{M}/groups/System%20Administrators/users/me"), None, forbidden),
        (Method::PUT, format!("{M}/groups/Soap/groups/System%20Administrators"), None, forbidden),
    ] {
        assert_eq!(status_as(&app, &token, method.clone(), &path, body).await, expected, "{method} {path}");
    }
    let r = app.send(app.request_as(&app.tenant, &token, Method::GET, "/v1/users")).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
    let r = app.send(app.request_as(&app.tenant, &token, Method::POST, &format!("{M}/groups/")).json(&json!({"name": "Mine"}))).await;
    assert_management_error(&r, 403, "FORBIDDEN");
    // The refused calls changed nothing.
    assert_eq!(app.membership_rows(&group), std::slice::from_ref(&me));
    let mine = app.send(app.request(Method::GET, &format!("/v1/users/{me}"))).await;
    assert_eq!(mine.body["first_name"], "Test", "{}", mine.text);
    let groups = app.send(app.request(Method::GET, "/v1/groups")).await;
    assert_eq!(groups.body["total"], 2, "no group was created: {}", groups.text);
    let system = app.send(app.request(Method::GET, &format!("{M}/groups/System%20Administrators/users"))).await;
    assert_eq!(system.body["totalCount"], 1, "{}", system.text);
}

async fn delegated_group_update_manages_members_but_not_administrators(app: TestApp) {
    let editor = app.create_user("editor@example.com", Some("editor")).await;
    let editors = app.create_group("Editors").await;
    app.create_group("Soap").await;
    app.create_user("worker@example.com", Some("worker")).await;
    app.send(app.request(Method::PUT, &format!("{M}/groups/Editors/users/editor"))).await;
    let r = app.send(app.request(Method::PATCH, &format!("/v1/groups/{editors}")).json(&json!({"permissions": ["group_update"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = app.token_for(&app.tenant, &editor);
    let no_content = StatusCode::NO_CONTENT;
    let forbidden = StatusCode::FORBIDDEN;
    for (method, path, body, expected) in [
        (Method::PUT, format!("{M}/groups/Soap/users/worker"), None, no_content),
        (Method::DELETE, format!("{M}/groups/Soap/users/worker"), None, no_content),
        (Method::PUT, format!("{M}/groups/Soap/groups/Editors"), None, no_content),
        (Method::PUT, format!("{M}/groups/Soap"), Some(json!({"name": "Soap", "description": "renamed by an editor"})), StatusCode::OK),
        // Administrators only: their group, and granting permissions.
        (Method::PUT, format!("{M}/groups/System%20Administrators/users/worker"), None, forbidden),
        (Method::PUT, format!("{M}/groups/System%20Administrators/groups/Soap"), None, forbidden),
        (Method::PUT, format!("{M}/groups/Soap"), Some(json!({"name": "Soap", "permissions": ["user_delete"]})), forbidden),
        // Nor other permissions.
        (Method::DELETE, format!("{M}/groups/Soap"), None, forbidden),
        (Method::POST, format!("{M}/users"), Some(json!({"email": "new@example.com"})), forbidden),
    ] {
        assert_eq!(status_as(&app, &token, method.clone(), &path, body).await, expected, "{method} {path}");
    }
    // What the editor was refused did not happen; what was allowed did.
    let soap = app.send(app.request(Method::GET, &format!("{M}/groups/Soap"))).await;
    assert_eq!(soap.body["permissions"], json!([]), "{}", soap.text);
    assert_eq!(soap.body["description"], "renamed by an editor");
    let admins = app.send(app.request(Method::GET, &format!("{M}/groups/System%20Administrators/users?includeInherited=true"))).await;
    assert_eq!(admins.body["totalCount"], 1, "no new administrator: {}", admins.text);
    let soap_children = app.send(app.request(Method::GET, &format!("{M}/groups/Soap/groups"))).await;
    assert_eq!(soap_children.body["items"].as_array().map(Vec::len), Some(1), "{}", soap_children.text);
    assert_eq!(app.send(app.request(Method::GET, &format!("{M}/users/new@example.com"))).await.status, StatusCode::NOT_FOUND);
}

async fn members_of_a_child_group_hold_the_parents_permissions(app: TestApp) {
    // Readers (user_read) ⊃ Team ⊃ Interns; the intern reads users.
    let intern = app.create_user("intern@example.com", Some("intern")).await;
    for g in ["Readers", "Team", "Interns"] {
        app.create_group(g).await;
    }
    let r = app
        .send(app.request(Method::PUT, &format!("{M}/groups/Readers")).json(&json!({"name": "Readers", "permissions": ["user_read"]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.send(app.request(Method::PUT, &format!("{M}/groups/Interns/users/intern"))).await;
    let token = app.token_for(&app.tenant, &intern);
    assert_eq!(status_as(&app, &token, Method::GET, "/v1/users", None).await, StatusCode::FORBIDDEN);
    app.send(app.request(Method::PUT, &format!("{M}/groups/Readers/groups/Team"))).await;
    app.send(app.request(Method::PUT, &format!("{M}/groups/Team/groups/Interns"))).await;
    assert_eq!(status_as(&app, &token, Method::GET, "/v1/users", None).await, StatusCode::OK);
    assert_eq!(status_as(&app, &token, Method::GET, &format!("{M}/users"), None).await, StatusCode::OK);
    assert_eq!(status_as(&app, &token, Method::GET, "/v1/groups", None).await, StatusCode::FORBIDDEN, "only what is granted");
    // A child of System Administrators makes administrators.
    let r = app.send(app.request(Method::PUT, &format!("{M}/groups/System%20Administrators/groups/Interns"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(status_as(&app, &token, Method::GET, "/v1/groups", None).await, StatusCode::OK);
    assert_eq!(status_as(&app, &token, Method::DELETE, &format!("{M}/groups/Team"), None).await, StatusCode::NO_CONTENT);
}

async fn another_account_sees_nothing_of_the_full_surface(app: TestApp) {
    let group = app.create_group("Soap").await;
    let user = app.create_user("tyler@example.com", Some("tyler")).await;
    let other = app.new_tenant("other");
    let as_other = |method: Method, path: String| app.request_as(&other, &other.token, method, &path);
    assert_v1_error(&app.send(as_other(Method::GET, format!("/v1/groups/{group}"))).await, 404, "GROUP_NOT_FOUND");
    assert_v1_error(&app.send(as_other(Method::GET, format!("/v1/users/{user}"))).await, 404, "USER_NOT_FOUND");
    assert_v1_error(&app.send(as_other(Method::DELETE, format!("/v1/groups/{group}"))).await, 404, "GROUP_NOT_FOUND");
    assert_management_error(&app.send(as_other(Method::GET, format!("{M}/users/tyler"))).await, 404, "USER_NOT_FOUND");
    assert_management_error(&app.send(as_other(Method::GET, format!("{M}/groups/Soap"))).await, 404, "GROUP_NOT_FOUND");
    let listed = app.send(as_other(Method::GET, format!("{M}/users"))).await;
    assert_eq!(listed.body["totalCount"], 1, "only their own admin: {}", listed.text);
    let listed = app.send(as_other(Method::GET, "/v1/groups".to_owned())).await;
    assert_eq!(listed.body["total"], 1, "only their own System Administrators");
    let r = app.send(as_other(Method::POST, format!("{M}/groups/System%20Administrators/groups")).json(&json!([group]))).await;
    assert_management_error(&r, 400, "UNKNOWN_GROUPS");
}

/// The holes an attacker found (issue: "delegated rights must never grow
/// themselves"), on every path that adds members or nests groups.
async fn group_update_alone_cannot_join_or_nest_into_more_rights(app: TestApp) {
    let editor = app.create_user("editor@example.com", Some("editor")).await;
    let editors = app.create_group("Editors").await;
    let ops = app.create_group("Ops").await;
    let deleters = app.create_group("Deleters").await;
    let readers = app.create_group("Readers").await;
    let plain = app.create_group("Plain").await;
    for (group, permissions) in [(&editors, json!(["group_update"])), (&deleters, json!(["user_delete"])), (&readers, json!(["user_read"]))]
    {
        let r = app.send(app.request(Method::PATCH, &format!("/v1/groups/{group}")).json(&json!({"permissions": permissions}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    app.send(app.request(Method::PUT, &format!("{M}/groups/Editors/users/editor"))).await;
    let r = app.send(app.request(Method::PUT, &format!("{M}/groups/System%20Administrators/groups/Ops"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let token = app.token_for(&app.tenant, &editor);
    for target in [&ops, &deleters, &readers] {
        for (method, path, body) in [
            (Method::PUT, format!("{M}/groups/{target}/users/{editor}"), None),
            (Method::PUT, format!("/api/management/security/groups/{target}/users/editor@example.com"), None),
            (Method::POST, format!("{M}/groups/{target}/users/"), Some(json!([editor]))),
            (Method::POST, format!("{M}/groups/{target}/users"), Some(json!([editor]))),
            (Method::PUT, format!("/v1/groups/{target}/users"), Some(json!([editor]))),
            (Method::PUT, format!("{M}/groups/{target}/groups/{editors}"), None),
            (Method::POST, format!("{M}/groups/{target}/groups"), Some(json!([editors]))),
            // Nesting a group that holds the editor under one below the target.
            (Method::PUT, format!("{M}/groups/{target}/groups/{plain}"), None),
        ] {
            let mut request = app.request_as(&app.tenant, &token, method.clone(), &path);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let r = app.send(request).await;
            assert_surface_error(&r, &path, 403, "FORBIDDEN");
        }
    }
    // Nothing changed: the editor holds what they held.
    for group in [&ops, &deleters, &readers] {
        assert!(app.membership_rows(group).is_empty());
        let children = app.send(app.request(Method::GET, &format!("{M}/groups/{group}/groups"))).await;
        assert_eq!(children.body["items"], json!([]), "{}", children.text);
    }
    assert_eq!(status_as(&app, &token, Method::GET, "/v1/users", None).await, StatusCode::FORBIDDEN);
    assert_eq!(status_as(&app, &token, Method::DELETE, &format!("/v1/users/{editor}"), None).await, StatusCode::FORBIDDEN);
    // What the editor holds, they may hand on: with user_read granted to
    // Editors, joining Readers gives nothing new and is allowed.
    let r = app
        .send(app.request(Method::PATCH, &format!("/v1/groups/{editors}")).json(&json!({"permissions": ["group_update", "user_read"]})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(status_as(&app, &token, Method::PUT, &format!("{M}/groups/Readers/users/editor"), None).await, StatusCode::NO_CONTENT);
    assert_eq!(status_as(&app, &token, Method::PUT, &format!("{M}/groups/Readers/groups/Plain"), None).await, StatusCode::NO_CONTENT);
    assert_eq!(status_as(&app, &token, Method::PUT, &format!("{M}/groups/Deleters/users/editor"), None).await, StatusCode::FORBIDDEN);
}

/// Changing or deleting a user who holds more than the caller is acting with
/// their rights: refused, while peers and lesser users stay manageable.
async fn a_user_manager_cannot_change_or_delete_someone_holding_more(app: TestApp) {
    let manager = app.create_user("manager@example.com", Some("manager")).await;
    let peer = app.create_user("peer@example.com", Some("peer")).await;
    let nobody = app.create_user("nobody@example.com", Some("nobody")).await;
    let managers = app.create_group("Managers").await;
    let r = app
        .send(app.request(Method::PATCH, &format!("/v1/groups/{managers}")).json(&json!({"permissions": ["user_update", "user_delete"]})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.send(app.request(Method::PUT, &format!("/v1/groups/{managers}/users")).json(&json!([manager, peer]))).await;
    let token = app.token_for(&app.tenant, &manager);
    let admin = app.tenant.admin_id.clone();
    for (method, path, body) in [
        (Method::PATCH, format!("/v1/users/{admin}"), Some(json!({"email": "mine@example.com"}))),
        (Method::PUT, format!("{M}/users/{admin}"), Some(json!({"email": "mine@example.com"}))),
        (Method::DELETE, format!("/v1/users/{admin}"), None),
        (Method::DELETE, format!("{M}/users/admin"), None),
    ] {
        assert_eq!(status_as(&app, &token, method.clone(), &path, body).await, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let me = app.send(app.request(Method::GET, &format!("/v1/users/{admin}"))).await;
    assert_eq!(me.body["email"], "admin@example.com", "{}", me.text);
    assert_eq!(
        status_as(&app, &token, Method::PATCH, &format!("/v1/users/{peer}"), Some(json!({"first_name": "Peer"}))).await,
        StatusCode::OK
    );
    assert_eq!(status_as(&app, &token, Method::DELETE, &format!("/v1/users/{nobody}"), None).await, StatusCode::NO_CONTENT);
}

const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SCIM_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Every route of the spec, called by a user without rights with
/// identifiers of things that exist and of things that do not: the answers
/// are the same 403, so nothing is learnt about what exists. A route added
/// later is covered without touching this test.
async fn a_caller_without_rights_learns_nothing_from_any_route(app: TestApp) {
    let plain = app.create_user("plain@example.com", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    let other = app.create_user("other@example.com", Some("other")).await;
    let group = app.create_group("Existing").await;
    let child = app.create_group("Child").await;
    app.send(app.request(Method::PUT, &format!("{M}/groups/{group}/users/{other}"))).await;
    app.send(app.request(Method::PUT, &format!("{M}/groups/{group}/groups/{child}"))).await;
    let hook = app.send(app.request(Method::POST, "/v1/webhooks").json(&json!({"url": "https://hooks.example.com/x"}))).await;
    let hook = hook.body["id"].as_str().expect("a webhook").to_owned();
    let spec = app.send(app.client.get(app.url("/api-docs/openapi.json"))).await.body;
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            // Signing in needs no rights; one's own API keys are self-service.
            // (SCIM's discovery documents are public: an empty requirement.)
            let public = |s: &Vec<Value>| s.is_empty() || s.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            if op["security"].as_array().is_none_or(public) {
                continue;
            }
            let self_service = op["operationId"].as_str().is_some_and(|id| id.contains("api_key"));
            let mut answers = Vec::new();
            for existing in [true, false] {
                let missing = uuid::Uuid::new_v4().to_string();
                let pick = |id: &str| if existing { id.to_owned() } else { missing.clone() };
                let user_id_path = template.to_lowercase().contains("/users/{id}");
                let path = template
                    .replace("{groupIdentifier}", &pick(&group))
                    .replace("{groupId}", &pick(&group))
                    .replace("{childGroupIdentifier}", &pick(&child))
                    .replace("{groupIdentifiers}", &pick(&group))
                    .replace("{userIdentifier}", &pick(&other))
                    .replace("{webhookId}", &pick(&hook))
                    .replace("{id}", &if user_id_path { pick(&other) } else { pick(&group) });
                let mut request = app.request_as(&app.tenant, &token, method.clone(), &path);
                let schema = ["application~1json", "application~1merge-patch+json", "application~1scim+json"]
                    .iter()
                    .find_map(|media| op.pointer(&format!("/requestBody/content/{media}/schema/$ref")).and_then(Value::as_str));
                if let Some(schema) = schema {
                    let body = match schema.rsplit('/').next().unwrap() {
                        "UserIds" => json!([pick(&other)]),
                        "GroupIds" => json!([pick(&child)]),
                        "PasswordChange" => json!({"new": "a new password", "existing": "the old one"}),
                        "UserActionBody" => json!({"type": "suspend"}),
                        "ScimUserRequest" => {
                            json!({"schemas": [SCIM_USER], "userName": "renamed", "emails": [{"value": "renamed@example.com"}]})
                        }
                        "ScimGroupRequest" => {
                            json!({"schemas": [SCIM_GROUP], "displayName": "Renamed", "members": [{"value": pick(&other)}]})
                        }
                        "ScimPatchRequest" => {
                            json!({"schemas": [SCIM_PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": pick(&other)}]}]})
                        }
                        "ScimSearchRequest" => json!({"schemas": [SCIM_SEARCH]}),
                        "CreateWebhookRequest" => json!({"url": "https://hooks.example.com/y"}),
                        "UpdateWebhookRequest" => json!({"enabled": false}),
                        _ => json!({"name": "Renamed", "email": "renamed@example.com"}),
                    };
                    request = request.json(&body);
                }
                let r = app.send(request).await;
                answers.push((r.status, r.body["error_code"].clone(), r.body["data"]["code"].clone()));
            }
            assert_eq!(answers[0], answers[1], "{method} {template}: existing vs missing");
            if !self_service {
                assert_eq!(answers[0].0, StatusCode::FORBIDDEN, "{method} {template}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "every operation of the spec was tried ({checked})");
    assert_eq!(app.membership_rows(&group), std::slice::from_ref(&other), "nothing changed");
    let hooks = app.send(app.request(Method::GET, "/v1/webhooks")).await;
    assert_eq!(hooks.body["items"].as_array().map(|h| (h.len(), h[0]["enabled"].clone())), Some((1, json!(true))), "{}", hooks.text);
    let children = app.send(app.request(Method::GET, &format!("{M}/groups/{group}/groups"))).await;
    assert_eq!(children.body["items"].as_array().map(Vec::len), Some(1), "{}", children.text);
}

backend_tests!(
    a_plain_user_reads_only_themself,
    delegated_group_update_manages_members_but_not_administrators,
    members_of_a_child_group_hold_the_parents_permissions,
    another_account_sees_nothing_of_the_full_surface,
    group_update_alone_cannot_join_or_nest_into_more_rights,
    a_user_manager_cannot_change_or_delete_someone_holding_more,
    a_caller_without_rights_learns_nothing_from_any_route,
);
