//! The SCIM 2.0 surface (`/scim/v2`): scim API keys as bearer tokens, each
//! PATCH form identity providers send, filters, pagination, ETags, tenant
//! isolation, and the same rows the other surfaces see.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Response, Tenant, TestApp};

const S: &str = "/scim/v2";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

impl TestApp {
    /// A SCIM call with `token` (a Rollcall token or a scim key), as `application/scim+json`.
    async fn scim_with(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.client.request(method, self.url(&format!("{S}{path}"))).bearer_auth(token);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/scim+json").body(body.to_string());
        }
        self.send(request).await
    }

    async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.scim_with(&self.tenant.token.clone(), method, path, body).await
    }

    async fn scim_user(&self, user_name: &str, email: &str) -> String {
        let body = json!({"schemas": [USER], "userName": user_name, "emails": [{"value": email, "type": "work", "primary": true}]});
        let r = self.scim(Method::POST, "/Users", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn scim_group(&self, name: &str, members: &[&str]) -> Response {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        self.scim(Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": name, "members": members}))).await
    }

    async fn scim_patch(&self, path: &str, ops: Value) -> Response {
        self.scim(Method::PATCH, path, Some(json!({"schemas": [PATCH], "Operations": ops}))).await
    }

    async fn scim_key(&self, tenant: &Tenant, purpose: &str) -> String {
        let r = self.call_as(tenant, &tenant.token, Method::POST, "/v1/api-keys", Some(json!({"name": "idp", "purpose": purpose}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["purpose"], json!(purpose));
        r.body["secret"].as_str().unwrap().to_owned()
    }
}

fn member_ids(r: &Response) -> HashSet<String> {
    r.body["members"].as_array().map(|m| m.iter().map(|v| v["value"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

fn assert_scim_error(r: &Response, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/scim+json", "{}", r.text);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", r.text);
    assert_eq!(r.body["status"], json!(status.to_string()), "status is a string: {}", r.text);
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], json!(t), "{}", r.text);
    }
}

/// A scim key is the bearer token on /scim/v2 and nowhere else; a general key never is.
async fn scim_keys_are_bearer_tokens_on_scim_only(app: TestApp) {
    let tenant = app.new_tenant("idp-keys");
    let scim_key = app.scim_key(&tenant, "scim").await;
    let general_key = app.scim_key(&tenant, "general").await;
    let r = app.scim_with(&scim_key, Method::GET, "/Users", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/scim+json");
    assert_eq!(r.body["totalResults"], json!(1), "the key's account only: {}", r.text);
    assert_scim_error(&app.scim_with(&general_key, Method::GET, "/Users", None).await, 401, None);
    assert_scim_error(&app.scim_with("rck_garbage", Method::GET, "/Users", None).await, 401, None);
    let v1 = app.send(app.client.get(app.url("/v1/users")).bearer_auth(&scim_key).header("X-Account-ID", &tenant.account_id)).await;
    assert_eq!(v1.status, StatusCode::UNAUTHORIZED, "a key is not a token on /v1: {}", v1.text);
    // Revoked: refused on the next request.
    let keys = app.call_as(&tenant, &tenant.token, Method::GET, "/v1/api-keys", None).await;
    let id =
        keys.body["items"].as_array().unwrap().iter().find(|k| k["purpose"] == json!("scim")).unwrap()["id"].as_str().unwrap().to_owned();
    let r = app.call_as(&tenant, &tenant.token, Method::DELETE, &format!("/v1/api-keys/{id}"), None).await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_scim_error(&app.scim_with(&scim_key, Method::GET, "/Users", None).await, 401, None);
    // Suspending the key's user refuses the key on the next request.
    let plain = app.create_user_in(&tenant, "plain@idp.org", Some("plain")).await;
    let r = app.call_as(&tenant, &tenant.token, Method::POST, "/v1/api-keys", Some(json!({"purpose": "scim", "user_id": plain}))).await;
    let plain_key = r.body["secret"].as_str().unwrap().to_owned();
    assert_scim_error(&app.scim_with(&plain_key, Method::GET, "/Users", None).await, 403, None);
    let r = app
        .call_as(&tenant, &tenant.token, Method::POST, &format!("/api/security/users/{plain}/actions"), Some(json!({"type": "suspend"})))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_scim_error(&app.scim_with(&plain_key, Method::GET, "/Users", None).await, 401, None);
    // A bad purpose is a clear 400.
    let r = app.call_as(&tenant, &tenant.token, Method::POST, "/v1/api-keys", Some(json!({"purpose": "root"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

/// A SCIM-made user is the row /v1 and the management surface see, and the reverse.
async fn scim_users_are_the_same_rows(app: TestApp) {
    let body = json!({
        "schemas": [USER], "userName": "ann.lee@contoso.com", "externalId": "00u1",
        "name": {"givenName": "Ann", "familyName": "Lee"}, "displayName": "Ann Lee",
        "emails": [{"value": "ann@contoso.com", "type": "work", "primary": true}], "active": true,
        "title": "not stored", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"}
    });
    let r = app.scim(Method::POST, "/Users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"].to_str().unwrap(), r.body["meta"]["location"].as_str().unwrap());
    assert_eq!(r.headers["etag"].to_str().unwrap(), r.body["meta"]["version"].as_str().unwrap());
    assert!(r.body.get("title").is_none(), "attributes Rollcall does not store are not echoed: {}", r.text);
    let v1 = app.call(Method::GET, &format!("/v1/users/{id}"), None).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert_eq!((v1.body["email"].clone(), v1.body["first_name"].clone()), (json!("ann@contoso.com"), json!("Ann")), "{}", v1.text);
    // The same userName again: 409 uniqueness; the same email: 409 too.
    let dup = json!({"schemas": [USER], "userName": "ANN.LEE@contoso.com", "emails": [{"value": "other@contoso.com"}]});
    assert_scim_error(&app.scim(Method::POST, "/Users", Some(dup)).await, 409, Some("uniqueness"));
    // active=false is the management surface's suspension, and back.
    let r = app.scim_patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!((r.status, r.body["active"].clone()), (StatusCode::OK, json!(false)), "{}", r.text);
    let m = app.call(Method::GET, &format!("/api/security/users/{id}"), None).await;
    assert_eq!(m.body["status"]["suspended"], json!(true), "{}", m.text);
    let r = app.scim_patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": true}}])).await;
    assert_eq!(r.body["active"], json!(true), "{}", r.text);
    // The reverse: a /v1 user reads on SCIM (userName falls back to the username).
    let other = app.create_user("bob@example.com", Some("bob")).await;
    let r = app.scim(Method::GET, &format!("/Users/{other}"), None).await;
    assert_eq!((r.body["userName"].clone(), r.body["emails"][0]["value"].clone()), (json!("bob"), json!("bob@example.com")), "{}", r.text);
    // Groups joined elsewhere show on the user.
    let group = app.create_group("Readers").await;
    let r = app.call(Method::PUT, &format!("/v1/groups/{group}/users"), Some(json!([other]))).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.scim(Method::GET, &format!("/Users/{other}"), None).await;
    assert_eq!(r.body["groups"][0]["value"], json!(group), "{}", r.text);
    assert_eq!(r.body["groups"][0]["display"], json!("Readers"), "{}", r.text);
    // DELETE is the same soft delete: gone everywhere.
    assert_eq!(app.scim(Method::DELETE, &format!("/Users/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &format!("/v1/users/{id}"), None).await.status, StatusCode::NOT_FOUND);
    assert_scim_error(&app.scim(Method::GET, &format!("/Users/{id}"), None).await, 404, None);
    assert_scim_error(&app.scim(Method::GET, "/Users/not-an-id", None).await, 404, None);
    // Bad bodies: clear 400s, nothing made.
    assert_scim_error(&app.scim(Method::POST, "/Users", Some(json!({"userName": "x"}))).await, 400, Some("invalidSyntax"));
    let no_email = json!({"schemas": [USER], "userName": "x"});
    assert_scim_error(&app.scim(Method::POST, "/Users", Some(no_email)).await, 400, Some("invalidValue"));
    let two = json!({"schemas": [USER], "userName": "x", "emails": [{"value": "a@x.org"}, {"value": "b@x.org"}]});
    assert_scim_error(&app.scim(Method::POST, "/Users", Some(two)).await, 400, Some("invalidValue"));
    let r = app
        .send(app.client.post(app.url("/scim/v2/Users")).bearer_auth(&app.tenant.token).header("Content-Type", "text/plain").body("{}"))
        .await;
    assert_scim_error(&r, 415, None);
    // A bad query parameter is refused before anything is written.
    let fine = json!({"schemas": [USER], "userName": "x", "emails": [{"value": "x@x.org"}]});
    assert_scim_error(&app.scim(Method::POST, "/Users?attributes=1bad", Some(fine)).await, 400, Some("invalidValue"));
    let listed = app.scim(Method::GET, "/Users?filter=userName%20eq%20%22x%22", None).await;
    assert_eq!(listed.body["totalResults"], json!(0), "{}", listed.text);
}

/// Every PATCH form Entra ID and Okta send, idempotent and all or nothing.
async fn patch_forms_of_identity_providers(app: TestApp) {
    let u1 = app.scim_user("u1@x.org", "u1@x.org").await;
    let u2 = app.scim_user("u2@x.org", "u2@x.org").await;
    let u3 = app.scim_user("u3@x.org", "u3@x.org").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    // Unknown member ids are ignored, not stored and not an error.
    let r = app.scim_group("Engineering", &[&u1, &unknown, "not-a-uuid"]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let g = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{g}");
    assert_eq!(member_ids(&r), HashSet::from([u1.clone()]));
    // Entra: "Add" twice is idempotent.
    for _ in 0..2 {
        let r = app.scim_patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": u2}]}])).await;
        assert_eq!(member_ids(&r), HashSet::from([u1.clone(), u2.clone()]), "{}", r.text);
    }
    assert_eq!(app.members(&g).await.len(), 2, "the /v1 listing agrees");
    // Entra: remove with a value list; removing a non-member is no error.
    let r = app.scim_patch(&path, json!([{"op": "Remove", "path": "members", "value": [{"value": u1}, {"value": u3}]}])).await;
    assert_eq!(member_ids(&r), HashSet::from([u2.clone()]), "{}", r.text);
    // Filtered member removal.
    let r = app.scim_patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}])).await;
    assert_eq!((r.status, member_ids(&r)), (StatusCode::OK, HashSet::new()), "{}", r.text);
    // Okta: replace with the full list; path-less replace with a value object.
    let r = app.scim_patch(&path, json!([{"op": "replace", "path": "members", "value": [{"value": u1}, {"value": u3}]}])).await;
    assert_eq!(member_ids(&r), HashSet::from([u1.clone(), u3.clone()]), "{}", r.text);
    let r = app
        .scim_patch(&path, json!([{"op": "replace", "value": {"id": g, "displayName": "Engineering EU", "externalId": "okta-1"}}]))
        .await;
    assert_eq!((r.body["displayName"].clone(), r.body["externalId"].clone()), (json!("Engineering EU"), json!("okta-1")), "{}", r.text);
    // Path-less add with dotted and filtered keys (Entra), and a user's string boolean.
    let r = app
        .scim_patch(
            &format!("/Users/{u1}"),
            json!([{"op": "Add", "value": {"name.givenName": "Una", "emails[type eq \"work\"].value": "una@x.org", "displayName": "Una"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["name"]["givenName"].clone(), r.body["emails"][0]["value"].clone()), (json!("Una"), json!("una@x.org")));
    // All or nothing: a member added, then a rename onto a taken name: nothing changes.
    app.create_group("Taken").await;
    let before = app.scim(Method::GET, &path, None).await;
    let r = app
        .scim_patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": u2}]}, {"op": "replace", "path": "displayName", "value": "taken"}]),
        )
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    let after = app.scim(Method::GET, &path, None).await;
    assert_eq!(before.body, after.body, "a failed PATCH changes nothing");
    // Malformed PATCHes: the RFC's scimTypes.
    let r = app.scim(Method::PATCH, &path, Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove"}]}))).await;
    assert_scim_error(&r, 400, Some("noTarget"));
    let r = app.scim_patch(&path, json!([{"op": "replace", "path": "members[value eq", "value": []}])).await;
    assert_scim_error(&r, 400, Some("invalidPath"));
    let r = app.scim_patch(&path, json!([{"op": "replace", "path": "id", "value": "x"}])).await;
    assert_scim_error(&r, 400, Some("mutability"));
    // remove members (no value): all out; a thousand in at once is one PATCH.
    let r = app.scim_patch(&path, json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(member_ids(&r), HashSet::new(), "{}", r.text);
    let many = app.create_users(300).await;
    let values: Vec<Value> = many.iter().map(|id| json!({"value": id})).collect();
    let r = app.scim_patch(&path, json!([{"op": "add", "path": "members", "value": values}])).await;
    assert_eq!(member_ids(&r).len(), 300, "{}", r.status);
    assert_eq!(app.membership_rows(&g).len(), 300);
    // Past the limits: clear errors in the SCIM body, nothing written.
    let too_many: Vec<Value> = (0..10_001).map(|i| json!({"value": format!("x{i}")})).collect();
    let r = app.scim_patch(&path, json!([{"op": "add", "path": "members", "value": too_many}])).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    let huge = json!({"schemas": [GROUP], "displayName": "x".repeat(3 * 1024 * 1024)});
    assert_scim_error(&app.scim(Method::POST, "/Groups", Some(huge)).await, 413, None);
    assert_eq!(app.membership_rows(&g).len(), 300);
}

/// Each filter operator, logic and value paths; syntax errors are 400 invalidFilter.
async fn filters(app: TestApp) {
    let people = [("alice@x.org", "Alice", "work"), ("bob@y.org", "Bob", "home"), ("carol@x.org", "Carol", "work")];
    let mut ids = Vec::new();
    for (mail, given, kind) in people {
        let body = json!({"schemas": [USER], "userName": mail, "externalId": format!("ext-{given}"), "name": {"givenName": given},
            "emails": [{"value": mail, "type": kind}], "active": given != "Bob"});
        let r = app.scim(Method::POST, "/Users", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let g = app.scim_group("Staff", &[&ids[0], &ids[2]]).await.body["id"].as_str().unwrap().to_owned();
    let names = |r: &Response| -> Vec<String> {
        let mut n: Vec<String> =
            r.body["Resources"].as_array().unwrap().iter().filter_map(|u| u["name"]["givenName"].as_str().map(str::to_owned)).collect();
        n.sort();
        n
    };
    let by_group = format!(r#"groups eq "{g}""#);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (r#"userName eq "ALICE@x.org""#, vec!["Alice"]),
        (r#"userName ne "alice@x.org" and name pr"#, vec!["Bob", "Carol"]),
        (r#"userName co "@x.""#, vec!["Alice", "Carol"]),
        (r#"userName sw "b""#, vec!["Bob"]),
        (r#"emails ew "y.org""#, vec!["Bob"]),
        (r#"name.givenName gt "Bob""#, vec!["Carol"]),
        (r#"name.givenName ge "Bob""#, vec!["Bob", "Carol"]),
        (r#"name.givenName lt "Bob""#, vec!["Alice"]),
        (r#"name.givenName le "Bob""#, vec!["Alice", "Bob"]),
        (r#"externalId eq "ext-Carol""#, vec!["Carol"]),
        (r#"externalId eq "EXT-carol""#, vec![]),
        ("displayName pr", vec![]),
        ("active eq false", vec!["Bob"]),
        (r#"not (active eq false) and (userName sw "al" or userName sw "c")"#, vec!["Alice", "Carol"]),
        (r#"emails[type eq "work" and value co "carol"]"#, vec!["Carol"]),
        (r#"emails.type eq "home""#, vec!["Bob"]),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z" and meta.lastModified le "2999-01-01T00:00:00Z" and name pr"#,
            vec!["Alice", "Bob", "Carol"],
        ),
        (&by_group, vec!["Alice", "Carol"]),
        (r#"groups[display eq "staff"]"#, vec!["Alice", "Carol"]),
        (r#"externalId eq null and name pr"#, vec![]),
        (r#"externalId ne null"#, vec!["Alice", "Bob", "Carol"]),
    ];
    for (filter, expected) in cases {
        let r = app.scim(Method::GET, &format!("/Users?filter={}", urlencode(filter)), None).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text);
        let mut expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        expected.sort();
        assert_eq!(names(&r), expected, "{filter}");
        assert_eq!(r.body["totalResults"], json!(expected.len()), "{filter}");
    }
    // Groups by name and by member (Entra's membership check).
    let r = app
        .scim(
            Method::GET,
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                urlencode(&format!(r#"id eq "{g}" and members[value eq "{}"]"#, ids[0]))
            ),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.text);
    assert!(r.body["Resources"][0].get("members").is_none(), "excluded: {}", r.text);
    let r = app.scim(Method::GET, &format!("/Groups?filter={}", urlencode(&format!(r#"members[value eq "{}"]"#, ids[1]))), None).await;
    assert_eq!(r.body["totalResults"], json!(0), "{}", r.text);
    let r = app.scim(Method::GET, &format!("/Groups?filter={}", urlencode(r#"displayName eq "STAFF""#)), None).await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.text);
    // POST /.search with a SearchRequest, and the attributes projection.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"al\"", "attributes": ["userName"]});
    let r = app.scim(Method::POST, "/Users/.search", Some(search)).await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.text);
    let only = r.body["Resources"][0].as_object().unwrap();
    assert!(only.contains_key("userName") && only.contains_key("id") && !only.contains_key("emails"), "{}", r.text);
    // /.search: users then groups; an attribute only one has matches none of the other.
    let all = |filter: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
    let r = app.scim(Method::POST, "/.search", Some(all("userName sw \"al\""))).await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.text);
    let r = app.scim(Method::POST, "/.search", Some(all("displayName eq \"staff\""))).await;
    assert_eq!((r.body["totalResults"].clone(), r.body["Resources"][0]["id"].clone()), (json!(1), json!(g)), "{}", r.text);
    assert_scim_error(&app.scim(Method::POST, "/.search", Some(all("title eq \"x\""))).await, 400, Some("invalidFilter"));
    // Syntax errors and unknown attributes: 400 invalidFilter; nothing else happens.
    for bad in [
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "title eq \"x\"",
        "meta.created gt \"yesterday\"",
        "active gt true",
    ] {
        let r = app.scim(Method::GET, &format!("/Users?filter={}", urlencode(bad)), None).await;
        assert_scim_error(&r, 400, Some("invalidFilter"));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// startIndex/count walk a listing exactly once; sortBy orders it.
async fn pagination_covers_a_listing_once(app: TestApp) {
    for i in 0..23 {
        app.scim_user(&format!("p{i:02}@x.org"), &format!("p{i:02}@x.org")).await;
    }
    let first = app.scim(Method::GET, "/Users?count=0", None).await;
    let total = first.body["totalResults"].as_i64().unwrap();
    assert_eq!(total, 24, "23 and the administrator: {}", first.text);
    assert_eq!(first.body["Resources"], json!([]));
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= total {
        let r = app.scim(Method::GET, &format!("/Users?startIndex={start}&count=5&sortBy=userName&sortOrder=descending"), None).await;
        assert_eq!((r.body["startIndex"].clone(), r.body["totalResults"].clone()), (json!(start), json!(total)), "{}", r.text);
        let page: Vec<String> =
            r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect();
        assert_eq!(r.body["itemsPerPage"], json!(page.len()));
        seen.extend(page);
        start += 5;
    }
    assert_eq!(seen.len(), 24);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 24, "no duplicate");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|a| std::cmp::Reverse(a.to_lowercase()));
    assert_eq!(seen, sorted, "sortBy userName descending");
    // Out-of-range values are the RFC's: startIndex < 1 is 1, count < 0 is 0, > 1000 is 1000.
    let r = app.scim(Method::GET, "/Users?startIndex=-5&count=-1", None).await;
    assert_eq!((r.body["startIndex"].clone(), r.body["itemsPerPage"].clone()), (json!(1), json!(0)), "{}", r.text);
    let r = app.scim(Method::GET, "/Users?startIndex=100", None).await;
    assert_eq!((r.body["totalResults"].clone(), r.body["Resources"].clone()), (json!(24), json!([])), "{}", r.text);
    assert_scim_error(&app.scim(Method::GET, "/Users?sortBy=title", None).await, 400, Some("invalidValue"));
}

/// meta.version is the ETag; If-Match with a stale one is 412 and changes nothing.
async fn etags_and_preconditions(app: TestApp) {
    let id = app.scim_user("e@x.org", "e@x.org").await;
    let path = format!("/Users/{id}");
    let r = app.scim(Method::GET, &path, None).await;
    let v1 = r.headers["etag"].to_str().unwrap().to_owned();
    let put = |name: &str| json!({"schemas": [USER], "userName": "e@x.org", "displayName": name, "emails": [{"value": "e@x.org"}]});
    let send = |method: Method, etag: &str, body: Value| {
        app.client
            .request(method, app.url(&format!("{S}{path}")))
            .bearer_auth(&app.tenant.token)
            .header("Content-Type", "application/scim+json")
            .header("If-Match", etag)
            .body(body.to_string())
    };
    let r = app.send(send(Method::PUT, &v1, put("First"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v2 = r.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(v1, v2, "a change is a new version");
    assert_scim_error(&app.send(send(Method::PUT, &v1, put("Second"))).await, 412, None);
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Third"}]});
    assert_scim_error(&app.send(send(Method::PATCH, &v1, patch.clone())).await, 412, None);
    assert_eq!(app.scim(Method::GET, &path, None).await.body["displayName"], json!("First"), "nothing changed");
    // Weak comparison, and a list of tags: the bare tag of the current version matches.
    let bare = v2.trim_start_matches("W/").to_owned();
    assert_eq!(app.send(send(Method::PATCH, &format!("\"nope\", {bare}"), patch)).await.status, StatusCode::OK);
    // A group's version changes with its members.
    let g = app.scim_group("Versioned", &[]).await;
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let r = app.scim_patch(&format!("/Groups/{gid}"), json!([{"op": "add", "path": "members", "value": [{"value": id}]}])).await;
    assert_ne!(r.body["meta"]["version"], g.body["meta"]["version"]);
}

/// Racing identity-provider writes: one wins, the others get 409, never a 500.
async fn concurrent_creates_of_one_name(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let user = json!({"schemas": [USER], "userName": "race@x.org", "emails": [{"value": format!("race{i}@x.org")}]});
            let group = json!({"schemas": [GROUP], "displayName": "2819c223-7f76-453a-919d-413861904646"});
            (app.scim(Method::POST, "/Users", Some(user)).await.status, app.scim(Method::POST, "/Groups", Some(group)).await.status)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for pick in [|a: &(StatusCode, StatusCode)| a.0, |a: &(StatusCode, StatusCode)| a.1] {
        let statuses: Vec<StatusCode> = answers.iter().map(pick).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    }
}

/// A credential of account B sees and changes nothing of account A.
async fn tenants_are_isolated(app: TestApp) {
    let a_user = app.scim_user("a@x.org", "a@x.org").await;
    let a_group = app.scim_group("A team", &[&a_user]).await.body["id"].as_str().unwrap().to_owned();
    let b = app.new_tenant("other");
    let b_key = app.scim_key(&b, "scim").await;
    let r = app.scim_with(&b_key, Method::GET, "/Users", None).await;
    assert_eq!(r.body["totalResults"], json!(1), "B's administrator only: {}", r.text);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    let r = app.scim_with(&b_key, Method::POST, "/.search", Some(search)).await;
    assert!(!r.text.contains(&a_user) && !r.text.contains(&a_group), "{}", r.text);
    for (method, path, body) in [
        (Method::GET, format!("/Users/{a_user}"), None),
        (Method::GET, format!("/Groups/{a_group}"), None),
        (
            Method::PATCH,
            format!("/Groups/{a_group}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]})),
        ),
        (Method::DELETE, format!("/Users/{a_user}"), None),
        (Method::PUT, format!("/Users/{a_user}"), Some(json!({"schemas": [USER], "userName": "z", "emails": [{"value": "z@x.org"}]}))),
    ] {
        let r = app.scim_with(&b_key, method.clone(), &path, body).await;
        assert_scim_error(&r, 404, None);
    }
    // A's user named as a member of B's group is no user of B: ignored.
    let r = app
        .scim_with(
            &b_key,
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "B team", "members": [{"value": a_user}]})),
        )
        .await;
    assert_eq!((r.status, member_ids(&r)), (StatusCode::CREATED, HashSet::new()), "{}", r.text);
    assert_eq!(app.members(&a_group).await, vec![a_user.clone()], "A untouched");
}

/// SCIM obeys the same permissions as every other surface.
async fn scim_obeys_permissions(app: TestApp) {
    let plain = app.create_user("plain@x.org", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    let body = json!({"schemas": [USER], "userName": "new", "emails": [{"value": "new@x.org"}]});
    assert_scim_error(&app.scim_with(&token, Method::POST, "/Users", Some(body)).await, 403, None);
    let g = app.scim_group("Guarded", &[]).await.body["id"].as_str().unwrap().to_owned();
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": plain}]}]});
    assert_scim_error(&app.scim_with(&token, Method::PATCH, &format!("/Groups/{g}"), Some(add)).await, 403, None);
    assert!(app.members(&g).await.is_empty());
    // The last administrator cannot be taken out of System Administrators through SCIM either.
    let groups = app.scim(Method::GET, &format!("/Groups?filter={}", urlencode(r#"displayName eq "System Administrators""#)), None).await;
    let system = groups.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    let r = app.scim_patch(&format!("/Groups/{system}"), json!([{"op": "remove", "path": "members"}])).await;
    assert_scim_error(&r, 409, None);
    assert!(r.body["detail"].as_str().unwrap().contains("System Administrators"), "{}", r.text);
    assert_eq!(app.members(&system).await, vec![app.tenant.admin_id.clone()]);
}

/// Discovery documents: public, SCIM media type, and only what is stored.
async fn discovery_documents(app: TestApp) {
    let r = app.send(app.client.get(app.url("/scim/v2/ServiceProviderConfig"))).await;
    assert_eq!((r.status, r.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "application/scim+json"));
    assert_eq!((r.body["patch"]["supported"].clone(), r.body["bulk"]["supported"].clone()), (json!(true), json!(false)));
    let r = app.send(app.client.get(app.url("/scim/v2/Schemas"))).await;
    let user = r.body["Resources"].as_array().unwrap().iter().find(|s| s["id"] == json!(USER)).unwrap().clone();
    let names: Vec<&str> = user["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["userName", "name", "displayName", "emails", "active", "groups"]);
    assert_scim_error(&app.send(app.client.get(app.url("/scim/v2/Schemas/urn:nope"))).await, 404, None);
    let r = app.send(app.client.post(app.url("/scim/v2/ResourceTypes"))).await;
    assert_scim_error(&r, 405, None);
    assert_scim_error(&app.send(app.client.get(app.url("/scim/v2/Nope"))).await, 404, None);
    assert_scim_error(&app.send(app.client.get(app.url("/scim/v2/Users"))).await, 401, None);
}

backend_tests!(
    scim_keys_are_bearer_tokens_on_scim_only,
    scim_users_are_the_same_rows,
    patch_forms_of_identity_providers,
    filters,
    pagination_covers_a_listing_once,
    etags_and_preconditions,
    tenants_are_isolated,
    concurrent_creates_of_one_name,
    scim_obeys_permissions,
    discovery_documents,
);
