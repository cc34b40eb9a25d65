//! Many writers at once, on one instance and on two: every answer 2xx, every
//! membership exactly once.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

async fn concurrent_single_adds_of_one_user_make_one_membership(app: TestApp) {
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Crowded").await;
    let path = format!("/api/security/groups/{group}/users/bob");
    let answers = join_all((0..64).map(|_| app.send(app.request(Method::PUT, &path)))).await;
    for r in &answers {
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    assert_eq!(app.membership_rows(&group), vec![user]);
}

async fn concurrent_overlapping_bulks_make_each_membership_once(app: TestApp) {
    let users = app.create_users(40).await;
    let group = app.create_group("Overlapping").await;
    // 16 windows of 10 ids, each overlapping the next by 8, half in reverse
    // order: the pattern that deadlocks unordered inserts.
    let bodies: Vec<Vec<String>> = (0..16)
        .map(|i| {
            let mut window = users[i * 2..i * 2 + 10].to_vec();
            if i % 2 == 1 {
                window.reverse();
            }
            window
        })
        .collect();
    let requests = bodies.iter().enumerate().map(|(i, body)| {
        let request = if i % 2 == 0 {
            app.request(Method::PUT, &format!("/v1/groups/{group}/users"))
        } else {
            app.request(Method::POST, &format!("/api/security/groups/{group}/users/"))
        };
        app.send(request.json(&json!(body)))
    });
    for r in join_all(requests).await {
        assert!(r.status.is_success(), "{} {}", r.status, r.text);
    }
    let expected: BTreeSet<String> = bodies.into_iter().flatten().collect();
    let rows = app.membership_rows(&group);
    assert_eq!(rows.len(), expected.len(), "no duplicates");
    assert_eq!(rows.into_iter().collect::<BTreeSet<_>>(), expected);
}

async fn two_instances_on_one_database_write_concurrently_without_loss(app: TestApp) {
    let second = app.start_another_instance();
    let users = app.create_users(30).await;
    let group = app.create_group("Shared").await;
    let mut requests = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for base in [app.address.clone(), second.clone()] {
            let path = format!("/api/security/groups/{group}/users/{user}");
            let request = app.client.put(format!("{base}{path}")).bearer_auth(&app.tenant.token);
            requests.push(app.send(request));
            if i % 3 == 0 {
                let request = app
                    .client
                    .put(format!("{base}/v1/groups/{group}/users"))
                    .bearer_auth(&app.tenant.token)
                    .header("X-Account-ID", &app.tenant.account_id)
                    .json(&json!(users[i..(i + 5).min(users.len())]));
                requests.push(app.send(request));
            }
        }
    }
    for r in join_all(requests).await {
        assert!(r.status.is_success(), "{} {}", r.status, r.text);
    }
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(app.membership_rows(&group), expected);
    // Both instances see the same state.
    let r = app
        .send(
            app.client
                .get(format!("{second}/v1/groups/{group}/users?limit=1000"))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id),
        )
        .await;
    assert_eq!(r.body["total"], 30);
}

/// With group commit, good and bad bulks land in the same shared transaction:
/// every good one is written whole, every bad one not at all.
async fn rejected_bulks_among_concurrent_good_ones_write_nothing(app: TestApp) {
    let users = app.create_users(20).await;
    let mut requests = Vec::new();
    let mut expectations = Vec::new();
    for i in 0..24 {
        let group = app.create_group(&format!("Mixed {i}")).await;
        let good = i % 2 == 0;
        let mut body: Vec<String> = users[i % 10..i % 10 + 10].to_vec();
        if !good {
            body.push(uuid::Uuid::new_v4().to_string());
        }
        expectations.push((group.clone(), good, body.clone()));
        requests.push(app.send(app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!(body))));
    }
    let answers = join_all(requests).await;
    for ((group, good, body), r) in expectations.into_iter().zip(answers) {
        if good {
            assert_eq!(r.status.as_u16(), 201, "{}", r.text);
            let mut expected = body;
            expected.sort();
            assert_eq!(app.membership_rows(&group), expected);
        } else {
            assert_eq!(r.status.as_u16(), 400, "{}", r.text);
            assert!(app.membership_rows(&group).is_empty(), "a rejected bulk wrote nothing");
        }
    }
}

