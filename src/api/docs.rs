//! The OpenAPI document: what the handlers' annotations give, plus what holds
//! for every operation (security schemes, the error answers any route can
//! give, unique operation ids for the twice-mounted management surface).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use super::{management, v1};
use crate::error::{ErrorResponse, ManagementError};

pub const SPEC_PATH: &str = "/api-docs/openapi.json";
pub const SWAGGER_PATH: &str = "/swagger-ui/";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Rollcall",
        description = "Users, groups and group memberships for many accounts. Three wire-compatible surfaces over one engine: the native `/v1` API, and the management API at `/api/security` and at its legacy prefix `/api/management/security`.\n\nAuthorize with a bearer token (`rollcall token` or the token printed at first start); `/v1` calls also need the `X-Account-ID` header with the token's account id.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorResponse, ManagementError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "Users", description = "v1: users of an account"),
        (name = "Groups", description = "v1: groups and their members"),
        (name = "Management: group members", description = "Management API: putting users into groups"),
        (name = "Management (legacy paths)", description = "The management API under its older prefix `/api/management/security`; same behaviour"),
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
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Bearer token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "accountId",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::auth::ACCOUNT_HEADER,
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
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Completes the document that the routes produced.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let (schema, id_prefix) = if path.starts_with(v1::PREFIX) {
            ("ErrorResponse", "v1_")
        } else if path.starts_with(management::LEGACY_PREFIX) {
            ("Error", "legacy_")
        } else {
            ("Error", "")
        };
        let legacy = path.starts_with(management::LEGACY_PREFIX);
        for op in operations_mut(item) {
            if let Some(id) = &op.operation_id {
                op.operation_id = Some(format!("{id_prefix}{id}"));
            }
            if legacy {
                op.tags = Some(vec!["Management (legacy paths)".to_owned()]);
            }
            add_common_errors(op, schema);
        }
    }
    doc
}

/// The answers any authenticated route can give besides its own.
fn add_common_errors(op: &mut Operation, schema: &str) {
    let mut common = vec![
        ("400", "Bad request - validation error"),
        ("401", "Unauthorized - missing, malformed, expired or badly signed token"),
        ("403", "Forbidden - insufficient permissions"),
        ("500", "Internal server error"),
        ("503", "Service unavailable - the database cannot be reached; retry later"),
    ];
    if op.request_body.is_some() {
        common.push(("413", "Payload too large"));
        common.push(("415", "Unsupported media type - send application/json"));
    }
    for (status, description) in common {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", Content::new(Some(Ref::from_schema_name(schema))))
                    .build(),
            )
        });
    }
}
