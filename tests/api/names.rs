//! One Unicode policy for names, usernames and emails (PRODUCT.md, "Names"),
//! identical on both backends; NUL refused everywhere at the edge; request
//! heads over Rollcall's limits answered in the surface's body.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_surface_error, assert_v1_error, TestApp};

const M: &str = "/api/security";

async fn spellings_of_one_name_are_one_name(app: TestApp) {
    for (first, second) in
        [("Straße", "STRASSE"), ("café", "cafe\u{301}"), ("staff", "sta\u{200B}ff"), ("Ｆｕｌｌ", "full"), ("ﬁle", "FILE")]
    {
        app.create_group(first).await;
        let r = app.send(app.request(Method::POST, "/v1/groups").json(&json!({"name": second}))).await;
        assert_v1_error(&r, 409, "NAME_TAKEN");
        let r = app.send(app.request(Method::POST, &format!("{M}/groups/")).json(&json!({"name": second}))).await;
        assert_management_error(&r, 409, "NAME_TAKEN");
        // Found by any spelling.
        let r = app.send(app.request(Method::GET, &format!("{M}/groups/{}", urlencode(second)))).await;
        assert_eq!(r.body["name"], first, "{second}: {}", r.text);
    }
    let user = app.create_user("Elodie@example.com", Some("Élodie")).await;
    for (email, username) in [("ELODIE@EXAMPLE.COM", "other"), ("other@example.com", "e\u{301}lodie"), ("x@example.com", "ÉLO\u{200D}DIE")]
    {
        let r = app.send(app.request(Method::POST, "/v1/users").json(&json!({"email": email, "username": username}))).await;
        assert_v1_error(&r, 409, "NAME_TAKEN");
    }
    for ident in ["ÉLODIE", "e\u{301}lodie", "elodie@EXAMPLE.com"] {
        let r = app.send(app.request(Method::GET, &format!("{M}/users/{}", urlencode(ident)))).await;
        assert_eq!(r.body["id"], user, "{ident}: {}", r.text);
    }
}