/// Two administrators take each other out at the same moment, by every path
/// that can remove a member of System Administrators, on one instance and on
/// two: one wins, the other is refused, and the account keeps an
/// administrator.
async fn mutual_removal_of_the_last_two_administrators_leaves_one(app: TestApp) {
    let second = app.start_another_instance();
    let kinds = ["v1 delete user", "mgmt delete user", "mgmt remove member", "v1 remove members"];
    let mut rounds = 0;
    for (a_kind, b_kind) in kinds.iter().flat_map(|a| kinds.iter().map(move |b| (*a, *b))) {
        for two_instances in [false, true] {
            rounds += 1;
            let tenant = app.new_tenant(&format!("round-{rounds}"));
            let a = tenant.admin_id.clone();
            let b = app.create_user_in(&tenant, &format!("b{rounds}@example.com"), None).await;
            let r = app
                .send(app.request_as(
                    &tenant,
                    &tenant.token,
                    Method::PUT,
                    &format!("/api/security/groups/System%20Administrators/users/{b}"),
                ))
                .await;
            assert_eq!(r.status.as_u16(), 204, "{}", r.text);
            let system = app.send(app.request_as(&tenant, &tenant.token, Method::GET, "/v1/groups?name=System")).await.body["items"][0]
                ["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let remove = |base: &str, token: &str, kind: &str, target: &str| {
                let (method, path, body) = match kind {
                    "v1 delete user" => (Method::DELETE, format!("/v1/users/{target}"), None),
                    "mgmt delete user" => (Method::DELETE, format!("/api/security/users/{target}"), None),
                    "mgmt remove member" => (Method::DELETE, format!("/api/security/groups/{system}/users/{target}"), None),
                    _ => (Method::DELETE, format!("/v1/groups/{system}/users"), Some(json!([target]))),
                };
                let mut request =
                    app.client.request(method, format!("{base}{path}")).bearer_auth(token).header("X-Account-ID", &tenant.account_id);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                app.send(request)
            };
            let token_b = app.token_for(&tenant, &b);
            let other_base = if two_instances { second.clone() } else { app.address.clone() };
            let (by_a, by_b) =
                futures_util::join!(remove(&app.address, &tenant.token, a_kind, &b), remove(&other_base, &token_b, b_kind, &a));
            let context = format!(
                "round {rounds}: A {a_kind} B / B {b_kind} A, two instances: {two_instances}: {} {} / {} {}",
                by_a.status, by_a.text, by_b.status, by_b.text
            );
            let won = [&by_a, &by_b].iter().filter(|r| r.status.is_success()).count();
            assert_eq!(won, 1, "{context}");
            // The loser is refused: 403 or 409 by the rule, or 401 once the
            // winner's delete has made its token worthless.
            for r in [&by_a, &by_b] {
                assert!(r.status.is_success() || [401, 403, 409].contains(&r.status.as_u16()), "{context}");
            }
            let admins =
                app.send(app.request_as(&tenant, &tenant.token, Method::GET, &format!("/api/security/groups/{system}/users"))).await;
            let admins = if admins.status.is_success() {
                admins
            } else {
                let token_b = app.token_for(&tenant, &b);
                app.send(app.request_as(&tenant, &token_b, Method::GET, &format!("/api/security/groups/{system}/users"))).await
            };
            assert_eq!(admins.body["totalCount"], 1, "{context}; administrators: {}", admins.text);
        }
    }
}

