//! The OpenAPI document: what the handlers' annotations give, plus what holds
//! for every operation (security schemes, the error answers any route can
//! give, unique operation ids for the twice-mounted management surface).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use serde_json::{json, Value};

use super::accounts::{BASE_PATH_TEMPLATE, SERVED_UNDER_ACCOUNT};
use super::error::{ErrorResponse, ManagementError, ScimError, Surface};
use super::sign_in::{OAuthError, SCOPES, TOKEN_PATH};
use crate::domain::profile;
use crate::domain::{DESCRIPTION_PATTERN, EMAIL_PATTERN, NAME_PATTERN, PERSON_NAME_PATTERN, TEXT_PATTERN, USERNAME_PATTERN};

pub const SPEC_PATH: &str = "/api-docs/openapi.json";
pub const SPEC_30_PATH: &str = "/api-docs/openapi-3.0.json";
pub const SWAGGER_PATH: &str = "/swagger-ui/";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Rollcall",
        description = "Users, groups and group memberships for many accounts. Three wire-compatible surfaces over one engine: the native `/v1` API, and the management API at `/api/security` and at its legacy prefix `/api/management/security`.\n\nSign in with **Authorize**: `oauth2` with an API key (client credentials: the key id and secret, as printed at first start or made with `POST /v1/api-keys`) or a username and password; or paste a bearer token into `bearerAuth` (`rollcall token`, or the token printed at first start). `/v1` calls also need the `X-Account-ID` header with the token's account id.\n\nThe management paths and the token endpoint are also served under `/accounts/{accountId}` (their second server): there a credential or token of another account is refused.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorResponse, ManagementError, OAuthError, ScimError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "Sign-in", description = "Tokens for API keys and passwords (OAuth2), and the API keys themselves"),
        (name = "Users", description = "v1: users of an account"),
        (name = "Groups", description = "v1: groups and their members"),
        (name = "Events", description = "v1: the change feed (every change, exactly once, in commit order) and webhooks that deliver it"),
        (name = "Management: group members", description = "Management API: putting users into groups, taking them out, listing them"),
        (name = "Management: groups", description = "Management API: groups, and the permissions granted to them"),
        (name = "Management: child groups", description = "Management API: nested groups. Members of a child group are inherited members of every group above it, and hold those groups' permissions"),
        (name = "Management: users", description = "Management API: users, and the groups they belong to"),
        (name = "Management (legacy paths)", description = "The management API under its older prefix `/api/management/security`; same behaviour"),
        (name = "SCIM 2.0", description = "RFC 7643/7644 provisioning for identity providers (Entra ID, Okta): the account comes from the credential, and an API key made with purpose `scim` is accepted as it is as the bearer token"),
    )
)]
struct BaseDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some("Bearer token")).build(),
            ),
        );
        components.add_security_scheme(
            "accountId",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                super::principal::ACCOUNT_HEADER,
                "Account ID (must equal the token's account)",
            ))),
        );
    }
}

pub fn base() -> OpenApi {
    let mut doc = BaseDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options, &mut item.trace]
        .into_iter()
        .filter_map(Option::as_mut)
}

/// The name rules of `crate::domain`, as schema patterns (utoipa's
/// attribute takes literals only; this keeps one copy of each).
const PATTERNS: [(&str, &str, &str); 32] = [
    ("UserBody", "timezone", profile::TIMEZONE_PATTERN),
    ("UserBody", "language", profile::LANGUAGE_PATTERN),
    ("UserBody", "avatarUrl", profile::AVATAR_URL_PATTERN),
    ("UserMergePatch", "timezone", profile::TIMEZONE_PATTERN),
    ("UserMergePatch", "language", profile::LANGUAGE_PATTERN),
    ("UserMergePatch", "avatarUrl", profile::AVATAR_URL_PATTERN),
    ("UserMergePatch", "email", EMAIL_PATTERN),
    ("UserMergePatch", "username", USERNAME_PATTERN),
    ("UserMergePatch", "firstName", PERSON_NAME_PATTERN),
    ("UserMergePatch", "lastName", PERSON_NAME_PATTERN),
    ("GroupMergePatch", "name", NAME_PATTERN),
    ("GroupMergePatch", "description", DESCRIPTION_PATTERN),
    ("UserBody", "email", EMAIL_PATTERN),
    ("UserCredentials", "password", crate::credentials::PASSWORD_PATTERN),
    ("PasswordChange", "new", crate::credentials::PASSWORD_PATTERN),
    ("CreateGroupRequest", "name", NAME_PATTERN),
    ("UpdateGroupRequest", "name", NAME_PATTERN),
    ("GroupBody", "name", NAME_PATTERN),
    ("CreateGroupRequest", "description", DESCRIPTION_PATTERN),
    ("UpdateGroupRequest", "description", DESCRIPTION_PATTERN),
    ("GroupBody", "description", DESCRIPTION_PATTERN),
    ("CreateUserRequest", "email", EMAIL_PATTERN),
    ("UpdateUserRequest", "email", EMAIL_PATTERN),
    ("CreateUserRequest", "username", USERNAME_PATTERN),
    ("CreateUserRequest", "first_name", PERSON_NAME_PATTERN),
    ("CreateUserRequest", "last_name", PERSON_NAME_PATTERN),
    ("UpdateUserRequest", "username", USERNAME_PATTERN),
    ("UpdateUserRequest", "first_name", PERSON_NAME_PATTERN),
    ("UpdateUserRequest", "last_name", PERSON_NAME_PATTERN),
    ("UserBody", "username", USERNAME_PATTERN),
    ("UserBody", "firstName", PERSON_NAME_PATTERN),
    ("UserBody", "lastName", PERSON_NAME_PATTERN),
];

