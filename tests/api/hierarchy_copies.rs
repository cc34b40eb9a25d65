//! The server keeps each account's hierarchy (nesting edges and what the
//! groups grant) in memory, current while the account's version row is
//! unchanged. Every kind of change to a hierarchy, made on another instance,
//! must bite on the first call after it; and the walks in memory must give
//! what the recursive queries in the database give.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;
use rollcall::db::hierarchy;
use rollcall::domain::{AccountId, GroupId, Permission, UserId};

const M: &str = "/api/security";

/// A request to the instance at `base` with the tenant's admin token.
fn on(app: &TestApp, base: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    let mut builder = app.client.request(method, format!("{base}{path}")).bearer_auth(&app.tenant.token);
    if path.starts_with("/v1/") {
        builder = builder.header("X-Account-ID", &app.tenant.account_id);
    }
    builder
}

/// A change (what, method, path, body) and the state expected after it
/// (user_read, `HEAD` of Top, the inherited groups' names).
type Step<'a> = (&'a str, Method, String, Option<serde_json::Value>, (StatusCode, StatusCode, &'a str));

async fn every_change_to_a_hierarchy_bites_at_once_on_every_instance(app: TestApp) {
    let other = app.start_another_instance();
    let member = app.create_user("member@example.com", Some("member")).await;
    for g in ["Top", "Mid", "Leaf", "Side"] {
        app.create_group(g).await;
    }
    app.send(app.request(Method::PUT, &format!("{M}/groups/Leaf/users/member"))).await;
    let token = app.token_for(&app.tenant, &member);
    let admin = app.tenant.admin_id.clone();
    // What the member may do through the hierarchy, asked on this instance:
    // read a user (user_read), and whether they count as a member of Top.
    let state = || async {
        let read = app.send(app.request_as(&app.tenant, &token, Method::GET, &format!("/v1/users/{admin}"))).await.status;
        let head = app.send(app.request(Method::HEAD, &format!("{M}/groups/Top/users/member"))).await.status;
        let above = app.send(app.request(Method::GET, &format!("{M}/users/member/groups?includeInherited=true"))).await;
        // In the listing's order (by name): a stale order shows.
        let names: Vec<String> =
            above.body["items"].as_array().into_iter().flatten().filter_map(|g| g["name"].as_str().map(str::to_owned)).collect();
        (read, head, names.join(","))
    };
    let (ok, forbidden, member_of, not_member) = (StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::NO_CONTENT, StatusCode::NOT_FOUND);
    assert_eq!(state().await, (forbidden, not_member, "Leaf".to_owned()));
    // Each change is made on the other instance, right after this one has
    // used (and so kept) the hierarchy as it was.
    let steps: Vec<Step> = vec![
        ("nest Mid in Top", Method::PUT, format!("{M}/groups/Top/groups/Mid"), None, (forbidden, not_member, "Leaf")),
        ("nest Leaf in Mid", Method::PUT, format!("{M}/groups/Mid/groups/Leaf"), None, (forbidden, member_of, "Leaf,Mid,Top")),
        (
            "grant user_read to Top",
            Method::PUT,
            format!("{M}/groups/Top"),
            Some(json!({"name": "Top", "permissions": ["user_read"]})),
            (ok, member_of, "Leaf,Mid,Top"),
        ),
        (
            "revoke it",
            Method::PUT,
            format!("{M}/groups/Top"),
            Some(json!({"name": "Top", "permissions": []})),
            (forbidden, member_of, "Leaf,Mid,Top"),
        ),
        (
            "grant it again",
            Method::PUT,
            format!("{M}/groups/Top"),
            Some(json!({"name": "Top", "permissions": ["user_read", "group_read"]})),
            (ok, member_of, "Leaf,Mid,Top"),
        ),
        ("un-nest Leaf from Mid", Method::DELETE, format!("{M}/groups/Mid/groups/Leaf"), None, (forbidden, not_member, "Leaf")),
        ("nest it again", Method::PUT, format!("{M}/groups/Mid/groups/Leaf"), None, (ok, member_of, "Leaf,Mid,Top")),
        ("delete Mid", Method::DELETE, format!("{M}/groups/Mid"), None, (forbidden, not_member, "Leaf")),
        ("nest Leaf in Side", Method::PUT, format!("{M}/groups/Side/groups/Leaf"), None, (forbidden, not_member, "Leaf,Side")),
        (
            "nest Side in System Administrators",
            Method::PUT,
            format!("{M}/groups/System%20Administrators/groups/Side"),
            None,
            (ok, not_member, "Leaf,Side,System Administrators"),
        ),
        (
            "un-nest it",
            Method::DELETE,
            format!("{M}/groups/System%20Administrators/groups/Side"),
            None,
            (forbidden, not_member, "Leaf,Side"),
        ),
        ("nest Leaf in Top", Method::PUT, format!("{M}/groups/Top/groups/Leaf"), None, (ok, member_of, "Leaf,Side,Top")),
        (
            "rename Side",
            Method::PUT,
            format!("{M}/groups/Side"),
            Some(json!({"name": "Aside", "permissions": []})),
            (ok, member_of, "Aside,Leaf,Top"),
        ),
        ("delete Top", Method::DELETE, format!("{M}/groups/Top"), None, (forbidden, not_member, "Aside,Leaf")),
    ];
    for (what, method, path, body, (read, head, names)) in steps {
        let mut request = on(&app, &other, method, &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = app.send(request).await;
        assert!(r.status.is_success(), "{what}: {} {}", r.status, r.text);
        assert_eq!(state().await, (read, head, names.to_owned()), "after '{what}'");
    }
}

/// A small deterministic generator (no dependency for a test).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

async fn walks_in_memory_match_the_recursive_queries(app: TestApp) {
    const GROUPS: usize = 30;
    let mut ids: Vec<GroupId> = Vec::new();
    for i in 0..GROUPS {
        ids.push(app.create_group(&format!("g{i}")).await.parse().unwrap());
    }
    let mut rng = Lcg(17);
    // Edges from a lower to a higher number (no cycle), a few into System
    // Administrators' subtree, and grants here and there.
    for _ in 0..60 {
        let (a, b) = (rng.below(GROUPS), rng.below(GROUPS));
        let (parent, child) = (a.min(b), a.max(b));
        if parent != child {
            let r = app.send(app.request(Method::PUT, &format!("{M}/groups/g{parent}/groups/g{child}"))).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        }
    }
    app.send(app.request(Method::PUT, &format!("{M}/groups/System%20Administrators/groups/g{}", GROUPS - 3))).await;
    for i in (0..GROUPS).step_by(4) {
        let granted = [Permission::UserRead, Permission::GroupRead, Permission::AuditRead][i % 3].as_str();
        let r = app
            .send(app.request(Method::PUT, &format!("{M}/groups/g{i}")).json(&json!({"name": format!("g{i}"), "permissions": [granted]})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let mut users: Vec<UserId> = Vec::new();
    for u in 0..8 {
        let id = app.create_user(&format!("u{u}@example.com"), None).await;
        for _ in 0..2 {
            app.send(app.request(Method::PUT, &format!("{M}/groups/g{}/users/{id}", rng.below(GROUPS)))).await;
        }
        users.push(id.parse().unwrap());
    }
    let account: AccountId = app.tenant.account_id.parse().unwrap();
    let mut conn = app.pool.get().unwrap();
    let sorted = |v: Vec<GroupId>| v.into_iter().collect::<BTreeSet<_>>();
    for (i, g) in ids.iter().enumerate() {
        let memory = sorted(hierarchy::ancestors(&mut conn, account, &[*g]).unwrap());
        let database = sorted(hierarchy::ancestors_in_database(&mut conn, account, &[*g]).unwrap());
        assert_eq!(memory, database, "groups above g{i}");
        let excluded = [ids[rng.below(GROUPS)]];
        let memory = sorted(hierarchy::descendants(&mut conn, account, *g, &excluded).unwrap());
        let database = sorted(hierarchy::descendants_in_database(&mut conn, account, *g, &excluded).unwrap());
        assert_eq!(memory, database, "groups below g{i}");
        let pair = [*g, ids[rng.below(GROUPS)]];
        assert_eq!(
            sorted(hierarchy::ancestors(&mut conn, account, &pair).unwrap()),
            sorted(hierarchy::ancestors_in_database(&mut conn, account, &pair).unwrap()),
            "groups above g{i} and another"
        );
    }
    let mut compared = 0;
    let mut held = 0;
    for user in &users {
        for permission in
            [None, Some(Permission::UserRead), Some(Permission::GroupRead), Some(Permission::AuditRead), Some(Permission::UserDelete)]
        {
            let memory = hierarchy::user_holds_through_nesting(&mut conn, account, *user, permission).unwrap();
            let database = hierarchy::user_holds_through_nesting_in_database(&mut conn, account, *user, permission).unwrap();
            assert_eq!(memory, database, "{user} holds {permission:?}");
            compared += 1;
            held += usize::from(memory);
        }
    }
    assert!(held > 0 && held < compared, "some rights are held through the nesting, some not ({held} of {compared})");
    drop(conn);

    // A listing in name order is picked from the names in memory; with a
    // second sort field it is picked from the rows: both agree, before and
    // after renames (which must reach the copy).
    let compare = |round: &'static str| {
        let app = &app;
        let users = &users;
        async move {
            for user in users {
                for (order, q, excluded) in
                    [("name", "", ""), ("-name", "", ""), ("name", "g1", ""), ("-name", "", "g3,g7"), ("name", "zz", "")]
                {
                    for page in 0..3 {
                        let path = |order: &str| {
                            let mut path =
                                format!("{M}/users/{user}/groups?includeInherited=true&pageSize=7&pageIndex={page}&order={order}");
                            if !q.is_empty() {
                                path.push_str(&format!("&q={q}"));
                            }
                            if !excluded.is_empty() {
                                path.push_str(&format!("&excludedGroups={excluded}"));
                            }
                            path
                        };
                        let from_memory = app.send(app.request(Method::GET, &path(order))).await;
                        let from_rows = app.send(app.request(Method::GET, &path(&format!("{order},createdAt")))).await;
                        assert_eq!(from_memory.status, StatusCode::OK, "{}", from_memory.text);
                        assert_eq!(from_memory.body, from_rows.body, "{round}: {user} order={order} q={q} excluded={excluded} page {page}");
                    }
                }
            }
        }
    };
    compare("as built").await;
    for i in [1, 5, 12, 20] {
        let r = app.send(app.request(Method::PUT, &format!("{M}/groups/g{i}")).json(&json!({"name": format!("zz{i}")}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    compare("after renames").await;
}

backend_tests!(every_change_to_a_hierarchy_bites_at_once_on_every_instance, walks_in_memory_match_the_recursive_queries);