async fn search_folds_the_same_on_every_backend(app: TestApp) {
    let r = app
        .send(
            app.request(Method::POST, "/v1/users")
                .json(&json!({"email": "e.dupont@example.com", "first_name": "Élodie", "last_name": "Straße"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.create_group("STRASSE Team").await;
    for query in ["/v1/users?name=%C3%A9lodie", "/v1/users?name=E%CC%81LODIE", "/v1/users?name=strasse"] {
        let r = app.send(app.request(Method::GET, query)).await;
        assert_eq!(r.body["total"], 1, "{query}: {}", r.text);
    }
    for query in [
        format!("{M}/users?q=%C3%89LODIE"),
        format!("{M}/groups/?q=stra%C3%9Fe"),
        "/v1/groups?name=%EF%BD%93%EF%BD%94%EF%BD%92%EF%BD%81%EF%BD%93%EF%BD%93%EF%BD%85".to_owned(),
    ] {
        let r = app.send(app.request(Method::GET, &query)).await;
        let total = r.body.get("totalCount").or(r.body.get("total")).cloned();
        assert_eq!(total, Some(json!(1)), "{query}: {}", r.text);
    }
}

async fn names_with_invisible_or_control_edges_are_refused(app: TestApp) {
    let bad_names = ["staff ", " staff", "staff\u{3000}", "a\u{0}b", "a\nb", "a\u{85}b", "a\u{2028}b", "a\u{2029}b", "\t"];
    for name in bad_names {
        let r = app.send(app.request(Method::POST, "/v1/groups").json(&json!({"name": name}))).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("name "), "the field is named: {}", r.text);
        let r =
            app.send(app.request(Method::POST, &format!("{M}/users")).json(&json!({"email": "ok@example.com", "username": name}))).await;
        assert_management_error(&r, 422, "VALIDATION_ERROR");
        assert_eq!(r.body["data"]["field"], "username", "{}", r.text);
        let r = app.send(app.request(Method::POST, "/v1/users").json(&json!({"email": "ok@example.com", "first_name": name}))).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
    }
    for email in [" a@example.com", "a@example.com ", "a\u{0}@example.com"] {
        let r = app.send(app.request(Method::POST, "/v1/users").json(&json!({"email": email}))).await;
        assert_v1_error(&r, 400, "VALIDATION_ERROR");
    }
    // The README's rule: no '/' in a username (it names the user in a path).
    let r = app.send(app.request(Method::POST, "/v1/users").json(&json!({"email": "t@example.com", "username": "t/durden"}))).await;
    assert_v1_error(&r, 400, "VALIDATION_ERROR");
    let groups = app.send(app.request(Method::GET, "/v1/groups")).await;
    assert_eq!(groups.body["total"], 1, "nothing was created: {}", groups.text);
    let users = app.send(app.request(Method::GET, "/v1/users")).await;
    assert_eq!(users.body["total"], 1, "nothing was created: {}", users.text);
}

/// A NUL in every string the spec lets a client send — each path parameter,
/// query parameter and body property of every operation — is a 400 in the
/// surface's body on both backends (PostgreSQL answered 500), and writes
/// nothing. Operations added later are covered without touching this test.
async fn a_nul_anywhere_is_a_400_and_changes_nothing(app: TestApp) {
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Soap").await;
    let spec = app.send(app.client.get(app.url("/api-docs/openapi.json"))).await.body;
    let schemas = spec["components"]["schemas"].clone();
    let mut tried = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let params: Vec<Value> = op["parameters"].as_array().cloned().unwrap_or_default();
            let fill = |t: &str| {
                t.replace("{groupIdentifier}", &group)
                    .replace("{groupId}", &group)
                    .replace("{childGroupIdentifier}", &group)
                    .replace("{groupIdentifiers}", &group)
                    .replace("{userIdentifier}", &user)
                    .replace("{id}", if t.contains("/users/{id}") { &user } else { &group })
            };
            let body_ref = op.pointer("/requestBody/content/application~1json/schema/$ref").and_then(Value::as_str);
            let body_schema = body_ref.map(|r| schemas[r.rsplit('/').next().unwrap()].clone());
            let valid_body = || match body_ref.map(|r| r.rsplit('/').next().unwrap()) {
                Some("UserIds") => Some(json!([user])),
                Some("GroupIds") => Some(json!([group])),
                Some(_) => Some(json!({"name": "Valid", "email": "valid@example.com"})),
                None => None,
            };
            let mut cases: Vec<(String, String, Option<Value>)> = Vec::new();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("path") => {
                        cases.push((format!("path {name}"), fill(&template.replace(&format!("{{{name}}}"), "a%00b")), valid_body()))
                    }
                    Some("query") => cases.push((format!("query {name}"), format!("{}?{name}=a%00b", fill(template)), valid_body())),
                    _ => {}
                }
            }
            if let Some(schema) = &body_schema {
                for (property, definition) in schema["properties"].as_object().into_iter().flatten() {
                    let is_string =
                        definition["type"] == "string" || definition["type"].as_array().is_some_and(|t| t.contains(&json!("string")));
                    if is_string {
                        let mut body = valid_body().unwrap();
                        body[property] = json!("a\u{0}b");
                        cases.push((format!("body {property}"), fill(template), Some(body)));
                    }
                }
            }
            for (what, path, body) in cases {
                let mut request = app.request(method.clone(), &path);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let r = app.send(request).await;
                let context = format!("{method} {template}, NUL in {what}: {} {}", r.status, r.text);
                // The management surfaces answer a JSON body that breaks the rules with 422.
                let status = if what.starts_with("body") && !template.starts_with("/v1") { 422 } else { 400 };
                assert_eq!(r.status.as_u16(), status, "{context}");
                if method != Method::HEAD {
                    assert_surface_error(&r, template, status, "VALIDATION_ERROR");
                }
                tried += 1;
            }
        }
    }
    assert!(tried > 60, "every string of the spec was tried ({tried})");
    let groups = app.send(app.request(Method::GET, "/v1/groups")).await;
    assert_eq!(groups.body["total"], 2, "nothing was created: {}", groups.text);
    assert!(app.membership_rows(&group).is_empty());
    let soap = app.send(app.request(Method::GET, &format!("/v1/groups/{group}"))).await;
    assert_eq!(soap.body["name"], "Soap");
}