/// Links that let a client (or schemathesis' stateful phase) feed what one
/// call creates into the next.
fn links() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "v1_create_group",
            "201",
            "ListMembers",
            json!({"operationId": "v1_list_group_members", "parameters": {"groupId": "$response.body#/id"}}),
        ),
        (
            "v1_create_group",
            "201",
            "AddUsers",
            json!({"operationId": "v1_add_users_to_group", "parameters": {"groupId": "$response.body#/id"}}),
        ),
        (
            "v1_create_group",
            "201",
            "AddUserToGroup",
            json!({"operationId": "add_user_to_group", "parameters": {"groupIdentifier": "$response.body#/id"}}),
        ),
        (
            "v1_create_group",
            "201",
            "AddUsersToGroup",
            json!({"operationId": "add_users_to_group", "parameters": {"groupIdentifier": "$response.body#/id"}}),
        ),
        ("v1_create_user", "201", "AddToGroupV1", json!({"operationId": "v1_add_users_to_group", "requestBody": ["$response.body#/id"]})),
        (
            "v1_create_user",
            "201",
            "AddToGroup",
            json!({"operationId": "add_user_to_group", "parameters": {"userIdentifier": "$response.body#/id"}}),
        ),
        ("v1_create_user", "201", "AddManyToGroup", json!({"operationId": "add_users_to_group", "requestBody": ["$response.body#/id"]})),
    ]
}

/// The `oauth2` scheme: Swagger UI's Authorize dialog signs in at the token
/// endpoint with an API key (client credentials) or a username and password.
fn oauth2_scheme() -> Value {
    let scopes: serde_json::Map<String, Value> = SCOPES.iter().map(|(name, what)| ((*name).to_owned(), json!(what))).collect();
    json!({
        "type": "oauth2",
        "description": "Sign in at the token endpoint: client credentials are an API key's id and secret; the password flow takes a username and password (at the root, of the account created first). Scopes are the vendor's names and do not narrow what the token may do; `offline_access` asks for a refresh token.",
        "flows": {
            "clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": scopes},
            "password": {"tokenUrl": TOKEN_PATH, "scopes": scopes},
        }
    })
}

/// The servers of the paths also served under `/accounts/{accountId}`.
fn account_servers() -> Value {
    json!([
        {"url": "/", "description": "This server"},
        {
            "url": BASE_PATH_TEMPLATE,
            "description": "One account's base path: credentials and tokens of other accounts are refused",
            "variables": {"accountId": {"default": "00000000-0000-0000-0000-000000000000", "description": "The account id"}}
        }
    ])
}

