//! `PUT {mgmt}/groups/{groupIdentifier}/users/{userIdentifier}`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{assert_management_error, TestApp};

async fn put(app: &TestApp, group: &str, user: &str) -> crate::helpers::Response {
    app.send(app.request(Method::PUT, &format!("/api/security/groups/{group}/users/{user}"))).await
}

async fn identifiers_are_matched_case_insensitively(app: TestApp) {
    let user = app.create_user("Marla.Singer@FightClub.com", Some("MSinger")).await;
    let group = app.create_group("Project Mayhem").await;
    for (g, u) in [
        ("project%20mayhem", "msinger"),
        ("PROJECT%20MAYHEM", "MARLA.SINGER@fightclub.COM"),
        (group.as_str(), user.to_uppercase().as_str()),
        (group.to_uppercase().as_str(), "mSinger"),
    ] {
        let r = put(&app, g, u).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{g} / {u}: {}", r.text);
    }
    assert_eq!(app.membership_rows(&group), vec![user]);
}

async fn names_with_reserved_characters_are_percent_decoded(app: TestApp) {
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Café & Co: 100% #1?").await;
    let r = put(&app, "Caf%C3%A9%20%26%20Co%3A%20100%25%20%231%3F", "bob").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.membership_rows(&group), vec![user]);
}