async fn oversized_heads_are_answered_in_the_surfaces_body(app: TestApp) {
    let long_query = "x".repeat(9 * 1024);
    let r = app.send(app.request(Method::GET, &format!("/v1/groups?name={long_query}"))).await;
    assert_v1_error(&r, 414, "URI_TOO_LONG");
    let r = app.send(app.request(Method::GET, &format!("{M}/groups/?q={long_query}"))).await;
    assert_management_error(&r, 414, "URI_TOO_LONG");
    let r = app.send(app.request(Method::GET, "/v1/groups").header("X-Padding", "y".repeat(9 * 1024))).await;
    assert_v1_error(&r, 431, "HEADERS_TOO_LARGE");
    let mut many = app.request(Method::GET, &format!("{M}/groups/"));
    for i in 0..70 {
        many = many.header(format!("X-H{i}"), "v");
    }
    assert_management_error(&app.send(many).await, 431, "HEADERS_TOO_LARGE");
    // Ordinary requests are untouched.
    let r = app.send(app.request(Method::GET, "/v1/groups").header("X-Padding", "y".repeat(4 * 1024))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A database keyed by the old rule (lowercase only) is re-keyed at start:
/// lookups and search then follow the new rule, and two rows the new rule
/// merges are reported while both stay reachable.
async fn an_existing_database_is_rekeyed_and_collisions_reported(app: TestApp) {
    use diesel::prelude::*;
    use rollcall::db::schema::{groups, settings, users};
    let older = app.create_group("Straße").await;
    let newer = app.create_group("Other").await;
    let user = app.create_user("e@example.com", Some("Élodie")).await;
    {
        // What the previous release stored: `to_lowercase` keys, no name keys.
        let mut conn = app.pool.get().unwrap();
        rollcall::with_conn!(&mut conn, |c| {
            diesel::update(groups::table.find(&older)).set(groups::name_key.eq("straße")).execute(c).unwrap();
            diesel::update(groups::table.find(&newer))
                .set((groups::name.eq("STRASSE"), groups::name_key.eq("strasse")))
                .execute(c)
                .unwrap();
            diesel::update(users::table.find(&user))
                .set((users::username_key.eq("élodie"), users::first_name_key.eq(None::<String>)))
                .execute(c)
                .unwrap();
            diesel::update(users::table.find(&user))
                .set((users::first_name.eq(Some("ÉLODIE")), users::first_name_key.eq(None::<String>)))
                .execute(c)
                .unwrap();
            diesel::delete(settings::table.filter(settings::key.eq("name_keys"))).execute(c).unwrap();
        });
    }
    let collisions = app.pool.migrate_reporting().expect("migrate");
    assert_eq!(collisions.len(), 1, "{collisions:?}");
    assert_eq!((collisions[0].table, collisions[0].field, collisions[0].id.as_str()), ("groups", "name", older.as_str()));
    assert!(app.pool.migrate_reporting().unwrap().is_empty(), "re-keying runs once");
    // The row that held the key keeps it; the other is found by id.
    let r = app.send(app.request(Method::GET, &format!("{M}/groups/stra%C3%9Fe"))).await;
    assert_eq!(r.body["id"], newer, "{}", r.text);
    let r = app.send(app.request(Method::GET, &format!("{M}/groups/{older}"))).await;
    assert_eq!(r.body["name"], "Straße", "{}", r.text);
    let r = app.send(app.request(Method::GET, "/v1/users?name=e%CC%81lodie")).await;
    assert_eq!(r.body["total"], 1, "the first-name key was computed: {}", r.text);
    let r = app.send(app.request(Method::GET, &format!("{M}/users/E%CC%81LODIE"))).await;
    assert_eq!(r.body["id"], user, "{}", r.text);
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

backend_tests!(
    spellings_of_one_name_are_one_name,
    search_folds_the_same_on_every_backend,
    names_with_invisible_or_control_edges_are_refused,
    a_nul_anywhere_is_a_400_and_changes_nothing,
    oversized_heads_are_answered_in_the_surfaces_body,
    an_existing_database_is_rekeyed_and_collisions_reported,
);
