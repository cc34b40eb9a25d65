//! Drives a live Rollcall through the client progenitor generates from the
//! 3.0.3 rendition of the spec. Environment: ROLLCALL_URL, ROLLCALL_TOKEN,
//! ROLLCALL_ACCOUNT. Panics (exit non-zero) on any unexpected answer.

progenitor::generate_api!(spec = "../../../openapi/openapi-3.0.json", interface = Builder);

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"))
}

#[tokio::main]
async fn main() {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", env("ROLLCALL_TOKEN"))).unwrap());
    headers.insert("X-Account-ID", HeaderValue::from_str(&env("ROLLCALL_ACCOUNT")).unwrap());
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let client = Client::new_with_client(&env("ROLLCALL_URL"), http);
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    let group = client
        .v1_create_group()
        .body(types::CreateGroupRequest { name: format!("Rust client {run}").parse().unwrap(), description: None, permissions: Default::default() })
        .send()
        .await
        .expect("create group")
        .into_inner();

    let mut n = 0;
    let mut create_user = || {
        n += 1;
        let body = types::CreateUserRequest {
            email: format!("rs{n}-{run}@example.com").parse().unwrap(),
            username: Some(format!("rs{n}-{run}").parse().unwrap()),
            first_name: None,
            last_name: None,
        };
        client.v1_create_user().body(body).send()
    };
    let first = create_user().await.expect("create user").into_inner();

    // The single add, by username, to the group by id.
    let single = client
        .add_user_to_group()
        .group_identifier(group.id.to_string())
        .user_identifier(first.username.clone().unwrap().to_string())
        .send()
        .await
        .expect("single add");
    assert_eq!(single.status().as_u16(), 204);

    // Five users by each bulk call.
    for call in ["add_users_to_group", "legacy_add_users_to_group", "v1_add_users_to_group"] {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(create_user().await.expect("create user").into_inner().id);
        }
        let body = types::UserIds(ids);
        let status = match call {
            "add_users_to_group" => client.add_users_to_group().group_identifier(group.name.to_string()).body(body).send().await.expect(call).status(),
            "legacy_add_users_to_group" => client.legacy_add_users_to_group().group_identifier(group.name.to_string()).body(body).send().await.expect(call).status(),
            _ => client.v1_add_users_to_group().group_id(group.id).body(body).send().await.expect(call).status(),
        };
        assert!(status.is_success(), "{call}: {status}");
    }

    let members = client.v1_list_group_members().group_id(group.id).limit(1000).send().await.expect("list").into_inner();
    assert_eq!(members.total, 16);
    assert_eq!(members.items.len(), 16);

    // 101 ids through the generated call: the server's 400 comes back as
    // the generated `ErrorResponse` type.
    let too_many: Vec<uuid::Uuid> = (0..101).map(|_| uuid::Uuid::new_v4()).collect();
    let outcome = client.v1_add_users_to_group().group_id(group.id).body(types::UserIds(too_many)).send().await;
    match outcome {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            assert_eq!(response.status().as_u16(), 400);
            assert_eq!(response.error_code, "VALIDATION_ERROR");
        }
        other => panic!("expected a typed 400, got {other:?}"),
    }

    println!("rust client: created 16 users and 1 group, added 1 + 3x5 members, read back {}, typed 400 ErrorResponse: ok", members.total);
}