async fn adding_a_member_again_answers_204_and_keeps_one_membership(app: TestApp) {
    let user = app.create_user("bob@example.com", Some("bob")).await;
    let group = app.create_group("Readers").await;
    for _ in 0..3 {
        assert_eq!(put(&app, &group, &user).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(app.membership_rows(&group), vec![user]);
}

async fn a_missing_group_is_a_404_with_its_own_code(app: TestApp) {
    app.create_user("bob@example.com", Some("bob")).await;
    for group in ["Nobody%20Here", "0b5b4a3c-58a2-4a4f-8a39-3f6e7e0e2b11"] {
        let r = put(&app, group, "bob").await;
        assert_management_error(&r, 404, "GROUP_NOT_FOUND");
        assert_eq!(r.body["message"], "Group not found");
    }
}

async fn a_missing_user_is_a_404_with_its_own_code(app: TestApp) {
    let group = app.create_group("Readers").await;
    for user in ["nobody", "nobody@example.com", "0b5b4a3c-58a2-4a4f-8a39-3f6e7e0e2b11"] {
        let r = put(&app, &group, user).await;
        assert_management_error(&r, 404, "USER_NOT_FOUND");
        assert_eq!(r.body["message"], "User not found");
    }
    assert!(app.membership_rows(&group).is_empty());
}

async fn another_accounts_group_or_user_is_reported_as_missing(app: TestApp) {
    let other = app.new_tenant("other");
    let their_user = app.create_user_in(&other, "theirs@example.com", Some("theirs")).await;
    let their_group = app.create_group_in(&other, "Theirs").await;
    let my_user = app.create_user("mine@example.com", Some("mine")).await;
    let my_group = app.create_group("Mine").await;

    assert_management_error(&put(&app, &their_group, &my_user).await, 404, "GROUP_NOT_FOUND");
    assert_management_error(&put(&app, "Theirs", "mine").await, 404, "GROUP_NOT_FOUND");
    assert_management_error(&put(&app, &my_group, &their_user).await, 404, "USER_NOT_FOUND");
    assert_management_error(&put(&app, &my_group, "theirs@example.com").await, 404, "USER_NOT_FOUND");
    assert!(app.membership_rows(&my_group).is_empty());
    assert!(app.membership_rows(&their_group).is_empty());
}

/// Concurrent single adds share transactions, and each is still answered
/// as it would be alone: the callers' own rights (a delegate may add to a
/// plain group, not to one granting what the delegate lacks; a caller
/// without `group_update` may add nowhere), missing groups and users, names
/// and emails, an add repeated at the same moment (one membership, one
/// event). Each new membership is one event, with the actor and request id
/// of a request that asked for it.
async fn concurrent_adds_are_each_answered_as_if_alone(app: TestApp) {
    let users = app.create_users(24).await;
    let plain = app.create_group("plain").await;
    let other = app.create_group("Other Team").await;
    let guarded = app.create_group("guarded").await;
    app.grant(&guarded, "user_delete");
    let delegates = app.create_group("delegates").await;
    app.grant(&delegates, "group_update");
    let delegate = app.create_user("delegate@example.com", None).await;
    assert_eq!(put(&app, &delegates, &delegate).await.status, StatusCode::NO_CONTENT);
    let nobody = app.create_user("nobody@example.com", None).await;
    let admin = app.tenant.token.clone();
    let delegate_token = app.token_for(&app.tenant, &delegate);
    let nobody_token = app.token_for(&app.tenant, &nobody);
    let missing = "0b5b4a3c-58a2-4a4f-8a39-3f6e7e0e2b11".to_owned();
    let email_of_20 = app.call(Method::GET, &format!("/v1/users/{}", users[20]), None).await.body["email"].as_str().unwrap().to_owned();

    // (caller, group, user, expected status, expected code, the membership it asks for)
    type Case<'a> = (&'a str, String, String, u16, &'a str, Option<(String, String)>);
    let mut cases: Vec<Case> = Vec::new();
    for u in &users[..10] {
        for _ in 0..2 {
            cases.push((&admin, plain.clone(), u.clone(), 204, "", Some((plain.clone(), u.clone()))));
        }
    }
    for u in &users[10..16] {
        cases.push((&delegate_token, other.clone(), u.clone(), 204, "", Some((other.clone(), u.clone()))));
    }
    for u in &users[16..19] {
        cases.push((&delegate_token, guarded.clone(), u.clone(), 403, "FORBIDDEN", None));
        cases.push((&nobody_token, plain.clone(), u.clone(), 403, "FORBIDDEN", None));
    }
    cases.push((&admin, missing.clone(), users[19].clone(), 404, "GROUP_NOT_FOUND", None));
    cases.push((&delegate_token, plain.clone(), missing.clone(), 404, "USER_NOT_FOUND", None));
    cases.push((&admin, "other%20team".into(), email_of_20.clone(), 204, "", Some((other.clone(), users[20].clone()))));
    cases.push((&admin, guarded.clone(), users[21].clone(), 204, "", Some((guarded.clone(), users[21].clone()))));

    let calls = cases.iter().enumerate().map(|(i, (token, group, user, ..))| {
        let request = app
            .request_as(&app.tenant, token, Method::PUT, &format!("/api/security/groups/{group}/users/{user}"))
            .header("x-request-id", format!("add-{i}"));
        app.send(request)
    });
    let answers = futures_util::future::join_all(calls).await;
    for ((_, group, user, status, code, _), r) in cases.iter().zip(&answers) {
        if *status == 204 {
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{group} / {user}: {}", r.text);
        } else {
            assert_management_error(r, *status, code);
        }
    }
    assert_eq!(app.membership_rows(&plain), {
        let mut v = users[..10].to_vec();
        v.sort();
        v
    });
    assert_eq!(app.membership_rows(&other), {
        let mut v = [&users[10..16], &users[20..21]].concat();
        v.sort();
        v
    });
    assert_eq!(app.membership_rows(&guarded), vec![users[21].clone()]);

    let expected: std::collections::BTreeSet<(String, String)> = cases.iter().filter_map(|c| c.5.clone()).collect();
    let burst = |events: Vec<Value>| -> Vec<Value> {
        let burst_groups = [plain.as_str(), other.as_str(), guarded.as_str()];
        events.into_iter().filter(|e| e["type"] == "membership.added" && burst_groups.iter().any(|g| e["group_id"] == *g)).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while burst(app.follow_feed(&app.tenant, None, 1000).await.0).len() < expected.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Time for a duplicate to show, if there were one.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let all = burst(app.follow_feed(&app.tenant, None, 1000).await.0);
    assert_eq!(all.len(), expected.len(), "one event per new membership: {all:#?}");
    // The feed's filters see each event of a shared transaction on its own.
    let r = app.call(Method::GET, &format!("/v1/events?type=membership.added&group_id={other}&limit=1000"), None).await;
    let mut of_other: Vec<String> = r.body["items"].as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
    of_other.sort();
    assert_eq!(
        of_other,
        {
            let mut v = [&users[10..16], &users[20..21]].concat();
            v.sort();
            v
        },
        "{}",
        r.text
    );
    let r = app.call(Method::GET, &format!("/v1/events?user_id={}&type=membership.added", users[3]), None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["items"][0]["group_id"], plain.as_str(), "{}", r.text);
    for e in &all {
        let pair = (e["group_id"].as_str().unwrap().to_owned(), e["user_id"].as_str().unwrap().to_owned());
        assert!(expected.contains(&pair), "{e}");
        let i: usize =
            e["request_id"].as_str().and_then(|r| r.strip_prefix("add-")).and_then(|n| n.parse().ok()).expect("a request id of the burst");
        assert_eq!(cases[i].5.as_ref(), Some(&pair), "the event's request asked for that membership: {e}");
        let actor = if cases[i].0 == delegate_token { &delegate } else { &app.tenant.admin_id };
        assert_eq!(e["actor"]["user_id"], actor.as_str(), "{e}");
    }
}

backend_tests!(
    concurrent_adds_are_each_answered_as_if_alone,
    identifiers_are_matched_case_insensitively,
    names_with_reserved_characters_are_percent_decoded,
    adding_a_member_again_answers_204_and_keeps_one_membership,
    a_missing_group_is_a_404_with_its_own_code,
    a_missing_user_is_a_404_with_its_own_code,
    another_accounts_group_or_user_is_reported_as_missing,
);
