//! Signing in: the OAuth2 token endpoint (each grant and each failure),
//! `/v1/auth/token`, API keys, passwords and lockout, and revocation that
//! bites on the next request on every instance.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_v1_error, Response, TestApp};

const TOKEN: &str = "/authenticate/connect/token";
const M: &str = "/api/security";

impl TestApp {
    /// A form post to the token endpoint under `base` ("" or "/accounts/{id}").
    async fn token_grant(&self, base: &str, form: &[(&str, &str)]) -> Response {
        self.send(self.client.post(self.url(&format!("{base}{TOKEN}"))).form(form)).await
    }

    /// An API key made over `/v1` by the tenant's administrator, for `user` (or the admin).
    async fn api_key(&self, user: Option<&str>) -> (String, String) {
        let body = match user {
            Some(u) => json!({"name": "test key", "user_id": u}),
            None => json!({"name": "test key"}),
        };
        let r = self.call(Method::POST, "/v1/api-keys", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (r.body["id"].as_str().unwrap().to_owned(), r.body["secret"].as_str().unwrap().to_owned())
    }

    /// A user with a password, made on the management surface as the vendor's model does.
    async fn user_with_password(&self, username: &str, password: &str) -> String {
        let body = json!({"email": format!("{username}@example.com"), "username": username, "credentials": {"password": password}});
        let r = self.call(Method::POST, &format!("{M}/users"), Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert!(!r.text.contains(password), "the password is never shown: {}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn password_grant(&self, base: &str, username: &str, password: &str) -> Response {
        let form = [
            ("grant_type", "contensis_classic"),
            ("username", username),
            ("password", password),
            ("scope", "openid offline_access Security_Administrator"),
        ];
        self.token_grant(base, &form).await
    }

    /// The status of one management call with `token`.
    async fn status_with(&self, base: &str, token: &str) -> StatusCode {
        self.send(self.client.get(self.url(&format!("{base}{M}/groups"))).bearer_auth(token)).await.status
    }
}

fn assert_oauth_error(r: &Response, status: u16, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["error"], error, "{}", r.text);
    assert!(r.body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.text);
    assert!(r.headers.get("content-type").is_some_and(|c| c.to_str().unwrap().starts_with("application/json")), "{:?}", r.headers);
}

fn access_token(r: &Response) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_i64().is_some_and(|s| (3590..=3600).contains(&s)), "{}", r.text);
    assert_eq!(r.headers["cache-control"], "no-store");
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// An API key's credentials sign in, in the form or as HTTP Basic, at the
/// root and under the key's own account path; the token works on every
/// surface. Under another account's path the key is refused like a wrong
/// secret, and so is its token.
async fn client_credentials_sign_in_at_the_root_and_under_the_accounts_path(app: TestApp) {
    let (id, secret) = app.api_key(None).await;
    let own = format!("/accounts/{}", app.tenant.account_id);
    let other = app.new_tenant("other");
    let foreign = format!("/accounts/{}", other.account_id);

    let r = app
        .token_grant(
            "",
            &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret), ("scope", "Security_Administrator")],
        )
        .await;
    let token = access_token(&r);
    assert_eq!(r.body["scope"], "Security_Administrator");
    assert!(r.body.get("refresh_token").is_none(), "no refresh token for client credentials: {}", r.text);
    assert_eq!(app.status_with("", &token).await, StatusCode::OK);
    assert_eq!(app.status_with(&own, &token).await, StatusCode::OK);
    let v1 = app.send(app.client.get(app.url("/v1/users")).bearer_auth(&token).header("X-Account-ID", &app.tenant.account_id)).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);

    let basic = app
        .send(
            app.client.post(app.url(&format!("{own}{TOKEN}"))).basic_auth(&id, Some(&secret)).form(&[("grant_type", "client_credentials")]),
        )
        .await;
    access_token(&basic);

    let r = app.token_grant(&foreign, &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret)]).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let wrong = app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "rck_wrong")]).await;
    assert_eq!(r.body["error_description"], wrong.body["error_description"], "another account's path reads like a wrong secret");

    // The token under another account's base path: refused.
    let r = app.send(app.client.get(app.url(&format!("{foreign}{M}/groups"))).bearer_auth(&token)).await;
    assert_management_error(&r, 401, "UNAUTHENTICATED");
    // The base path serves the management surfaces and the token endpoint only.
    let r = app.send(app.client.get(app.url(&format!("{own}/v1/users"))).bearer_auth(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

/// Every failure of the token endpoint is an RFC 6749 error with the status
/// the RFC gives, and none echoes what was sent.
async fn every_token_endpoint_failure_is_an_rfc_6749_error(app: TestApp) {
    let (id, secret) = app.api_key(None).await;
    app.user_with_password("pat", "pat's long password").await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("no grant type", vec![("client_id", &id)], 400, "invalid_request"),
        ("unknown grant type", vec![("grant_type", "authorization_code")], 400, "unsupported_grant_type"),
        ("repeated parameter", vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")], 400, "invalid_request"),
        ("no client credentials", vec![("grant_type", "client_credentials")], 401, "invalid_client"),
        (
            "wrong secret",
            vec![("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", "guess-guess-guess")],
            401,
            "invalid_client",
        ),
        (
            "unknown key",
            vec![("grant_type", "client_credentials"), ("client_id", "6254736c-70e1-43b0-b769-f8e0f6359862"), ("client_secret", &secret)],
            401,
            "invalid_client",
        ),
        (
            "client id not a uuid",
            vec![("grant_type", "client_credentials"), ("client_id", "nope"), ("client_secret", &secret)],
            401,
            "invalid_client",
        ),
        (
            "unknown scope",
            vec![("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret), ("scope", "root")],
            400,
            "invalid_scope",
        ),
        ("password grant without password", vec![("grant_type", "contensis_classic"), ("username", "pat")], 400, "invalid_request"),
        ("wrong password", vec![("grant_type", "password"), ("username", "pat"), ("password", "not pat's password")], 400, "invalid_grant"),
        (
            "unknown user",
            vec![("grant_type", "password"), ("username", "nobody"), ("password", "not pat's password")],
            400,
            "invalid_grant",
        ),
        (
            "refresh token not one",
            vec![("grant_type", "contensis_classic_refresh_token"), ("refresh_token", "rcr_nonsense")],
            400,
            "invalid_grant",
        ),
        ("refresh grant without token", vec![("grant_type", "refresh_token")], 400, "invalid_request"),
    ];
    for (label, form, status, error) in cases {
        let r = app.token_grant("", &form).await;
        assert_eq!(r.status.as_u16(), status, "{label}: {}", r.text);
        assert_oauth_error(&r, status, error);
        assert!(!r.text.contains(&secret) && !r.text.contains("pat's"), "{label}: nothing sent is echoed: {}", r.text);
    }
    let wrong_password = app.token_grant("", &[("grant_type", "password"), ("username", "pat"), ("password", "not pat's password")]).await;
    let unknown_user = app.token_grant("", &[("grant_type", "password"), ("username", "nobody"), ("password", "not pat's password")]).await;
    assert_eq!(wrong_password.body["error_description"], unknown_user.body["error_description"], "the same answer");

    let json = app.send(app.client.post(app.url(TOKEN)).json(&json!({"grant_type": "client_credentials"}))).await;
    assert_oauth_error(&json, 415, "invalid_request");
    let get = app.send(app.client.get(app.url(TOKEN))).await;
    assert_oauth_error(&get, 405, "invalid_request");
    let big = "x".repeat(20_000);
    let r = app.token_grant("", &[("grant_type", "client_credentials"), ("client_secret", &big)]).await;
    assert_oauth_error(&r, 413, "invalid_request");
    let both = app
        .send(app.client.post(app.url(TOKEN)).basic_auth(&id, Some(&secret)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ]))
        .await;
    assert_oauth_error(&both, 400, "invalid_request");
}

/// The vendor's password grant gives a token and a refresh token; a refresh
/// gives new ones and uses up the old refresh token; presenting a used one
/// again ends the whole sign-in.
async fn password_sign_in_refreshes_and_a_reused_refresh_token_ends_the_sign_in(app: TestApp) {
    app.user_with_password("marla", "marla's long password").await;
    let r = app.password_grant("", "MARLA", "marla's long password").await;
    let first = access_token(&r);
    let refresh = r.body["refresh_token"].as_str().expect("a refresh token with offline_access").to_owned();
    assert_eq!(app.status_with("", &first).await, StatusCode::FORBIDDEN, "signed in as a user without rights");

    let without_offline =
        app.token_grant("", &[("grant_type", "password"), ("username", "marla"), ("password", "marla's long password")]).await;
    access_token(&without_offline);
    assert!(without_offline.body.get("refresh_token").is_none(), "{}", without_offline.text);

    let r = app.token_grant("", &[("grant_type", "contensis_classic_refresh_token"), ("refresh_token", &refresh)]).await;
    let second = access_token(&r);
    let next_refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next_refresh, refresh);
    assert_eq!(app.status_with("", &second).await, StatusCode::FORBIDDEN);

    let reused = app.token_grant("", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_oauth_error(&reused, 400, "invalid_grant");
    let after = app.token_grant("", &[("grant_type", "refresh_token"), ("refresh_token", &next_refresh)]).await;
    assert_oauth_error(&after, 400, "invalid_grant");
    assert_eq!(app.status_with("", &second).await, StatusCode::UNAUTHORIZED, "the ended sign-in's tokens are refused");
    assert_eq!(app.status_with("", &first).await, StatusCode::UNAUTHORIZED);

    // Under an account path the username is looked up there; at the root in
    // the account created first.
    let other = app.new_tenant("elsewhere");
    let r = app.password_grant(&format!("/accounts/{}", app.tenant.account_id), "marla", "marla's long password").await;
    access_token(&r);
    let r = app.password_grant(&format!("/accounts/{}", other.account_id), "marla", "marla's long password").await;
    assert_oauth_error(&r, 400, "invalid_grant");
}

/// Five wrong passwords in a row lock the user: then even the right one is
/// refused (with the same answer) until an administrator unlocks them; a
/// success in between starts the count again.
async fn five_failed_sign_ins_lock_the_user_until_unlocked(app: TestApp) {
    let user = app.user_with_password("bob", "bob's long password").await;
    for _ in 0..4 {
        assert_oauth_error(&app.password_grant("", "bob", "wrong password").await, 400, "invalid_grant");
    }
    let before = access_token(&app.password_grant("", "bob", "bob's long password").await);
    let me = || app.client.get(app.url(&format!("{M}/users/{user}"))).bearer_auth(&before);
    assert_eq!(app.send(me()).await.status, StatusCode::OK);
    for _ in 0..5 {
        assert_oauth_error(&app.password_grant("", "bob", "wrong password").await, 400, "invalid_grant");
    }
    let locked = app.password_grant("", "bob", "bob's long password").await;
    assert_oauth_error(&locked, 400, "invalid_grant");
    let wrong = app.password_grant("", "bob", "wrong password").await;
    assert_eq!(locked.body["error_description"], wrong.body["error_description"], "a lock reads like a wrong password");
    assert_eq!(app.send(me()).await.status, StatusCode::UNAUTHORIZED, "a locked user's tokens are refused");

    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "unlock"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.send(me()).await.status, StatusCode::OK, "unlocked, the token holds again");
    access_token(&app.password_grant("", "bob", "bob's long password").await);

    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "explode"}))).await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
}