/// Groups deleted while members are being added to them and groups nested
/// under them, on every add path: each answer is a success or 404
/// GROUP_NOT_FOUND, never a 500 (PostgreSQL raised the membership foreign
/// key in the window between the group check and the insert).
async fn adds_racing_a_group_delete_answer_success_or_404(app: TestApp) {
    let users = app.create_users(4).await;
    let spare = app.create_group("Spare").await;
    let mut answers = Vec::new();
    for round in 0..24 {
        let group = app.create_group(&format!("Doomed {round}")).await;
        let mut requests = Vec::new();
        for i in 0..12 {
            let user = &users[i % users.len()];
            let request = match i % 4 {
                0 => app.request(Method::PUT, &format!("/api/security/groups/{group}/users/{user}")),
                1 => app.request(Method::PUT, &format!("/v1/groups/{group}/users")).json(&json!(users)),
                2 => app.request(Method::POST, &format!("/api/security/groups/{group}/users/")).json(&json!([user])),
                _ => app.request(Method::PUT, &format!("/api/security/groups/{group}/groups/{spare}")),
            };
            requests.push(app.send(request));
            if i == 5 {
                requests.push(app.send(app.request(Method::DELETE, &format!("/v1/groups/{group}"))));
            }
        }
        answers.extend(join_all(requests).await);
    }
    let mut not_found = 0;
    for r in &answers {
        if r.status.as_u16() == 404 {
            not_found += 1;
            assert!(r.body["error_code"] == "GROUP_NOT_FOUND" || r.body["data"]["code"] == "GROUP_NOT_FOUND", "{}", r.text);
        } else {
            assert!(r.status.is_success(), "{} {}", r.status, r.text);
        }
    }
    assert!(not_found > 0, "the deletes raced the adds");
    let spare_parents = app.send(app.request(Method::GET, &format!("/api/security/users/{}/groups", users[0]))).await;
    assert_eq!(spare_parents.body["items"], json!([]), "no membership of a deleted group survives: {}", spare_parents.text);
}

