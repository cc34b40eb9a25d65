//! The contract: the committed spec is what the code generates, it says what
//! the documents say, and the server serves it with Swagger UI.

use reqwest::StatusCode;
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::TestApp;

fn read_committed(name: &str) -> Value {
    let path = format!("{}/openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("committed spec is JSON")
}

fn committed() -> Value {
    read_committed("openapi.json")
}

fn generated() -> Value {
    rollcall::startup::openapi()
}

#[test]
fn the_committed_spec_is_what_the_code_generates() {
    assert!(committed() == generated(), "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it");
    assert!(
        read_committed("openapi-3.0.json") == rollcall::startup::openapi_30(),
        "openapi/openapi-3.0.json is stale: run `cargo run -- openapi --openapi-version 3.0 > openapi/openapi-3.0.json`"
    );
}

#[test]
fn the_30_rendition_has_the_same_operations_and_schemas() {
    let (v31, v30) = (generated(), rollcall::startup::openapi_30());
    assert_eq!(v30["openapi"], "3.0.3");
    let keys = |doc: &Value, pointer: &str| -> Vec<String> { doc.pointer(pointer).unwrap().as_object().unwrap().keys().cloned().collect() };
    // All but the SCIM surface (application/scim+json, which 3.0-only generators refuse).
    let not_scim: Vec<String> = keys(&v31, "/paths").into_iter().filter(|p| !p.starts_with("/scim/")).collect();
    assert_eq!(not_scim, keys(&v30, "/paths"));
    assert!(keys(&v31, "/paths").iter().any(|p| p.starts_with("/scim/v2/")), "the 3.1 spec has the SCIM surface");
    assert_eq!(keys(&v31, "/components/schemas"), keys(&v30, "/components/schemas"));
    let text = v30.to_string();
    assert!(!text.contains("\"null\""), "no JSON Schema null types in 3.0");
    assert_eq!(v30["components"]["schemas"]["CreateUserRequest"]["properties"]["username"]["nullable"], true);
}

fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).expect("reference resolves"),
        None => node,
    }
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    doc["paths"][path].get(method).unwrap_or_else(|| panic!("{method} {path} is missing from the spec"))
}

fn statuses(op: &Value) -> Vec<&str> {
    op["responses"].as_object().unwrap().keys().map(String::as_str).collect()
}

fn assert_bulk_body(doc: &Value, op: &Value) {
    let body = &op["requestBody"];
    assert_eq!(body["required"], true);
    let schema = resolve(doc, &body["content"]["application/json"]["schema"]);
    assert_eq!(schema["type"], "array");
    assert_eq!(schema["minItems"], 1);
    assert_eq!(schema["maxItems"], 100);
    assert_eq!(schema["items"]["type"], "string");
    assert_eq!(schema["items"]["format"], "uuid");
}

fn param_names(op: &Value) -> Vec<&str> {
    op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect()
}

fn assert_errors_use(doc: &Value, op: &Value, schema: &str, codes: &[&str]) {
    for code in codes {
        let response = resolve(doc, &op["responses"][*code]);
        let reference = response["content"]["application/json"]["schema"]["$ref"].as_str();
        assert_eq!(reference, Some(format!("#/components/schemas/{schema}").as_str()), "{code} uses {schema}");
    }
}

#[test]
fn the_spec_says_what_the_documents_say() {
    let doc = generated();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for prefix in ["/api/security", "/api/management/security"] {
        let single = operation(&doc, "put", &format!("{prefix}/groups/{{groupIdentifier}}/users/{{userIdentifier}}"));
        assert_eq!(param_names(single), vec!["groupIdentifier", "userIdentifier"]);
        for code in ["204", "401", "403", "404", "500"] {
            assert!(statuses(single).contains(&code), "single add declares {code}");
        }
        assert_errors_use(&doc, single, "Error", &["400", "401", "403", "404", "500"]);
        let bulk = operation(&doc, "post", &format!("{prefix}/groups/{{groupIdentifier}}/users/"));
        assert_bulk_body(&doc, bulk);
        for code in ["204", "400", "401", "403", "404", "413", "415", "500"] {
            assert!(statuses(bulk).contains(&code), "bulk add declares {code}");
        }
        assert_errors_use(&doc, bulk, "Error", &["400", "401", "403", "404", "500"]);
        assert_eq!(single["security"][0].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["bearerAuth"]);
    }
    let v1 = operation(&doc, "put", "/v1/groups/{groupId}/users");
    assert_bulk_body(&doc, v1);
    assert_eq!(param_names(v1), vec!["groupId"]);
    assert_eq!(v1["parameters"][0]["schema"]["format"], "uuid");
    for code in ["201", "400", "403", "404", "500"] {
        assert!(statuses(v1).contains(&code), "v1 bulk declares {code}");
    }
    assert_eq!(v1["responses"]["201"]["description"], "Users added to the group");
    assert!(v1["responses"]["201"].get("content").is_none(), "201 has no body");
    assert_errors_use(&doc, v1, "ErrorResponse", &["400", "401", "403", "404", "500"]);
    let security = v1["security"][0].as_object().unwrap();
    assert!(security.contains_key("bearerAuth") && security.contains_key("accountId"));

    let error_response = &doc["components"]["schemas"]["ErrorResponse"];
    assert_eq!(error_response["properties"]["status"]["type"], "number");
    for field in ["message", "error_id", "error_code", "developer_message"] {
        assert_eq!(error_response["properties"][field]["type"], "string", "ErrorResponse.{field}");
    }
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["properties"]["logId"]["format"], "uuid");
    for field in ["message", "type"] {
        assert_eq!(error["properties"][field]["type"], "string", "Error.{field}");
    }
    assert_eq!(error["properties"]["data"]["type"], "object");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(schemes["accountId"]["type"], "apiKey");
    assert_eq!(schemes["accountId"]["in"], "header");
    assert_eq!(schemes["accountId"]["name"], "X-Account-ID");

    let mut ids: Vec<&str> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if method == "servers" {
                continue;
            }
            ids.push(op["operationId"].as_str().expect("every operation has an id"));
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
}

async fn the_server_serves_the_committed_spec_and_swagger_ui(app: TestApp) {
    let r = app.send(app.client.get(app.url("/api-docs/openapi.json"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body == committed(), "served spec equals openapi/openapi.json");

    let r = app.send(app.client.get(app.url("/api-docs/openapi-3.0.json"))).await;
    assert!(r.body == read_committed("openapi-3.0.json"), "served 3.0.3 rendition equals openapi/openapi-3.0.json");

    let r = app.send(app.client.get(app.url("/swagger-ui/"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("swagger-ui"), "{}", r.text);
    let r = app.send(app.client.get(app.url("/swagger-ui/swagger-initializer.js"))).await;
    assert!(r.text.contains("/api-docs/openapi.json"), "{}", r.text);

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects.get(app.url("/swagger-ui")).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/swagger-ui/");
}

backend_tests!(the_server_serves_the_committed_spec_and_swagger_ui);