/// Revoking a key, suspending or deleting the user: every token issued
/// before is refused on the next request, on this instance and another.
async fn revocation_bites_on_the_next_request_on_every_instance(app: TestApp) {
    let second = app.start_another_instance();
    let user = app.user_with_password("tyler", "tyler's long password").await;
    let (key, secret) = app.api_key(Some(&user)).await;
    let key_token =
        access_token(&app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &key), ("client_secret", &secret)]).await);
    let password_token = access_token(&app.password_grant("", "tyler", "tyler's long password").await);
    // Reading oneself needs no rights: 200 while the token holds.
    let me = |base: &str, token: &str| app.client.get(format!("{base}{M}/users/{user}")).bearer_auth(token.to_owned());
    for base in [&app.address, &second] {
        assert_eq!(app.send(me(base, &key_token)).await.status, StatusCode::OK);
        assert_eq!(app.send(me(base, &password_token)).await.status, StatusCode::OK);
    }

    let r = app.call(Method::DELETE, &format!("/v1/api-keys/{key}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for base in [&app.address, &second] {
        assert_eq!(app.send(me(base, &key_token)).await.status, StatusCode::UNAUTHORIZED, "a revoked key's token on {base}");
        assert_eq!(app.send(me(base, &password_token)).await.status, StatusCode::OK, "other tokens stay");
    }
    let r = app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &key), ("client_secret", &secret)]).await;
    assert_oauth_error(&r, 401, "invalid_client");

    let (key, secret) = app.api_key(Some(&user)).await;
    let key_token =
        access_token(&app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &key), ("client_secret", &secret)]).await);
    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "suspend"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for base in [&app.address, &second] {
        for token in [&key_token, &password_token] {
            let r = app.send(me(base, token)).await;
            assert_management_error(&r, 401, "UNAUTHENTICATED");
        }
    }
    assert_oauth_error(&app.password_grant("", "tyler", "tyler's long password").await, 400, "invalid_grant");
    let r = app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &key), ("client_secret", &secret)]).await;
    assert_oauth_error(&r, 401, "invalid_client");

    // Reinstated: new sign-ins work, the old tokens stay refused.
    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "unsuspend"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.send(me(&second, &key_token)).await.status, StatusCode::UNAUTHORIZED);
    let fresh =
        access_token(&app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", &key), ("client_secret", &secret)]).await);
    assert_eq!(app.send(me(&second, &fresh)).await.status, StatusCode::OK);

    let r = app.call(Method::DELETE, &format!("{M}/users/{user}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for base in [&app.address, &second] {
        assert_eq!(app.send(me(base, &fresh)).await.status, StatusCode::UNAUTHORIZED, "a deleted user's token on {base}");
    }
}

/// Concurrent requests have their tokens checked together (one read for
/// many, [`rollcall::service`]'s token-check batches), and each still gets
/// the verdict of its own token: good keys, a revoked key of the same user,
/// an ended sign-in, a suspended user's key, mixed in every batch.
async fn concurrent_tokens_are_checked_together_and_each_gets_its_own_verdict(app: TestApp) {
    let tyler = app.user_with_password("tyler", "tyler's long password").await;
    let sam = app.user_with_password("sam", "sam's long password").await;
    let key_token = |key: String, secret: String| {
        let app = &app;
        async move {
            let form = [("grant_type", "client_credentials"), ("client_id", key.as_str()), ("client_secret", secret.as_str())];
            access_token(&app.token_grant("", &form).await)
        }
    };
    let (key, secret) = app.api_key(Some(&tyler)).await;
    let good = key_token(key, secret).await;
    let (revoked_id, secret) = app.api_key(Some(&tyler)).await;
    let revoked_key = key_token(revoked_id.clone(), secret).await;
    let session = access_token(&app.password_grant("", "tyler", "tyler's long password").await);
    let r = app.password_grant("", "tyler", "tyler's long password").await;
    let ended_session = access_token(&r);
    let refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    let (key, secret) = app.api_key(Some(&sam)).await;
    let suspended = key_token(key, secret).await;

    let r = app.call(Method::DELETE, &format!("/v1/api-keys/{revoked_id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.call(Method::POST, &format!("{M}/users/{sam}/actions"), Some(json!({"type": "suspend"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Using the refresh token twice ends the sign-in it belongs to.
    for expected in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let r = app.token_grant("", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        assert_eq!(r.status, expected, "{}", r.text);
    }

    let tokens = [
        (good.as_str(), StatusCode::OK),
        (revoked_key.as_str(), StatusCode::UNAUTHORIZED),
        (session.as_str(), StatusCode::OK),
        (ended_session.as_str(), StatusCode::UNAUTHORIZED),
        (suspended.as_str(), StatusCode::UNAUTHORIZED),
        ("not a token", StatusCode::UNAUTHORIZED),
    ];
    let me = |token: &str| app.client.get(app.url(&format!("{M}/users/{tyler}"))).bearer_auth(token.to_owned());
    for _ in 0..3 {
        let answers = futures_util::future::join_all(tokens.iter().cycle().take(60).map(|(token, _)| app.send(me(token)))).await;
        for (r, (token, expected)) in answers.iter().zip(tokens.iter().cycle()) {
            let which = tokens.iter().position(|t| t.0 == *token).unwrap();
            if *expected == StatusCode::OK {
                assert_eq!(r.status, StatusCode::OK, "token {which} of the batch: {}", r.text);
                assert_eq!(r.body["id"], tyler.as_str(), "token {which} reads its own user: {}", r.text);
            } else {
                assert_management_error(r, 401, "UNAUTHENTICATED");
            }
        }
    }

    // Single adds check their tokens inside their batch's transaction: the
    // same verdicts, and a refused token adds nothing. Each token adds a
    // user of its own (tyler is made an administrator, so a good token may).
    let r = app.call(Method::PUT, &format!("{M}/groups/System%20Administrators/users/{tyler}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let group = app.create_group("crowd").await;
    let mut added = Vec::new();
    for (i, _) in tokens.iter().enumerate() {
        added.push(app.create_user(&format!("added{i}@example.com"), None).await);
    }
    let add =
        |i: usize, token: &str| app.client.put(app.url(&format!("{M}/groups/{group}/users/{}", added[i]))).bearer_auth(token.to_owned());
    for _ in 0..3 {
        let answers = futures_util::future::join_all((0..60).map(|n| app.send(add(n % tokens.len(), tokens[n % tokens.len()].0)))).await;
        for (n, r) in answers.iter().enumerate() {
            if tokens[n % tokens.len()].1 == StatusCode::OK {
                assert_eq!(r.status, StatusCode::NO_CONTENT, "token {} of the batch: {}", n % tokens.len(), r.text);
            } else {
                assert_management_error(r, 401, "UNAUTHENTICATED");
            }
        }
    }
    for (i, (_, expected)) in tokens.iter().enumerate() {
        let r = app.send(app.client.head(app.url(&format!("{M}/groups/{group}/users/{}", added[i]))).bearer_auth(&good)).await;
        let member = if *expected == StatusCode::OK { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND };
        assert_eq!(r.status, member, "user {i} added only by a good token");
    }
    // A refused token is a 401 also where the request is wrong otherwise
    // (a control character in the group's name): the token is checked
    // before the answer.
    for (token, expected) in tokens {
        let r = app.send(app.client.put(app.url(&format!("{M}/groups/a%01b/users/{}", added[0]))).bearer_auth(token)).await;
        if expected == StatusCode::OK {
            assert_management_error(&r, 400, "VALIDATION_ERROR");
            assert!(r.text.contains("control characters"), "says what is wrong: {}", r.text);
        } else {
            assert_management_error(&r, 401, "UNAUTHENTICATED");
        }
    }

    // Creations check their tokens inside their batch's transaction too, on
    // every creation route: concurrent good and refused tokens, each its
    // own verdict; a refused token creates nothing.
    let account = app.tenant.account_id.clone();
    let routes = ["/v1/users", "/v1/groups", &format!("{M}/users"), &format!("{M}/groups/"), &format!("{M}/groups")].map(str::to_owned);
    let body = |route: &str, name: &str| match (route.starts_with("/v1"), route.contains("users")) {
        (true, true) => json!({"email": format!("{name}@example.com")}),
        (false, true) => json!({"email": format!("{name}@example.com"), "username": name}),
        (_, false) => json!({"name": name}),
    };
    let create = |route: &str, token: &str, body: String| {
        app.client
            .post(app.url(route))
            .bearer_auth(token.to_owned())
            .header("X-Account-ID", account.clone())
            .header("Content-Type", "application/json")
            .body(body)
    };
    let requests = (0..60).map(|n| {
        let (route, (token, _)) = (&routes[n % routes.len()], tokens[n % tokens.len()]);
        app.send(create(route, token, body(route, &format!("made{n}")).to_string()))
    });
    let answers = futures_util::future::join_all(requests).await;
    for (n, r) in answers.iter().enumerate() {
        let route = &routes[n % routes.len()];
        if tokens[n % tokens.len()].1 == StatusCode::OK {
            assert_eq!(r.status, StatusCode::CREATED, "{route}, token {}: {}", n % tokens.len(), r.text);
        } else {
            crate::helpers::assert_surface_error(r, route, 401, "UNAUTHENTICATED");
        }
    }
    for n in 0..60 {
        let (name, made) = (format!("made{n}"), tokens[n % tokens.len()].1 == StatusCode::OK);
        let path =
            if routes[n % routes.len()].contains("users") { format!("{M}/users/{name}@example.com") } else { format!("{M}/groups/{name}") };
        let r = app.send(app.client.get(app.url(&path)).bearer_auth(&good)).await;
        assert_eq!(r.status, if made { StatusCode::OK } else { StatusCode::NOT_FOUND }, "{path} made only by a good token: {}", r.text);
    }
    // And a refused token is the answer whatever else is wrong with the
    // creation: JSON that does not parse, a field that breaks the rules, a
    // name that is taken.
    for route in &routes {
        let v1 = route.starts_with("/v1");
        let wrongs = [
            ("{not json".to_owned(), 400, "VALIDATION_ERROR"),
            (body(route, "").to_string(), if v1 { 400 } else { 422 }, "VALIDATION_ERROR"),
            // made0 is a user (v1, a good token), made6 a group (v1, a good token).
            (body(route, if route.contains("users") { "made0" } else { "made6" }).to_string(), 409, "NAME_TAKEN"),
        ];
        for (wrong, status, code) in wrongs {
            for (token, expected) in tokens {
                let r = app.send(create(route, token, wrong.clone())).await;
                if expected == StatusCode::OK {
                    crate::helpers::assert_surface_error(&r, route, status, code);
                } else {
                    crate::helpers::assert_surface_error(&r, route, 401, "UNAUTHENTICATED");
                }
            }
        }
    }
}

/// `/v1/auth/token` takes a key's id and secret and the account in
/// `X-Account-ID`; a key of another account reads like a wrong secret.
async fn v1_auth_token_exchanges_a_key_for_a_token(app: TestApp) {
    let (id, secret) = app.api_key(None).await;
    let other = app.new_tenant("other");
    let post = |account: Option<&str>, body: Value| {
        let mut request = app.client.post(app.url("/v1/auth/token")).json(&body);
        if let Some(account) = account {
            request = request.header("X-Account-ID", account);
        }
        app.send(request)
    };
    let r = post(Some(&app.tenant.account_id), json!({"id": id, "secret": secret})).await;
    let token = access_token(&r);
    assert_eq!(r.body["user_id"], app.tenant.admin_id.as_str());
    assert!(r.body["expires_at"].is_string());
    let v1 = app.send(app.client.get(app.url("/v1/groups")).bearer_auth(&token).header("X-Account-ID", &app.tenant.account_id)).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);

    let wrong = post(Some(&app.tenant.account_id), json!({"id": id, "secret": "nope"})).await;
    assert_v1_error(&wrong, 401, "UNAUTHENTICATED");
    let elsewhere = post(Some(&other.account_id), json!({"id": id, "secret": secret})).await;
    assert_v1_error(&elsewhere, 401, "UNAUTHENTICATED");
    assert_eq!(wrong.body["developer_message"], elsewhere.body["developer_message"]);
    assert_v1_error(&post(None, json!({"id": id, "secret": secret})).await, 403, "ACCOUNT_MISMATCH");
    assert_v1_error(&post(Some(&app.tenant.account_id), json!({"id": id})).await, 400, "VALIDATION_ERROR");
}

/// Anyone makes keys for themself; only administrators for others. Lists
/// never show a secret; the database holds only its hash.
async fn api_keys_are_self_service_and_their_secrets_are_shown_once(app: TestApp) {
    let plain = app.create_user("plain@example.com", Some("plain")).await;
    let token = app.token_for(&app.tenant, &plain);
    let (admin_key, admin_secret) = app.api_key(None).await;

    let mine = app
        .call_as(&app.tenant, &token, Method::POST, "/v1/api-keys", Some(json!({"name": "mine", "expires_at": "2999-01-01T00:00:00Z"})))
        .await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text);
    assert_eq!(mine.body["user_id"], plain.as_str());
    let secret = mine.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 64, "long and random: {secret}");
    let r = app.call_as(&app.tenant, &token, Method::POST, "/v1/api-keys", Some(json!({"user_id": app.tenant.admin_id}))).await;
    assert_v1_error(&r, 403, "FORBIDDEN");
    let r = app.call_as(&app.tenant, &token, Method::POST, "/v1/api-keys", Some(json!({"expires_at": "2001-01-01T00:00:00Z"}))).await;
    assert_v1_error(&r, 400, "VALIDATION_ERROR");

    let listed = app.call_as(&app.tenant, &token, Method::GET, "/v1/api-keys", None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "only one's own: {}", listed.text);
    let all = app.call(Method::GET, "/v1/api-keys", None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2, "an administrator sees all: {}", all.text);
    for text in [&listed.text, &all.text] {
        assert!(!text.contains(&secret) && !text.contains(&admin_secret) && !text.contains("secret"), "{text}");
    }
    let r = app.call_as(&app.tenant, &token, Method::DELETE, &format!("/v1/api-keys/{admin_key}"), None).await;
    assert_v1_error(&r, 404, "API_KEY_NOT_FOUND");

    let stored: Vec<String> = {
        use diesel::prelude::*;
        use rollcall::db::schema::api_keys;
        let mut conn = app.pool.get().unwrap();
        rollcall::with_conn!(&mut conn, |c| api_keys::table.select(api_keys::secret_hash).load::<String>(c)).unwrap()
    };
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|h| h.len() == 64 && !secret.contains(h.as_str()) && !h.contains(&secret[40..])), "{stored:?}");

    // last_used_at moves when the secret is exchanged.
    let key_id = mine.body["id"].as_str().unwrap();
    access_token(&app.token_grant("", &[("grant_type", "client_credentials"), ("client_id", key_id), ("client_secret", &secret)]).await);
    let listed = app.call_as(&app.tenant, &token, Method::GET, "/v1/api-keys", None).await;
    assert!(listed.body["items"][0]["last_used_at"].is_string(), "{}", listed.text);
}

