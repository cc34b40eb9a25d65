//! Answers outside the handlers: unknown routes, wrong methods, Swagger UI's
//! redirect — each in its surface's error body.

use reqwest::{Method, StatusCode};

use crate::backend_tests;
use crate::helpers::{assert_management_error, assert_v1_error, TestApp};

async fn unknown_routes_are_404_in_the_surfaces_error_body(app: TestApp) {
    let r = app.send(app.request(Method::GET, "/v1/nothing/here")).await;
    assert_v1_error(&r, 404, "NOT_FOUND");
    for path in ["/api/security/nothing", "/api/management/security/widgets", "/nothing"] {
        let r = app.send(app.request(Method::GET, path)).await;
        assert_management_error(&r, 404, "NOT_FOUND");
    }
}

async fn wrong_methods_are_405_with_allow(app: TestApp) {
    let cases = [
        (Method::POST, "/v1/groups/6254736c-70e1-43b0-b769-f8e0f6359862/users", "DELETE, GET, PUT"),
        (Method::PATCH, "/v1/users", "GET, POST"),
        (Method::PUT, "/v1/users/6254736c-70e1-43b0-b769-f8e0f6359862", "DELETE, GET, PATCH"),
        (Method::GET, "/api/security/groups/g/users/u", "DELETE, HEAD, PUT"),
        (Method::POST, "/api/management/security/groups/g/users/u", "DELETE, HEAD, PUT"),
        (Method::PUT, "/api/security/groups/g/users/", "POST"),
        (Method::PATCH, "/api/security/groups/g/users", "GET, POST"),
        (Method::GET, "/api/security/users/u/groups/a,b", "HEAD"),
        (Method::PATCH, "/api/security/groups/g/groups", "GET, POST"),
    ];
    for (method, path, allow) in cases {
        let r = app.send(app.request(method.clone(), path)).await;
        if path.starts_with("/v1/") {
            assert_v1_error(&r, 405, "METHOD_NOT_ALLOWED");
        } else {
            assert_management_error(&r, 405, "METHOD_NOT_ALLOWED");
        }
        let mut got: Vec<&str> = r.headers["allow"].to_str().unwrap().split(", ").collect();
        got.sort();
        assert_eq!(got.join(", "), allow, "{method} {path}");
    }
}

async fn health_and_readiness_answer(app: TestApp) {
    for path in ["/healthz", "/readyz"] {
        let r = app.send(app.client.get(app.url(path))).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
}

backend_tests!(unknown_routes_are_404_in_the_surfaces_error_body, wrong_methods_are_405_with_allow, health_and_readiness_answer,);
