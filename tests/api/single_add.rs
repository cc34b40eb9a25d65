//! `PUT {mgmt}/groups/{groupIdentifier}/users/{userIdentifier}`.

use reqwest::{Method, StatusCode};

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

backend_tests!(
    identifiers_are_matched_case_insensitively,
    names_with_reserved_characters_are_percent_decoded,
    adding_a_member_again_answers_204_and_keeps_one_membership,
    a_missing_group_is_a_404_with_its_own_code,
    a_missing_user_is_a_404_with_its_own_code,
    another_accounts_group_or_user_is_reported_as_missing,
);