/// Changing one's own password needs the existing one; an administrator sets
/// another's without it. The old password stops working, and so do the
/// user's other password sign-ins.
async fn passwords_change_with_the_existing_one_or_by_an_administrator(app: TestApp) {
    let user = app.user_with_password("robert", "robert's first password").await;
    let session = access_token(&app.password_grant("", "robert", "robert's first password").await);
    let other_session = access_token(&app.password_grant("", "robert", "robert's first password").await);
    let change = |token: &str, body: Value| {
        app.send(app.client.post(app.url(&format!("{M}/users/{user}/credentials/password"))).bearer_auth(token.to_owned()).json(&body))
    };
    let r = change(&session, json!({"new": "robert's second password"})).await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
    let r = change(&session, json!({"new": "robert's second password", "existing": "a wrong password"})).await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
    let r = change(&session, json!({"new": "short", "existing": "robert's first password"})).await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
    let r = change(&session, json!({"new": "robert's second password", "existing": "robert's first password"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        app.send(app.client.get(app.url(&format!("{M}/users/{user}"))).bearer_auth(&session)).await.status,
        StatusCode::OK,
        "the caller's own sign-in stays"
    );
    assert_eq!(
        app.send(app.client.get(app.url(&format!("{M}/users/{user}"))).bearer_auth(&other_session)).await.status,
        StatusCode::UNAUTHORIZED,
        "the other ends"
    );
    assert_oauth_error(&app.password_grant("", "robert", "robert's first password").await, 400, "invalid_grant");
    access_token(&app.password_grant("", "robert", "robert's second password").await);

    let r =
        app.call(Method::POST, &format!("{M}/users/{user}/credentials/password"), Some(json!({"new": "set by the administrator"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    access_token(&app.password_grant("", "robert", "set by the administrator").await);
    let r = app
        .call(
            Method::PUT,
            &format!("{M}/users/{user}"),
            Some(json!({"email": "robert@example.com", "credentials": {"password": "sneaky password"}})),
        )
        .await;
    assert_management_error(&r, 422, "VALIDATION_ERROR");
}

/// A stolen token is no way around the lockout: guessing the `existing`
/// password of a password change counts like a failed sign-in.
async fn guessing_the_existing_password_meets_the_same_lockout(app: TestApp) {
    let user = app.user_with_password("guessed", "the real password").await;
    let token = access_token(&app.password_grant("", "guessed", "the real password").await);
    let change = |existing: &str| {
        let body = json!({"new": "a new password", "existing": existing});
        app.send(app.client.post(app.url(&format!("{M}/users/{user}/credentials/password"))).bearer_auth(&token).json(&body))
    };
    for guess in 0..5 {
        assert_management_error(&change(&format!("guess number {guess}")).await, 422, "VALIDATION_ERROR");
    }
    let r = change("the real password").await;
    assert_management_error(&r, 401, "UNAUTHENTICATED");
    assert_oauth_error(&app.password_grant("", "guessed", "the real password").await, 400, "invalid_grant");
    let read = app.call(Method::GET, &format!("{M}/users/{user}"), None).await;
    assert_eq!(read.body["status"]["locked"], true, "{}", read.text);
    let r = app.call(Method::POST, &format!("{M}/users/{user}/actions"), Some(json!({"type": "unlock"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    access_token(&app.password_grant("", "guessed", "the real password").await);
}

/// Suspending the last active administrator would leave nobody to administer.
async fn the_last_administrator_cannot_be_suspended(app: TestApp) {
    let r = app.call(Method::POST, &format!("{M}/users/{}/actions", app.tenant.admin_id), Some(json!({"type": "suspend"}))).await;
    assert_management_error(&r, 409, "LAST_ADMINISTRATOR");
    let r = app.call(Method::GET, &format!("{M}/users/{}", app.tenant.admin_id), None).await;
    assert_eq!(r.status, StatusCode::OK, "still signed in: {}", r.text);
}

backend_tests!(
    client_credentials_sign_in_at_the_root_and_under_the_accounts_path,
    every_token_endpoint_failure_is_an_rfc_6749_error,
    password_sign_in_refreshes_and_a_reused_refresh_token_ends_the_sign_in,
    five_failed_sign_ins_lock_the_user_until_unlocked,
    revocation_bites_on_the_next_request_on_every_instance,
    v1_auth_token_exchanges_a_key_for_a_token,
    api_keys_are_self_service_and_their_secrets_are_shown_once,
    passwords_change_with_the_existing_one_or_by_an_administrator,
    the_last_administrator_cannot_be_suspended,
    guessing_the_existing_password_meets_the_same_lockout,
    concurrent_tokens_are_checked_together_and_each_gets_its_own_verdict,
);