/// Every operation that takes a bearer token also takes one from the
/// `oauth2` scheme (the same token, got through Swagger UI's dialog); the
/// paths served under the account base path say so.
fn sign_in_docs(value: &mut Value) {
    value["components"]["securitySchemes"]["oauth2"] = oauth2_scheme();
    for (path, item) in value["paths"].as_object_mut().expect("paths") {
        let under_account = SERVED_UNDER_ACCOUNT.iter().any(|p| path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
        for op in item.as_object_mut().unwrap().values_mut() {
            let Some(security) = op.get_mut("security").and_then(Value::as_array_mut) else { continue };
            let alternatives: Vec<Value> = security
                .iter()
                .filter_map(|req| {
                    let mut req = req.as_object()?.clone();
                    let bearer = req.remove("bearerAuth")?;
                    req.insert("oauth2".into(), bearer);
                    Some(Value::Object(req))
                })
                .collect();
            security.extend(alternatives);
        }
        if under_account {
            item["servers"] = account_servers();
        }
        // A merge patch is JSON: `application/json` is accepted beside
        // `application/merge-patch+json`, and generators that know only
        // JSON can call the operation with it.
        for op in item.as_object_mut().unwrap().values_mut() {
            if let Some(content) = op.pointer_mut("/requestBody/content").and_then(Value::as_object_mut) {
                if let Some(patch) = content.get("application/merge-patch+json").cloned() {
                    content.entry("application/json").or_insert(patch);
                }
            }
        }
    }
}

/// Applies [`PATTERNS`] and [`links`], which utoipa's attributes cannot say.
fn patch_json(doc: OpenApi) -> Value {
    let mut value = serde_json::to_value(&doc).expect("the spec serializes");
    sign_in_docs(&mut value);
    for (schema, property, pattern) in PATTERNS {
        let pointer = format!("/components/schemas/{schema}/properties/{property}");
        let target = value.pointer_mut(&pointer).unwrap_or_else(|| panic!("{pointer} exists"));
        target["pattern"] = json!(pattern);
    }
    let paths = value["paths"].as_object_mut().expect("paths");
    // Free-text path and query parameters (identifiers, search text) refuse
    // control characters, NUL included.
    for item in paths.values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            for param in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                let schema = &mut param["schema"];
                let is_string = schema["type"] == "string" || schema["type"].as_array().is_some_and(|t| t.contains(&json!("string")));
                let free = ["format", "pattern", "enum"].iter().all(|k| schema.get(k).is_none());
                if is_string && free {
                    schema["pattern"] = json!(TEXT_PATTERN);
                }
            }
        }
    }
    let mut operations: Vec<&mut Value> = paths.values_mut().flat_map(|item| item.as_object_mut().unwrap().values_mut()).collect();
    for (source, status, name, link) in links() {
        let op = operations.iter_mut().find(|op| op["operationId"] == source).unwrap_or_else(|| panic!("{source} exists"));
        op["responses"][status]["links"][name] = link;
    }
    value
}

/// What holds for every operation of one surface (as its [`Surface`]
/// says): operation id prefix, tag, the error answers any route can give in
/// the surface's error schema, and no body on HEAD answers.
pub fn for_surface(surface: &Surface, mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        for op in operations_mut(item) {
            if let Some(id) = &op.operation_id {
                op.operation_id = Some(format!("{}{id}", surface.docs.operation_prefix));
            }
            if let Some(tag) = surface.docs.tag {
                op.tags = Some(vec![tag.to_owned()]);
            }
            add_common_errors(op, surface.docs.error_schema, surface.content_type);
        }
        // A HEAD answer never has a body, errors included.
        if let Some(head) = item.head.as_mut() {
            for response in head.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response.content.clear();
                }
            }
        }
    }
    doc
}

/// Completes the document that the surfaces produced.
pub fn finish(doc: OpenApi) -> Value {
    patch_json(doc)
}

/// The answers any authenticated route can give besides its own.
fn add_common_errors(op: &mut Operation, schema: &str, content_type: &str) {
    let mut common = vec![
        ("400", "Bad request - validation error"),
        ("401", "Unauthorized - missing, malformed, expired or badly signed token"),
        ("403", "Forbidden - insufficient permissions"),
        ("414", "URI too long - the path and query exceed 8 KiB (`URI_TOO_LONG`)"),
        ("431", "Request header fields too large - more than 64 headers, one over 8 KiB, or over 32 KiB in all (`HEADERS_TOO_LARGE`)"),
        ("500", "Internal server error"),
        ("503", "Service unavailable - the database cannot be reached; retry later"),
    ];
    if op.request_body.is_some() {
        common.push(("413", "Payload too large"));
        common.push((
            "415",
            if content_type == "application/json" {
                "Unsupported media type - send application/json"
            } else {
                "Unsupported media type - send application/scim+json or application/json"
            },
        ));
    }
    for (status, description) in common {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(content_type, Content::new(Some(Ref::from_schema_name(schema))))
                    .build(),
            )
        });
    }
}
