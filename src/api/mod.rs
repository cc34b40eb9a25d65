//! The HTTP surfaces: adapters over the service. Each surface is one module
//! that mounts its own scope (with its [`Surface`] as app data: error body,
//! request rules); handlers extract, parse, make one service call, and
//! render. Adding a surface means adding a module here and registering its
//! scope in `startup`.

pub mod accounts;
pub mod docs;
pub mod edge;
pub mod error;
pub mod fallback;
pub mod management;
pub mod observe;
pub mod openapi30;
pub mod principal;
pub mod scim;
pub mod sign_in;
pub mod v1;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

pub use error::Surface;
pub use principal::{Caller, CheckLater};

use crate::domain::{GroupIdList, IdList, Permission, UserIdList};
use crate::error::Error;

/// Array of user IDs to add to the group (max 100 per request)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    min_items = 1,
    max_items = 100,
    example = json!(["7c9e6679-7425-40de-944b-e07fc1f90ae7", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"])
)]
pub struct UserIds(#[serde(deserialize_with = "hyphenated_uuids")] Vec<Uuid>);

impl UserIds {
    pub fn parse(self) -> Result<UserIdList, Error> {
        IdList::parse("user", self.0.into_iter().map(Into::into).collect())
    }
}

/// Array of group IDs (1 to 100)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(min_items = 1, max_items = 100, example = json!(["6254736c-70e1-43b0-b769-f8e0f6359862"]))]
pub struct GroupIds(#[serde(deserialize_with = "hyphenated_uuids")] Vec<Uuid>);

impl GroupIds {
    pub fn parse(self) -> Result<GroupIdList, Error> {
        IdList::parse("group", self.0.into_iter().map(Into::into).collect())
    }
}

/// `format: uuid` means the hyphenated spelling; serde's `Uuid` would also
/// take braced, URN and unhyphenated forms.
fn hyphenated_uuids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Uuid>, D::Error> {
    let raw = Vec::<String>::deserialize(deserializer)?;
    raw.iter()
        .map(|s| crate::domain::parse_uuid(s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a hyphenated UUID"))))
        .collect()
}

/// Timestamps as every surface renders them: RFC 3339, milliseconds, `Z`.
pub fn timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl utoipa::PartialSchema for Permission {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A permission that can be granted to a group."))
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .into()
    }
}

impl ToSchema for Permission {}
