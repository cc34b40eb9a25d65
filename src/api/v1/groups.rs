//! `/v1/groups`.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::timestamp;
use crate::auth::Caller;
use crate::db::groups::Group;
use crate::db::Pool;
use crate::domain::{GroupDescription, GroupName, Permission};
use crate::engine;
use crate::error::{ErrorResponse, V1Result};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGroupRequest {
    /// Group name, unique in the account (case-insensitive): a visible
    /// character, no control characters, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "Paper Street Soap Company")]
    pub name: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupResponse {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub account_id: String,
    pub name: String,
    pub description: String,
    /// True for the built-in `System Administrators` group
    pub is_system: bool,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
}

impl From<Group> for GroupResponse {
    fn from(g: Group) -> Self {
        Self {
            id: g.id,
            account_id: g.account_id,
            name: g.name,
            description: g.description,
            is_system: g.is_system,
            created_at: timestamp(g.created_at),
            updated_at: timestamp(g.updated_at),
        }
    }
}

/// Create Group
///
/// Creates a group in the caller's account.
///
/// **Permissions:** Requires `group_create` permission
#[utoipa::path(
    tag = "Groups",
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "Group created", body = GroupResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 409, description = "Name already taken (`NAME_TAKEN`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[post("/groups")]
pub async fn create_group(
    pool: web::Data<Pool>,
    caller: Caller,
    body: web::Json<CreateGroupRequest>,
) -> V1Result<HttpResponse> {
    let body = body.into_inner();
    let name = GroupName::parse(&body.name)?;
    let description = GroupDescription::parse(body.description.as_deref())?;
    let group = pool
        .write(move |conn| {
            caller.require(conn, Permission::GroupCreate)?;
            engine::groups::create_group(conn, &caller.account_id, name, description)
        })
        .await?;
    Ok(HttpResponse::Created().json(GroupResponse::from(group)))
}
