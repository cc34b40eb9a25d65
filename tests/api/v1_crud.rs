//! The rest of v1: users and groups read, update, delete; member removal;
//! a user's groups.

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{assert_v1_error, Response, TestApp};

fn ids(r: &Response) -> Vec<String> {
    r.body["items"].as_array().unwrap_or_else(|| panic!("items: {}", r.text)).iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

fn field(r: &Response, name: &str) -> Vec<String> {
    r.body["items"].as_array().unwrap().iter().map(|i| i[name].as_str().unwrap_or("").to_owned()).collect()
}

async fn users_list_in_pages_with_filters_and_sorts(app: TestApp) {
    for (email, username, first) in [
        ("alice@x.org", "alice", "Alice"),
        ("bob@x.org", "bob", "Robert"),
        ("carol@y.org", "carol", "Carol"),
        ("dave@y.org", "dave", "Dave"),
    ] {
        let body = json!({"email": email, "username": username, "first_name": first});
        assert_eq!(app.call(Method::POST, "/v1/users", Some(body)).await.status, StatusCode::CREATED);
    }
    // The admin and the four.
    let all = app.call(Method::GET, "/v1/users?sort=email", None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["total"], 5);
    assert_eq!(field(&all, "email"), ["admin@example.com", "alice@x.org", "bob@x.org", "carol@y.org", "dave@y.org"]);
    let desc = app.call(Method::GET, "/v1/users?sort=-email&limit=2", None).await;
    assert_eq!(field(&desc, "email"), ["dave@y.org", "carol@y.org"]);
    let last = app.call(Method::GET, "/v1/users?sort=email&limit=2&offset=4", None).await;
    assert_eq!(field(&last, "email"), ["dave@y.org"]);
    assert_eq!(last.body["total"], 5);
    let past = app.call(Method::GET, "/v1/users?limit=2&offset=50", None).await;
    assert_eq!(ids(&past).len(), 0);
    assert_eq!(past.body["total"], 5);
    let by_email = app.call(Method::GET, "/v1/users?email=Y.ORG&sort=email", None).await;
    assert_eq!(field(&by_email, "email"), ["carol@y.org", "dave@y.org"]);
    assert_eq!(by_email.body["total"], 2);
    let by_name = app.call(Method::GET, "/v1/users?name=rob", None).await;
    assert_eq!(field(&by_name, "email"), ["bob@x.org"]);
    // LIKE wildcards are matched literally.
    assert_eq!(app.call(Method::GET, "/v1/users?email=%25", None).await.body["total"], 0);
    for bad in ["limit=0", "limit=1001", "offset=-1", "sort=id", "limit=x", "include_deleted=maybe"] {
        assert_v1_error(&app.call(Method::GET, &format!("/v1/users?{bad}"), None).await, 400, "VALIDATION_ERROR");
    }
}

async fn a_user_is_read_updated_and_soft_deleted(app: TestApp) {
    let id = app.create_user("tyler@example.com", Some("tyler")).await;
    app.create_user("taken@example.com", Some("taken")).await;
    let group = app.create_group("Soap").await;
    let r = app.call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!([id]))).await;
    assert_eq!(r.status, StatusCode::CREATED);

    let r = app.call(Method::GET, &format!("/v1/users/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["username"], "tyler");
    assert!(r.body.get("deleted_at").is_none());

    let r = app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"email": "Tyler.D@example.com", "last_name": "Durden"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["email"], "Tyler.D@example.com");
    assert_eq!(r.body["last_name"], "Durden");
    assert_eq!(r.body["username"], "tyler", "absent fields stay");
    assert_v1_error(
        &app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"email": "TAKEN@example.com"}))).await,
        409,
        "NAME_TAKEN",
    );
    assert_v1_error(&app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"username": "Taken"}))).await, 409, "NAME_TAKEN");
    assert_v1_error(&app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"email": "nope"}))).await, 400, "VALIDATION_ERROR");
    // Keeping one's own email (in another case) is no conflict.
    assert_eq!(
        app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"email": "tyler.d@EXAMPLE.com"}))).await.status,
        StatusCode::OK
    );

    assert_eq!(app.call(Method::DELETE, &format!("/v1/users/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_v1_error(&app.call(Method::GET, &format!("/v1/users/{id}"), None).await, 404, "USER_NOT_FOUND");
    let r = app.call(Method::GET, &format!("/v1/users/{id}?include_deleted=true"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["deleted_at"].is_string());
    assert_v1_error(&app.call(Method::DELETE, &format!("/v1/users/{id}"), None).await, 404, "USER_NOT_FOUND");
    assert_v1_error(&app.call(Method::PATCH, &format!("/v1/users/{id}"), Some(json!({"first_name": "X"}))).await, 404, "USER_NOT_FOUND");
    // Gone from listings and from the group, and cannot be added again.
    assert!(!ids(&app.call(Method::GET, "/v1/users", None).await).contains(&id));
    assert!(ids(&app.call(Method::GET, "/v1/users?include_deleted=true", None).await).contains(&id));
    assert!(app.members(&group).await.is_empty());
    assert_v1_error(&app.call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!([id]))).await, 400, "UNKNOWN_USERS");
    // Its email stays taken.
    assert_v1_error(&app.call(Method::POST, "/v1/users", Some(json!({"email": "tyler.d@example.com"}))).await, 409, "NAME_TAKEN");
    assert_v1_error(&app.call(Method::GET, "/v1/users/not-a-uuid", None).await, 400, "VALIDATION_ERROR");
    assert_v1_error(&app.call(Method::GET, &format!("/v1/users/{}", Uuid::new_v4()), None).await, 404, "USER_NOT_FOUND");
}

async fn groups_are_listed_read_updated_and_deleted(app: TestApp) {
    let soap = app.create_group("Soap").await;
    let mischief = app.create_group("Project Mayhem").await;
    let user = app.create_user("u@example.com", None).await;
    app.call(Method::PUT, &format!("/v1/groups/{soap}/users"), Some(json!([user]))).await;

    let r = app.call(Method::GET, "/v1/groups?sort=name", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(field(&r, "name"), ["Project Mayhem", "Soap", "System Administrators"]);
    assert_eq!(r.body["total"], 3);
    let r = app.call(Method::GET, "/v1/groups?name=SOA", None).await;
    assert_eq!(ids(&r), std::slice::from_ref(&soap));
    let r = app.call(Method::GET, "/v1/groups?sort=-name&limit=1&offset=1", None).await;
    assert_eq!(field(&r, "name"), ["Soap"]);

    let r = app.call(Method::GET, &format!("/v1/groups/{soap}"), None).await;
    assert_eq!(r.body["name"], "Soap");
    assert_eq!(r.body["permissions"], json!([]));
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/groups/{soap}"),
            Some(json!({"description": "bars", "permissions": ["user_read", "group_read"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Soap");
    assert_eq!(r.body["description"], "bars");
    assert_eq!(r.body["permissions"], json!(["group_read", "user_read"]));
    assert_v1_error(
        &app.call(Method::PATCH, &format!("/v1/groups/{soap}"), Some(json!({"name": "project MAYHEM"}))).await,
        409,
        "NAME_TAKEN",
    );
    assert_v1_error(
        &app.call(Method::PATCH, &format!("/v1/groups/{soap}"), Some(json!({"permissions": ["fly"]}))).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_v1_error(
        &app.call(Method::PATCH, &format!("/v1/groups/{soap}"), Some(json!({"description": "x".repeat(1001)}))).await,
        400,
        "VALIDATION_ERROR",
    );
    let r = app.call(Method::PATCH, &format!("/v1/groups/{soap}"), Some(json!({"name": "Soap Co"}))).await;
    assert_eq!(r.body["name"], "Soap Co");

    assert_eq!(app.call(Method::DELETE, &format!("/v1/groups/{soap}"), None).await.status, StatusCode::NO_CONTENT);
    assert_v1_error(&app.call(Method::GET, &format!("/v1/groups/{soap}"), None).await, 404, "GROUP_NOT_FOUND");
    assert_v1_error(&app.call(Method::DELETE, &format!("/v1/groups/{soap}"), None).await, 404, "GROUP_NOT_FOUND");
    assert!(app.membership_rows(&soap).is_empty(), "memberships go with the group");
    assert_eq!(app.call(Method::GET, &format!("/v1/groups/{mischief}"), None).await.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, &format!("/v1/users/{user}"), None).await.status, StatusCode::OK, "users stay");
}

async fn system_administrators_is_protected(app: TestApp) {
    let r = app.call(Method::GET, "/v1/groups?name=system", None).await;
    let system = ids(&r)[0].clone();
    assert_v1_error(&app.call(Method::DELETE, &format!("/v1/groups/{system}"), None).await, 409, "SYSTEM_GROUP");
    assert_v1_error(&app.call(Method::PATCH, &format!("/v1/groups/{system}"), Some(json!({"name": "Admins"}))).await, 409, "SYSTEM_GROUP");
    assert_v1_error(
        &app.call(Method::PATCH, &format!("/v1/groups/{system}"), Some(json!({"permissions": ["user_read"]}))).await,
        409,
        "SYSTEM_GROUP",
    );
    let admin = app.tenant.admin_id.clone();
    // Its only member can neither leave nor be deleted.
    assert_v1_error(
        &app.call(Method::DELETE, &format!("/v1/groups/{system}/users"), Some(json!([admin]))).await,
        409,
        "LAST_ADMINISTRATOR",
    );
    assert_v1_error(&app.call(Method::DELETE, &format!("/v1/users/{admin}"), None).await, 409, "LAST_ADMINISTRATOR");
    // With a second administrator, the first may go.
    let second = app.create_user("second@example.com", None).await;
    assert_eq!(app.call(Method::PUT, &format!("/v1/groups/{system}/users"), Some(json!([second]))).await.status, StatusCode::CREATED);
    assert_eq!(app.call(Method::DELETE, &format!("/v1/groups/{system}/users"), Some(json!([admin]))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.membership_rows(&system), [second]);
}

async fn members_are_removed_in_bulk(app: TestApp) {
    let group = app.create_group("Soap").await;
    let users = app.create_users(4).await;
    app.call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!(users))).await;
    let stranger = Uuid::new_v4().to_string();
    let r = app.call(Method::DELETE, &format!("/v1/groups/{group}/users"), Some(json!([users[0], users[1], users[1], stranger]))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let mut left = vec![users[2].clone(), users[3].clone()];
    left.sort();
    assert_eq!(app.members(&group).await, left);
    let too_many: Vec<String> = (0..101).map(|_| Uuid::new_v4().to_string()).collect();
    for body in [json!([]), json!(too_many), json!(["nope"]), json!({"ids": []})] {
        assert_v1_error(&app.call(Method::DELETE, &format!("/v1/groups/{group}/users"), Some(body)).await, 400, "VALIDATION_ERROR");
    }
    assert_eq!(app.members(&group).await, left, "rejected removals change nothing");
    assert_v1_error(
        &app.call(Method::DELETE, &format!("/v1/groups/{}/users", Uuid::new_v4()), Some(json!([users[2]]))).await,
        404,
        "GROUP_NOT_FOUND",
    );
}

async fn a_user_lists_their_groups(app: TestApp) {
    let a = app.create_group("Alpha").await;
    let b = app.create_group("Beta").await;
    app.create_group("Gamma").await;
    let user = app.create_user("member@example.com", None).await;
    for g in [&b, &a] {
        app.call(Method::PUT, &format!("/v1/groups/{g}/users"), Some(json!([user]))).await;
    }
    let r = app.call(Method::GET, &format!("/v1/users/{user}/groups"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names: Vec<&str> = r.body.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha", "Beta"]);
    assert_v1_error(&app.call(Method::GET, &format!("/v1/users/{}/groups", Uuid::new_v4()), None).await, 404, "USER_NOT_FOUND");
}

backend_tests!(
    users_list_in_pages_with_filters_and_sorts,
    a_user_is_read_updated_and_soft_deleted,
    groups_are_listed_read_updated_and_deleted,
    system_administrators_is_protected,
    members_are_removed_in_bulk,
    a_user_lists_their_groups,
);
