//! What the vendor's published client sends and expects of the management
//! surface beyond memberships: `@current`, the slashless group collection,
//! filters Rollcall does not implement (refused, never ignored), and
//! `suspended` on create.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{assert_management_error, TestApp};

const M: &str = "/api/security";
const LEGACY: &str = "/api/management/security";

/// `users/@current` is the caller, on every user route of both prefixes.
async fn at_current_is_the_caller(app: TestApp) {
    let plain = app.create_user("plain@example.com", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    for prefix in [M, LEGACY] {
        let r = app.call_as(&app.tenant, &token, Method::GET, &format!("{prefix}/users/@current"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["id"], plain.as_str());
        let r = app.call_as(&app.tenant, &token, Method::GET, &format!("{prefix}/users/@current/groups"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["totalCount"], 0);
    }
    let r = app.call(Method::GET, &format!("{M}/users/@current"), None).await;
    assert_eq!(r.body["id"], app.tenant.admin_id.as_str());
}

/// `POST`/`GET {mgmt}/groups` without the slash: served and in the spec.
async fn the_group_collection_answers_without_its_slash(app: TestApp) {
    let r = app.call(Method::POST, &format!("{M}/groups"), Some(json!({"name": "No Slash"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.call(Method::GET, &format!("{LEGACY}/groups?q=slash"), None).await;
    assert_eq!(r.body["totalCount"], 1, "{}", r.text);
    let spec = app.send(app.client.get(app.url("/api-docs/openapi.json"))).await.body;
    for prefix in [M, LEGACY] {
        let item = &spec["paths"][format!("{prefix}/groups")];
        assert!(item["get"].is_object() && item["post"].is_object(), "{prefix}/groups is documented");
    }
}

/// A filter the vendor's client can send and Rollcall does not implement is
/// a 400 that says so, on every route and spelling: a script deleting what
/// a filtered listing returns must not get everyone.
async fn filters_rollcall_does_not_implement_are_refused(app: TestApp) {
    let group = app.create_group("Filtered").await;
    let user = app.create_user("f@example.com", Some("f")).await;
    for path in [
        format!("{M}/users?zenQL=firstName%3D%22x%22"),
        format!("{M}/users?zenql=x"),
        format!("{LEGACY}/groups/?ZENQL=x"),
        format!("{M}/groups/{group}/users?zenQL=x"),
        format!("{M}/groups/{group}/groups?zenQL=x"),
        format!("{M}/users/{user}?classicUserId=true"),
    ] {
        let r = app.call(Method::GET, &path, None).await;
        assert_management_error(&r, 400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().contains("not implemented"), "{path}: {}", r.text);
    }
    // Deleting with it is refused too, and nothing is deleted.
    let r = app.call(Method::DELETE, &format!("{M}/users/{user}?zenQL=x"), None).await;
    assert_management_error(&r, 400, "VALIDATION_ERROR");
    assert_eq!(app.call(Method::GET, &format!("{M}/users/{user}"), None).await.status, StatusCode::OK);
    // Child groups take q.
    let child = app.create_group("Child One").await;
    app.call(Method::PUT, &format!("{M}/groups/{group}/groups/{child}"), None).await;
    let r = app.call(Method::GET, &format!("{M}/groups/{group}/groups?q=ONE"), None).await;
    assert_eq!(r.body["totalCount"], 1, "{}", r.text);
    let r = app.call(Method::GET, &format!("{M}/groups/{group}/groups?q=two"), None).await;
    assert_eq!(r.body["totalCount"], 0, "{}", r.text);
}

/// `POST {mgmt}/users?suspended=true` makes a user who cannot sign in until unsuspended.
async fn users_can_be_created_suspended(app: TestApp) {
    let body = json!({"email": "s@example.com", "username": "sus", "credentials": {"password": "a long password"}});
    let r = app.call(Method::POST, &format!("{M}/users?suspended=true"), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"]["suspended"], true, "the answer says so: {}", r.text);
    assert!(r.body["passwordChanged"].is_string(), "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let grant = || {
        app.send(app.client.post(app.url("/authenticate/connect/token")).form(&[
            ("grant_type", "password"),
            ("username", "sus"),
            ("password", "a long password"),
        ]))
    };
    let refused = grant().await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "suspended: {}",
        refused.text
    );
    let r = app.call(Method::POST, &format!("{M}/users/{id}/actions"), Some(json!({"type": "unsuspend"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let granted = grant().await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    assert!(granted.body["access_token"].is_string(), "{}", granted.text);
}

/// Property names match case-insensitively, as the vendor's examples spell them.
async fn property_names_match_case_insensitively(app: TestApp) {
    let body = json!({"Email": "c@example.com", "userName": "casey", "firstname": "Casey", "LASTNAME": "Jones", "credentials": {"Password": "a long password"}});
    let r = app.call(Method::POST, &format!("{M}/users"), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["username"].as_str(), r.body["firstName"].as_str(), r.body["lastName"].as_str()),
        (Some("casey"), Some("Casey"), Some("Jones"))
    );
    let signed_in = app
        .send(app.client.post(app.url("/authenticate/connect/token")).form(&[
            ("grant_type", "password"),
            ("username", "casey"),
            ("password", "a long password"),
        ]))
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "the nested password was read: {}", signed_in.text);
    let r = app.call(Method::POST, &format!("{M}/groups"), Some(json!({"NAME": "Cased", "Description": "described"}))).await;
    assert_eq!((r.status, r.body["description"].as_str()), (StatusCode::CREATED, Some("described")), "{}", r.text);
    let r = app.call(Method::POST, &format!("{M}/groups"), Some(json!({"name": "Twice", "Name": "Twice again"}))).await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
}

/// PATCH with a merge patch (RFC 7396): present sets, null clears, absent
/// keeps; read-only fields of a user as read are ignored.
async fn users_and_groups_take_merge_patches(app: TestApp) {
    let body = json!({"email": "p@example.com", "username": "pat", "firstName": "Pat", "lastName": "Doe"});
    let user = app.call(Method::POST, &format!("{M}/users"), Some(body)).await.body;
    let id = user["id"].as_str().unwrap().to_owned();
    let patch = |path: String, body: serde_json::Value| {
        app.send(
            app.request(Method::PATCH, &path).header("Content-Type", "application/merge-patch+json; charset=utf-8").body(body.to_string()),
        )
    };
    let mut changed = user.clone();
    changed["lastName"] = json!(null);
    changed["FirstName"] = json!("Patricia");
    changed.as_object_mut().unwrap().remove("firstName");
    let r = patch(format!("{M}/users/{id}"), changed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["firstName"].as_str(), r.body["lastName"].as_str(), r.body["username"].as_str()),
        (Some("Patricia"), None, Some("pat"))
    );
    let r = patch(format!("{LEGACY}/users/{id}"), json!({"username": null})).await;
    assert_eq!(
        (r.status, r.body["username"].clone(), r.body["email"].clone()),
        (StatusCode::OK, json!(null), json!("p@example.com")),
        "{}",
        r.text
    );
    for bad in
        [json!({"email": null}), json!({"email": "not an email"}), json!({"credentials": {"password": "a long password"}}), json!(["x"])]
    {
        let r = patch(format!("{M}/users/{id}"), bad.clone()).await;
        assert_management_error(&r, 422, "VALIDATION_ERROR");
    }
    let read = app.call(Method::GET, &format!("{M}/users/{id}"), None).await;
    assert_eq!(read.body["firstName"], "Patricia", "refused patches changed nothing: {}", read.text);

    let group = app.create_group("Patched").await;
    let r = patch(format!("{M}/groups/{group}"), json!({"Description": "first"})).await;
    assert_eq!(
        (r.status, r.body["description"].as_str(), r.body["name"].as_str()),
        (StatusCode::OK, Some("first"), Some("Patched")),
        "{}",
        r.text
    );
    let r = patch(format!("{M}/groups/{group}"), json!({"description": null, "name": "Renamed"})).await;
    assert_eq!((r.body["description"].as_str(), r.body["name"].as_str()), (Some(""), Some("Renamed")), "{}", r.text);
    assert_management_error(&patch(format!("{M}/groups/{group}"), json!({"name": null})).await, 422, "VALIDATION_ERROR");
}

/// The vendor's user and group models: every field stored, answered and
/// round-tripped; status follows the user actions and sign-ins.
async fn the_vendor_models_round_trip(app: TestApp) {
    let body = json!({
        "email": "m@example.com", "userName": "model", "firstName": "Mo", "lastName": "Del",
        "timezone": "Europe/London", "Language": "en-GB", "avatarUrl": "https://example.com/m.png",
        "custom": {"team": "blue", "Nested": {"n": [1, 2]}}, "optOutOfNotifications": true,
        "credentials": {"password": "a long password"},
    });
    let r = app.call(Method::POST, &format!("{M}/users"), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let read = app.call(Method::GET, &format!("{LEGACY}/users/{id}"), None).await.body;
    for (field, value) in [
        ("timezone", json!("Europe/London")),
        ("language", json!("en-GB")),
        ("avatarUrl", json!("https://example.com/m.png")),
        ("custom", json!({"team": "blue", "Nested": {"n": [1, 2]}})),
        ("optOutOfNotifications", json!(true)),
        ("status", json!({"suspended": false, "locked": false, "passwordResetRequired": false})),
        ("lastLogin", json!(null)),
    ] {
        assert_eq!(read[field], value, "{field}: {read}");
    }
    assert!(read["created"].is_string() && read["modified"].is_string() && read["passwordChanged"].is_string(), "{read}");
    assert!(read.get("credentials").is_none(), "credentials are write-only: {read}");

    let signed_in = app
        .send(app.client.post(app.url("/authenticate/connect/token")).form(&[
            ("grant_type", "password"),
            ("username", "model"),
            ("password", "a long password"),
        ]))
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    app.call(Method::POST, &format!("{M}/users/{id}/actions"), Some(json!({"type": "suspend"}))).await;
    app.call(Method::POST, &format!("{M}/users/{id}/credentials/password"), Some(json!({"new": "set by an admin"}))).await;
    let read = app.call(Method::GET, &format!("{M}/users/{id}"), None).await.body;
    assert_eq!(read["status"], json!({"suspended": true, "locked": false, "passwordResetRequired": true}), "{read}");
    assert!(read["lastLogin"].is_string(), "{read}");

    let patch = |path: String, body: serde_json::Value| {
        app.send(app.request(Method::PATCH, &path).header("Content-Type", "application/merge-patch+json").body(body.to_string()))
    };
    let r = patch(format!("{M}/users/{id}"), json!({"custom": null, "timezone": "America/New_York", "optOutOfNotifications": false})).await;
    assert_eq!(
        (r.body["custom"].clone(), r.body["timezone"].clone(), r.body["language"].clone()),
        (json!(null), json!("America/New_York"), json!("en-GB")),
        "{}",
        r.text
    );
    assert_eq!(r.body["optOutOfNotifications"], false);
    for bad in [json!({"timezone": "Europe//x"}), json!({"language": "english!"}), json!({"avatarUrl": "ftp://x"}), json!({"custom": [1]})]
    {
        assert_management_error(&patch(format!("{M}/users/{id}"), bad).await, 422, "VALIDATION_ERROR");
    }

    let r = app.call(Method::POST, &format!("{M}/groups"), Some(json!({"name": "Modelled", "custom": {"colour": "red"}}))).await;
    assert_eq!((r.body["type"].as_str(), r.body["custom"].clone()), (Some("contensis"), json!({"colour": "red"})), "{}", r.text);
    assert!(r.body["created"].is_string() && r.body["modified"].is_string());
    let r = app.call(Method::GET, &format!("{M}/groups/System%20Administrators"), None).await;
    assert_eq!(r.body["type"], "sys", "{}", r.text);
    let r = patch(format!("{M}/groups/Modelled"), json!({"custom": {"colour": "blue"}})).await;
    assert_eq!(r.body["custom"], json!({"colour": "blue"}), "{}", r.text);
    let r = app.call(Method::GET, &format!("{M}/groups/Modelled"), None).await;
    assert_eq!(r.body["custom"], json!({"colour": "blue"}), "{}", r.text);
}

/// `order` takes the model's names and lists of fields, on every listing.
async fn order_takes_the_models_names_and_lists(app: TestApp) {
    for (email, username, first, last) in
        [("a@x.com", "ua", "Ann", "Zed"), ("b@x.com", "ub", "Bob", "Young"), ("c@x.com", "uc", "Ann", "Young")]
    {
        let body = json!({"email": email, "username": username, "firstName": first, "lastName": last});
        assert_eq!(app.call(Method::POST, &format!("{M}/users"), Some(body)).await.status, StatusCode::CREATED);
    }
    let emails = |r: &crate::helpers::Response| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .filter(|e| e.ends_with("x.com"))
            .collect()
    };
    let r = app.call(Method::GET, &format!("{M}/users?order=lastName,-firstName"), None).await;
    assert_eq!(emails(&r), ["b@x.com", "c@x.com", "a@x.com"], "{}", r.text);
    let r = app.call(Method::GET, &format!("{M}/users?order=firstName,userName"), None).await;
    assert_eq!(emails(&r), ["a@x.com", "c@x.com", "b@x.com"], "{}", r.text);
    let r = app.call(Method::GET, &format!("{M}/users?order=-created"), None).await;
    assert_eq!(emails(&r)[0], "c@x.com", "{}", r.text);
    let group = app.create_group("Ordered").await;
    for u in ["ua", "ub", "uc"] {
        app.call(Method::PUT, &format!("{M}/groups/{group}/users/{u}"), None).await;
    }
    let r = app.call(Method::GET, &format!("{M}/groups/{group}/users?order=-lastName,firstName"), None).await;
    assert_eq!(emails(&r), ["a@x.com", "c@x.com", "b@x.com"], "{}", r.text);
    let r = app.call(Method::GET, &format!("{M}/groups?order=-modified,name"), None).await;
    assert_eq!(r.body["items"][0]["name"], "Ordered", "{}", r.text);
    for bad in ["a,b,c,d", "size", "lastName,"] {
        let r = app.call(Method::GET, &format!("{M}/users?order={bad}"), None).await;
        assert_management_error(&r, 400, "VALIDATION_ERROR");
    }
}

/// `users/search` with the client's where clause, over GET and POST: each
/// operator, and/or/not, order and paging; what is not implemented is a 400.
async fn users_are_searched_with_the_clients_where_clause(app: TestApp) {
    for (email, username, first, last, tz) in [
        ("tyler@paper.st", "tdurden", "Tyler", "Durden", Some("America/New_York")),
        ("marla@paper.st", "msinger", "Marla", "Singer", None),
        ("bob@paper.st", "bpaulson", "Robert", "Paulson", Some("Europe/London")),
    ] {
        let mut body = json!({"email": email, "username": username, "firstName": first, "lastName": last});
        if let Some(tz) = tz {
            body["timezone"] = json!(tz);
        }
        assert_eq!(app.call(Method::POST, &format!("{M}/users"), Some(body)).await.status, StatusCode::CREATED);
    }
    let search = |clause: serde_json::Value, order: &str| {
        let url = format!("{M}/users/search?where={}&orderBy={}&pageSize=10", urlencode(&clause.to_string()), urlencode(order));
        let app = &app;
        async move { app.call(Method::GET, &url, None).await }
    };
    let names = |r: &crate::helpers::Response| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|u| u["username"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let cases = [
        (json!([{"field": "userName", "equalTo": "TDURDEN"}]), vec!["tdurden"]),
        (json!([{"field": "email", "endsWith": "@PAPER.ST"}, {"field": "lastName", "startsWith": "s"}]), vec!["msinger"]),
        (
            json!([{"or": [{"field": "firstName", "contains": "ob"}, {"field": "firstName", "equalTo": "marla"}]}]),
            vec!["bpaulson", "msinger"],
        ),
        (json!([{"field": "email", "endsWith": "paper.st"}, {"not": {"field": "timezone", "exists": true}}]), vec!["msinger"]),
        (json!([{"field": "timezone", "in": ["Europe/London", "Asia/Tokyo"]}]), vec!["bpaulson"]),
        (
            json!([{"field": "email", "contains": "paper"}, {"field": "created", "greaterThan": "2000-01-01T00:00:00Z"}]),
            vec!["bpaulson", "msinger", "tdurden"],
        ),
        (json!([{"field": "created", "lessThan": "2000-01-01T00:00:00Z"}]), vec![]),
        (json!([{"field": "email", "contains": "%"}]), vec![]),
    ];
    for (clause, expected) in cases {
        let r = search(clause.clone(), "[\"userName\"]").await;
        assert_eq!(r.status, StatusCode::OK, "{clause}: {}", r.text);
        assert_eq!(names(&r), expected, "{clause}");
        assert_eq!(r.body["totalCount"].as_i64(), Some(expected.len() as i64));
    }
    let r = search(json!([{"field": "email", "contains": "paper"}]), "[{\"desc\":\"lastName\"}]").await;
    assert_eq!(names(&r), ["msinger", "bpaulson", "tdurden"], "{}", r.text);
    let r = app
        .call(
            Method::POST,
            &format!("{M}/users/search"),
            Some(json!({"where": [{"field": "lastName", "equalTo": "durden"}], "pageIndex": 0, "pageSize": 5, "includeDeleted": false})),
        )
        .await;
    assert_eq!(names(&r), ["tdurden"], "{}", r.text);
    for bad in [
        json!([{"field": "password", "equalTo": "x"}]),
        json!([{"field": "email", "freeText": {"term": "x"}}]),
        json!([{"field": "created", "contains": "x"}]),
        json!({"field": "email"}),
    ] {
        assert_management_error(&search(bad.clone(), "email").await, 400, "VALIDATION_ERROR");
    }
    let r = app.call(Method::GET, &format!("{M}/users/search?where=not-json"), None).await;
    assert_management_error(&r, 400, "VALIDATION_ERROR");
    let plain = app.create_user("plain@example.com", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    let r = app.call_as(&app.tenant, &token, Method::GET, &format!("{M}/users/search"), None).await;
    assert_management_error(&r, 403, "FORBIDDEN");
}

fn urlencode(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string()
}

backend_tests!(
    users_are_searched_with_the_clients_where_clause,
    order_takes_the_models_names_and_lists,
    the_vendor_models_round_trip,
    property_names_match_case_insensitively,
    users_and_groups_take_merge_patches,
    at_current_is_the_caller,
    the_group_collection_answers_without_its_slash,
    filters_rollcall_does_not_implement_are_refused,
    users_can_be_created_suspended,
);
