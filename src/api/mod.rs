//! The HTTP surfaces: thin handlers that extract, parse, make one call into
//! the engine, and answer.

pub mod docs;
pub mod edge;
pub mod fallback;
pub mod management;
pub mod openapi30;
pub mod v1;

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Permission, UserIdList};
use crate::error::ApiError;

/// Array of user IDs to add to the group (max 100 per request)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    min_items = 1,
    max_items = 100,
    example = json!(["7c9e6679-7425-40de-944b-e07fc1f90ae7", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"])
)]
pub struct UserIds(#[serde(deserialize_with = "hyphenated_uuids")] Vec<Uuid>);

/// `format: uuid` means the hyphenated spelling; serde's `Uuid` would also
/// take braced, URN and unhyphenated forms.
pub(crate) fn hyphenated_uuids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Uuid>, D::Error> {
    let raw = Vec::<String>::deserialize(deserializer)?;
    raw.iter()
        .map(|s| crate::domain::parse_uuid(s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a hyphenated UUID"))))
        .collect()
}

impl UserIds {
    pub fn parse(self) -> Result<UserIdList, ApiError> {
        UserIdList::parse(self.0)
    }
}

/// Stored permission names as permissions (unknown names are skipped).
pub fn permission_names(stored: &[String]) -> Vec<Permission> {
    stored.iter().filter_map(|s| s.parse().ok()).collect()
}