/// Creations of users and groups run in shared batches: many at once, on
/// two instances of one database, each answered as it would be alone. Of
/// the creations that want one email, username or group name (in any case),
/// exactly one is 201 and the others 409 `NAME_TAKEN`; a caller without the
/// permission gets 403 among the others' 201s; another account's equal
/// names are its own; every creation made is one event with its own actor
/// and request id, and nothing refused is written.
async fn concurrent_creations_are_each_answered_as_alone(app: TestApp) {
    let second = app.start_another_instance();
    let other = app.new_tenant("Other creations");
    let reader = app.create_user("reader@example.com", Some("reader")).await;
    let reader_token = app.token_for(&app.tenant, &reader);
    let start = app.feed_head().await;
    let mut requests = Vec::new();
    // (what, expected kind): 8 names, each wanted 4 times (2 per instance, 2
    // of them in upper case), by the administrator; each once by the
    // reader (403) and once in the other account (201).
    for i in 0..8 {
        for copy in 0..4 {
            let base = if copy % 2 == 0 { &app.address } else { &second };
            let (email, username, group) = if copy < 2 {
                (format!("same{i}@example.com"), format!("same{i}"), format!("Same {i}"))
            } else {
                (format!("SAME{i}@Example.com"), format!("SAME{i}"), format!("SAME {i}"))
            };
            let user = app
                .client
                .post(format!("{base}/v1/users"))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id)
                .header("X-Request-ID", format!("user-{i}-{copy}"))
                .json(&json!({"email": email, "username": if copy == 3 { format!("unique{i}") } else { username }}));
            requests.push(("user", i, "admin", app.send(user)));
            let group = app
                .client
                .post(format!("{base}/v1/groups"))
                .bearer_auth(&app.tenant.token)
                .header("X-Account-ID", &app.tenant.account_id)
                .header("X-Request-ID", format!("group-{i}-{copy}"))
                .json(&json!({"name": group}));
            requests.push(("group", i, "admin", app.send(group)));
        }
        let email = format!("refused{i}@example.com");
        requests.push((
            "user",
            i,
            "reader",
            app.send(app.request_as(&app.tenant, &reader_token, Method::POST, "/v1/users").json(&json!({"email": email}))),
        ));
        let name = format!("Refused {i}");
        requests.push((
            "group",
            i,
            "reader",
            app.send(app.request_as(&app.tenant, &reader_token, Method::POST, "/v1/groups").json(&json!({"name": name}))),
        ));
        let email = format!("same{i}@example.com");
        requests.push((
            "user",
            i,
            "other",
            app.send(app.request_as(&other, &other.token, Method::POST, "/v1/users").json(&json!({"email": email}))),
        ));
        let name = format!("Same {i}");
        requests.push((
            "group",
            i,
            "other",
            app.send(app.request_as(&other, &other.token, Method::POST, "/v1/groups").json(&json!({"name": name}))),
        ));
    }
    let (whats, answers): (Vec<_>, Vec<_>) = requests.into_iter().map(|(kind, i, who, r)| ((kind, i, who), r)).unzip();
    let answers = join_all(answers).await;
    let mut made = std::collections::BTreeMap::<(&str, usize, &str), Vec<String>>::new();
    for ((kind, i, who), r) in whats.iter().zip(&answers) {
        match (r.status.as_u16(), *who) {
            (201, "admin" | "other") => made.entry((*kind, *i, *who)).or_default().push(r.body["id"].as_str().unwrap().to_owned()),
            (409, "admin") => crate::helpers::assert_v1_error(r, 409, "NAME_TAKEN"),
            (403, "reader") => crate::helpers::assert_v1_error(r, 403, "FORBIDDEN"),
            (status, who) => panic!("{kind} {i} by {who}: {status} {}", r.text),
        }
    }
    for kind in ["user", "group"] {
        for i in 0..8 {
            // The user with the unique username still shares the email.
            assert_eq!(made.get(&(kind, i, "admin")).map(Vec::len), Some(1), "one {kind} {i} made: {made:?}");
            assert_eq!(made.get(&(kind, i, "other")).map(Vec::len), Some(1), "the other account's {kind} {i}: {made:?}");
        }
    }
    // Nothing refused was written: the account holds the admin, the reader
    // and the 8 users made; the events are the 16 creations, each with the
    // administrator as its actor and its own request's id.
    let r = app.call(Method::GET, "/v1/users?limit=1000", None).await;
    assert_eq!(r.body["total"], 10, "{}", r.text);
    let events = app.events_after(&start, 16).await;
    assert_eq!(events.len(), 16, "{events:#?}");
    let admin = &app.tenant.admin_id;
    for e in &events {
        let (kind, id) = match e["type"].as_str().unwrap() {
            "user.created" => ("user", e["user_id"].as_str().unwrap()),
            "group.created" => ("group", e["group_id"].as_str().unwrap()),
            other => panic!("only creations: {other}"),
        };
        assert_eq!(e["actor"]["user_id"], admin.as_str(), "{e}");
        let request = e["request_id"].as_str().unwrap();
        let i: usize = request.split('-').nth(1).unwrap().parse().unwrap();
        assert!(request.starts_with(kind), "{e}");
        assert_eq!(made[&(kind, i, "admin")], vec![id.to_owned()], "the event names what its request made: {e}");
    }
}

backend_tests!(
    concurrent_creations_are_each_answered_as_alone,
    rejected_bulks_among_concurrent_good_ones_write_nothing,
    concurrent_single_adds_of_one_user_make_one_membership,
    concurrent_overlapping_bulks_make_each_membership_once,
    two_instances_on_one_database_write_concurrently_without_loss,
    mutual_removal_of_the_last_two_administrators_leaves_one,
    adds_racing_a_group_delete_answer_success_or_404,
);
