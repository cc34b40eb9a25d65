//! The management surface beyond the seed operations: groups, users,
//! members, nested groups — on both prefixes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{assert_management_error, Response, TestApp};

const M: &str = "/api/security";
const LEGACY: &str = "/api/management/security";

fn names(items: &Value) -> Vec<String> {
    items.as_array().unwrap_or_else(|| panic!("array: {items}")).iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

fn emails(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|i| i["email"].as_str().unwrap().to_owned()).collect()
}

async fn groups_are_created_paged_replaced_and_deleted(app: TestApp) {
    for (prefix, name) in [(M, "Alpha"), (LEGACY, "Beta"), (M, "Gamma"), (LEGACY, "Delta")] {
        let r = app.call(Method::POST, &format!("{prefix}/groups/"), Some(json!({"name": name}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["name"], name);
        assert_eq!(r.body["isSystem"], false);
    }
    let r = app.call(Method::POST, &format!("{M}/groups"), Some(json!({"name": "Epsilon", "description": "no slash"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_management_error(&app.call(Method::POST, &format!("{M}/groups/"), Some(json!({"name": "alpha"}))).await, 409, "NAME_TAKEN");
    assert_management_error(
        &app.call(Method::POST, &format!("{M}/groups/"), Some(json!({"name": Uuid::new_v4()}))).await,
        422,
        "VALIDATION_ERROR",
    );

    // Six groups with System Administrators, two a page.
    let first = app.call(Method::GET, &format!("{M}/groups/?pageSize=2"), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!((first.body["pageIndex"].as_i64(), first.body["pageSize"].as_i64()), (Some(0), Some(2)));
    assert_eq!((first.body["totalCount"].as_i64(), first.body["pageCount"].as_i64()), (Some(6), Some(3)));
    assert_eq!(names(&first.body["items"]), ["Alpha", "Beta"]);
    let last = app.call(Method::GET, &format!("{LEGACY}/groups?pageSize=2&pageIndex=2"), None).await;
    assert_eq!(names(&last.body["items"]), ["Gamma", "System Administrators"]);
    let past = app.call(Method::GET, &format!("{M}/groups/?pageSize=2&pageIndex=3"), None).await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(names(&past.body["items"]).len(), 0);
    assert_eq!(past.body["totalCount"], 6);
    let desc = app.call(Method::GET, &format!("{M}/groups/?order=-name&pageSize=1"), None).await;
    assert_eq!(names(&desc.body["items"]), ["System Administrators"]);
    let searched = app.call(Method::GET, &format!("{M}/groups/?q=ta"), None).await;
    assert_eq!(names(&searched.body["items"]), ["Beta", "Delta"]);
    let empty = app.call(Method::GET, &format!("{M}/groups/?q=nothing-like-this"), None).await;
    assert_eq!((empty.body["totalCount"].as_i64(), empty.body["pageCount"].as_i64()), (Some(0), Some(0)));
    assert_eq!(app.call(Method::GET, &format!("{M}/groups/"), None).await.body["pageSize"], 25);
    for bad in ["pageSize=0", "pageSize=1001", "pageIndex=-1", "order=size", "pageIndex=x"] {
        assert_management_error(&app.call(Method::GET, &format!("{M}/groups/?{bad}"), None).await, 400, "VALIDATION_ERROR");
    }

    let r = app.call(Method::GET, &format!("{M}/groups/alpha"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let alpha = r.body["id"].as_str().unwrap().to_owned();
    let r =
        app.call(Method::PUT, &format!("{LEGACY}/groups/{alpha}"), Some(json!({"name": "Alpha One", "permissions": ["group_read"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["name"].as_str(), r.body["description"].as_str()), (Some("Alpha One"), Some("")));
    assert_eq!(r.body["permissions"], json!(["group_read"]));
    assert_management_error(
        &app.call(Method::PUT, &format!("{M}/groups/Alpha%20One"), Some(json!({"name": "Beta"}))).await,
        409,
        "NAME_TAKEN",
    );
    assert_management_error(
        &app.call(Method::PUT, &format!("{M}/groups/System%20Administrators"), Some(json!({"name": "Root"}))).await,
        409,
        "SYSTEM_GROUP",
    );
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/groups/System%20Administrators"), None).await, 409, "SYSTEM_GROUP");
    assert_eq!(app.call(Method::DELETE, &format!("{M}/groups/Alpha%20One"), None).await.status, StatusCode::NO_CONTENT);
    assert_management_error(&app.call(Method::GET, &format!("{M}/groups/{alpha}"), None).await, 404, "GROUP_NOT_FOUND");
    assert_management_error(&app.call(Method::DELETE, &format!("{LEGACY}/groups/{alpha}"), None).await, 404, "GROUP_NOT_FOUND");
}

async fn users_are_created_read_replaced_and_deleted(app: TestApp) {
    let body = json!({"email": "T.Durden@fightclub.com", "username": "tdurden", "firstName": "Tyler", "lastName": "Durden"});
    let r = app.call(Method::POST, &format!("{M}/users"), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((r.body["firstName"].as_str(), r.body["lastName"].as_str()), (Some("Tyler"), Some("Durden")));
    let id = r.body["id"].as_str().unwrap().to_owned();
    for ident in [id.as_str(), "TDurden", "t.durden@FIGHTCLUB.com"] {
        let r = app.call(Method::GET, &format!("{LEGACY}/users/{ident}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{ident}: {}", r.text);
        assert_eq!(r.body["id"], id.as_str());
    }
    assert_management_error(
        &app.call(Method::POST, &format!("{M}/users"), Some(json!({"email": "t.durden@fightclub.com"}))).await,
        409,
        "NAME_TAKEN",
    );
    assert_management_error(&app.call(Method::POST, &format!("{M}/users"), Some(json!({"email": "x"}))).await, 422, "VALIDATION_ERROR");
    // PUT replaces: the username and names not sent are cleared.
    let r = app.call(Method::PUT, &format!("{M}/users/tdurden"), Some(json!({"email": "tyler@paper.st", "firstName": "T"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["email"], "tyler@paper.st");
    assert!(r.body["username"].is_null() && r.body["lastName"].is_null());
    assert_management_error(&app.call(Method::GET, &format!("{M}/users/tdurden"), None).await, 404, "USER_NOT_FOUND");
    let list = app.call(Method::GET, &format!("{M}/users?q=paper"), None).await;
    assert_eq!(emails(&list.body["items"]), ["tyler@paper.st"]);
    let all = app.call(Method::GET, &format!("{M}/users?order=-email"), None).await;
    assert_eq!(emails(&all.body["items"]), ["tyler@paper.st", "admin@example.com"]);
    assert_eq!(app.call(Method::DELETE, &format!("{M}/users/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/users/{id}"), None).await, 404, "USER_NOT_FOUND");
    assert_eq!(app.call(Method::GET, &format!("{M}/users"), None).await.body["totalCount"], 1);
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/users/admin"), None).await, 409, "LAST_ADMINISTRATOR");
}

async fn members_are_listed_removed_and_checked(app: TestApp) {
    let group = app.create_group("Soap").await;
    let users: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(app.create_user(&format!("m{i}@example.com"), Some(&format!("m{i}"))).await);
        }
        v
    };
    let r = app.call(Method::POST, &format!("{M}/groups/Soap/users/"), Some(json!(users))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let page = app.call(Method::GET, &format!("{M}/groups/soap/users?pageSize=2&pageIndex=2"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(emails(&page.body["items"]), ["m4@example.com"]);
    assert_eq!((page.body["totalCount"].as_i64(), page.body["pageCount"].as_i64()), (Some(5), Some(3)));
    let q = app.call(Method::GET, &format!("{LEGACY}/groups/{group}/users?q=M3"), None).await;
    assert_eq!(emails(&q.body["items"]), ["m3@example.com"]);

    assert_eq!(app.send(app.request(Method::HEAD, &format!("{M}/groups/Soap/users/m1"))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::DELETE, &format!("{M}/groups/Soap/users/m1@example.com"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send(app.request(Method::HEAD, &format!("{LEGACY}/groups/Soap/users/m1"))).await.status, StatusCode::NOT_FOUND);
    let r = app.call(Method::DELETE, &format!("{M}/groups/Soap/users/m1"), None).await;
    assert_management_error(&r, 404, "NOT_A_MEMBER");
    assert_eq!(r.body["message"], "User not in group");
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/groups/Soap/users/nobody"), None).await, 404, "USER_NOT_FOUND");
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/groups/Nope/users/m2"), None).await, 404, "GROUP_NOT_FOUND");
    assert_eq!(app.send(app.request(Method::HEAD, &format!("{M}/groups/Nope/users/m2"))).await.status, StatusCode::NOT_FOUND);
    assert_management_error(
        &app.call(Method::DELETE, &format!("{M}/groups/System%20Administrators/users/admin"), None).await,
        409,
        "LAST_ADMINISTRATOR",
    );
    assert_eq!(app.membership_rows(&group).len(), 4);
}

/// Alpha ⊃ Beta ⊃ Gamma, with one user directly in each.
async fn nest_three(app: &TestApp) -> [String; 3] {
    for g in ["Alpha", "Beta", "Gamma"] {
        app.create_group(g).await;
    }
    for (user, group) in [("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")] {
        app.create_user(&format!("{user}@example.com"), Some(user)).await;
        let r = app.call(Method::PUT, &format!("{M}/groups/{group}/users/{user}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(app.call(Method::PUT, &format!("{M}/groups/Alpha/groups/Beta"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::PUT, &format!("{LEGACY}/groups/Beta/groups/Gamma"), None).await.status, StatusCode::NO_CONTENT);
    let id = |r: Response| r.body["id"].as_str().unwrap().to_owned();
    [
        id(app.call(Method::GET, &format!("{M}/groups/Alpha"), None).await),
        id(app.call(Method::GET, &format!("{M}/groups/Beta"), None).await),
        id(app.call(Method::GET, &format!("{M}/groups/Gamma"), None).await),
    ]
}

async fn membership_is_inherited_through_three_levels(app: TestApp) {
    let [_alpha, beta, gamma] = nest_three(&app).await;
    let head = |path: String| {
        let app = &app;
        async move { app.send(app.request(Method::HEAD, &path)).await.status }
    };
    assert_eq!(head(format!("{M}/groups/Alpha/users/c")).await, StatusCode::NO_CONTENT, "c is in Alpha through Beta and Gamma");
    assert_eq!(head(format!("{M}/groups/Gamma/users/a")).await, StatusCode::NOT_FOUND, "membership flows up only");
    let direct = app.call(Method::GET, &format!("{M}/groups/Alpha/users"), None).await;
    assert_eq!(emails(&direct.body["items"]), ["a@example.com"]);
    let all = app.call(Method::GET, &format!("{M}/groups/Alpha/users?includeInherited=true"), None).await;
    assert_eq!(emails(&all.body["items"]), ["a@example.com", "b@example.com", "c@example.com"]);
    let pruned = app.call(Method::GET, &format!("{M}/groups/Alpha/users?includeInherited=true&excludedGroups=Gamma"), None).await;
    assert_eq!(emails(&pruned.body["items"]), ["a@example.com", "b@example.com"]);
    let pruned = app.call(Method::GET, &format!("{M}/groups/Alpha/users?includeInherited=true&excludedGroups={beta}"), None).await;
    assert_eq!(emails(&pruned.body["items"]), ["a@example.com"]);

    let children = app.call(Method::GET, &format!("{M}/groups/Alpha/groups"), None).await;
    assert_eq!(names(&children.body["items"]), ["Beta"]);
    let below = app.call(Method::GET, &format!("{M}/groups/Alpha/groups?includeInherited=true&includeSelf=true"), None).await;
    assert_eq!(names(&below.body["items"]), ["Alpha", "Beta", "Gamma"]);
    let mine = app.call(Method::GET, &format!("{M}/users/c/groups"), None).await;
    assert_eq!(names(&mine.body["items"]), ["Gamma"]);
    let mine = app.call(Method::GET, &format!("{LEGACY}/users/c/groups?includeInherited=true"), None).await;
    assert_eq!(names(&mine.body["items"]), ["Alpha", "Beta", "Gamma"]);
    // Both listings are PagedLists: paging, order, excludedGroups.
    let page = app.call(Method::GET, &format!("{M}/users/c/groups?includeInherited=true&pageIndex=1&pageSize=2"), None).await;
    assert_eq!((page.body["pageIndex"].as_i64(), page.body["pageSize"].as_i64()), (Some(1), Some(2)), "{}", page.text);
    assert_eq!((page.body["totalCount"].as_i64(), page.body["pageCount"].as_i64()), (Some(3), Some(2)), "{}", page.text);
    assert_eq!(names(&page.body["items"]), ["Gamma"]);
    let desc = app.call(Method::GET, &format!("{M}/users/c/groups?includeInherited=true&order=-name&excludedGroups=Beta"), None).await;
    assert_eq!(names(&desc.body["items"]), ["Gamma", "Alpha"]);
    let desc = app.call(Method::GET, &format!("{M}/groups/Alpha/groups?includeInherited=true&order=-createdAt&pageSize=1"), None).await;
    assert_eq!((names(&desc.body["items"]), desc.body["totalCount"].as_i64()), (vec!["Gamma".to_owned()], Some(2)), "{}", desc.text);
    let bad = app.call(Method::GET, &format!("{M}/groups/Alpha/groups?order=size"), None).await;
    assert_management_error(&bad, 400, "VALIDATION_ERROR");
    let bad = app.call(Method::GET, &format!("{M}/users/c/groups?pageSize=0"), None).await;
    assert_management_error(&bad, 400, "VALIDATION_ERROR");
    assert_eq!(head(format!("{M}/users/c/groups/Nope,Alpha")).await, StatusCode::NO_CONTENT);
    assert_eq!(head(format!("{M}/users/a/groups/Beta,{gamma}")).await, StatusCode::NOT_FOUND);

    // Taking Beta out of Alpha ends the inheritance.
    assert_eq!(app.call(Method::DELETE, &format!("{M}/groups/Alpha/groups/Beta"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(head(format!("{M}/groups/Alpha/users/c")).await, StatusCode::NOT_FOUND);
    assert_management_error(&app.call(Method::DELETE, &format!("{M}/groups/Alpha/groups/Beta"), None).await, 404, "NOT_A_CHILD");
}

async fn cycles_are_refused_and_bulk_nesting_is_atomic(app: TestApp) {
    let [alpha, beta, gamma] = nest_three(&app).await;
    for (parent, child) in [("Gamma", "Alpha"), ("Beta", "Alpha"), ("Alpha", "Alpha"), ("Gamma", "Beta")] {
        let r = app.call(Method::PUT, &format!("{M}/groups/{parent}/groups/{child}"), None).await;
        assert_management_error(&r, 400, "GROUP_CYCLE");
    }
    assert_management_error(&app.call(Method::POST, &format!("{M}/groups/Gamma/groups"), Some(json!([alpha]))).await, 400, "GROUP_CYCLE");
    // Idempotent.
    assert_eq!(app.call(Method::PUT, &format!("{M}/groups/Alpha/groups/Beta"), None).await.status, StatusCode::NO_CONTENT);

    let delta = app.create_group("Delta").await;
    let epsilon = app.create_group("Epsilon").await;
    let unknown = Uuid::new_v4().to_string();
    let r = app.call(Method::POST, &format!("{M}/groups/Delta/groups"), Some(json!([epsilon, unknown]))).await;
    assert_management_error(&r, 400, "UNKNOWN_GROUPS");
    assert_eq!(r.body["data"]["groupIds"], json!([unknown]));
    let r = app.call(Method::POST, &format!("{M}/groups/Delta/groups"), Some(json!([epsilon, gamma, delta]))).await;
    assert_management_error(&r, 400, "GROUP_CYCLE");
    assert_eq!(names(&app.call(Method::GET, &format!("{M}/groups/Delta/groups"), None).await.body["items"]).len(), 0, "nothing was nested");
    let r = app.call(Method::POST, &format!("{LEGACY}/groups/Delta/groups"), Some(json!([epsilon, gamma, beta]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(names(&app.call(Method::GET, &format!("{M}/groups/Delta/groups"), None).await.body["items"]), ["Beta", "Epsilon", "Gamma"]);
    for body in [json!([]), json!(["x"]), json!((0..101).map(|_| Uuid::new_v4().to_string()).collect::<Vec<_>>())] {
        assert_management_error(&app.call(Method::POST, &format!("{M}/groups/Delta/groups"), Some(body)).await, 400, "VALIDATION_ERROR");
    }
    // Deleting a group takes its edges with it.
    assert_eq!(app.call(Method::DELETE, &format!("{M}/groups/Beta"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(names(&app.call(Method::GET, &format!("{M}/groups/Delta/groups"), None).await.body["items"]), ["Epsilon", "Gamma"]);
}

/// Offset pages of a group's members, in every order, put together give
/// the whole list exactly: pages in the back half are read from the end
/// (reversed, then turned round), including orders on a field some users
/// leave empty, and after a member is deleted.
async fn member_pages_in_any_order_add_up_to_the_whole_list(app: TestApp) {
    let group = app.create_group("Paged").await;
    let mut users = Vec::new();
    for i in 0..7 {
        // Every other user without a username (NULL in the username order).
        let username = (i % 2 == 0).then(|| format!("p{}", 7 - i));
        users.push(app.create_user(&format!("p{i}@example.com"), username.as_deref()).await);
    }
    let r = app.call(Method::POST, &format!("{M}/groups/{group}/users"), Some(json!(users))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let gone = app.call(Method::DELETE, &format!("/v1/users/{}", users[3]), None).await;
    assert!(gone.status.is_success(), "{}", gone.text);
    let ids = |page: &Response| -> Vec<String> {
        page.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    for order in ["email", "-email", "username", "-username", "createdAt,-email"] {
        let whole = app.call(Method::GET, &format!("{M}/groups/{group}/users?pageSize=100&order={order}"), None).await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.text);
        let whole_ids = ids(&whole);
        assert_eq!(whole_ids.len(), 6, "{order}: {}", whole.text);
        assert_eq!(whole.body["totalCount"].as_i64(), Some(6));
        for size in 1..=4 {
            let mut joined = Vec::new();
            for index in 0..whole_ids.len().div_ceil(size) {
                let page =
                    app.call(Method::GET, &format!("{M}/groups/{group}/users?pageSize={size}&pageIndex={index}&order={order}"), None).await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.text);
                assert_eq!(page.body["totalCount"].as_i64(), Some(6), "{order} {size} {index}");
                joined.extend(ids(&page));
            }
            assert_eq!(joined, whole_ids, "order {order}, pages of {size}");
            let past = app.call(Method::GET, &format!("{M}/groups/{group}/users?pageSize={size}&pageIndex=9&order={order}"), None).await;
            assert_eq!(ids(&past), Vec::<String>::new(), "{order}: a page past the end is empty");
        }
    }
}

backend_tests!(
    groups_are_created_paged_replaced_and_deleted,
    users_are_created_read_replaced_and_deleted,
    members_are_listed_removed_and_checked,
    membership_is_inherited_through_three_levels,
    cycles_are_refused_and_bulk_nesting_is_atomic,
    member_pages_in_any_order_add_up_to_the_whole_list,
);
