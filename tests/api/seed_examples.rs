//! Every example request of the documents in `shared/seeds/`, with their own
//! ids, names, usernames and emails, on every prefix they use.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

const GROUP_ID: &str = "6254736c-70e1-43b0-b769-f8e0f6359862";
const GROUP_NAME: &str = "Paper%20Street%20Soap%20Company";
const USER_ID: &str = "3d063773-2ca9-4baf-90e1-ed674fa68640";
// As written in the documents (not taken from the code under test).
const BULK_IDS: [&str; 5] = [
    "75490b0f-56f7-4690-a20a-6f2a822f1d3f",
    "20b5e923-beb8-44ab-8bb4-34467582230f",
    "13f8cd48-7765-47b7-9fa3-2ad9c935a4be",
    "3c3d98a1-c80a-49d1-b602-f38ad2b01af8",
    "11f5ce76-ca86-45d8-9928-d7fd56863ec7",
];
const V1_IDS: [&str; 3] =
    ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"];

/// The documents' group and users, with the documents' ids.
fn seed_documents_fixtures(app: &TestApp) {
    let account = app.tenant.account_id.parse().unwrap();
    crate::helpers::block_on(app.service.seed_document_examples(account)).unwrap();
    // Seeding twice keeps what exists.
    crate::helpers::block_on(app.service.seed_document_examples(account)).unwrap();
}

async fn single_add_examples_answer_204_on_both_management_prefixes(app: TestApp) {
    seed_documents_fixtures(&app);
    for prefix in ["/api/security", "/api/management/security"] {
        for (group, user) in [
            (GROUP_ID, USER_ID),
            (GROUP_NAME, USER_ID),
            (GROUP_ID, "tdurden"),
            (GROUP_ID, "t.durden@fightclub.com"),
            (GROUP_NAME, "t.durden@fightclub.com"),
        ] {
            let path = format!("{prefix}/groups/{group}/users/{user}");
            let r = app.send(app.request(Method::PUT, &path)).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "PUT {path}: {}", r.text);
            assert!(r.text.is_empty(), "204 has no body");
        }
    }
    assert_eq!(app.members(GROUP_ID).await, vec![USER_ID.to_owned()]);
    assert_eq!(app.membership_rows(GROUP_ID), vec![USER_ID.to_owned()], "one row however often it was added");
}

async fn bulk_examples_answer_204_on_both_management_prefixes(app: TestApp) {
    seed_documents_fixtures(&app);
    for prefix in ["/api/security", "/api/management/security"] {
        for group in [GROUP_ID, GROUP_NAME] {
            let path = format!("{prefix}/groups/{group}/users/");
            let r = app.send(app.request(Method::POST, &path).json(&json!(BULK_IDS))).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "POST {path}: {}", r.text);
        }
    }
    let mut expected: Vec<String> = BULK_IDS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(app.members(GROUP_ID).await, expected);
    assert_eq!(app.membership_rows(GROUP_ID), expected);
}

async fn v1_example_answers_201_with_no_body(app: TestApp) {
    seed_documents_fixtures(&app);
    let path = format!("/v1/groups/{GROUP_ID}/users");
    let r = app.send(app.request(Method::PUT, &path).json(&json!(V1_IDS))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.text.is_empty(), "201 has no body: {}", r.text);
    let mut expected: Vec<String> = V1_IDS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(app.members(GROUP_ID).await, expected);
}

backend_tests!(
    single_add_examples_answer_204_on_both_management_prefixes,
    bulk_examples_answer_204_on_both_management_prefixes,
    v1_example_answers_201_with_no_body,
);
