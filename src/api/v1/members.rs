//! `/v1/groups/{groupId}/users`: the bulk add and the member listing.

use actix_web::{delete, get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_id;
use super::users::UserResponse;
use crate::api::error::ErrorResponse;
use crate::api::Caller;
use crate::api::{JsonItems, UserIds};
use crate::domain::{GroupIdentifier, UserId};
use crate::error::Error;
use crate::service::Service;

/// Add Users to Group
///
/// Add multiple users to a group in a single request. This operation is
/// idempotent - duplicate memberships are silently ignored.
///
/// **Behavior:**
/// - Maximum 100 users per request
/// - Duplicate user IDs in the request are handled gracefully
/// - Users already in the group are silently ignored
/// - All user IDs must belong to the same account as the group
/// - All user IDs must exist (validated before any changes)
/// - If any user validation fails, the entire operation is rejected (no partial updates)
///
/// **Permissions:** Requires `group_update` permission, and you must already hold everything a member of the group holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403)
#[utoipa::path(
    tag = "Groups",
    params(("groupId" = Uuid, Path, description = "Group ID", example = "6254736c-70e1-43b0-b769-f8e0f6359862")),
    request_body(content = UserIds, description = "Array of user IDs to add to the group (max 100 per request)"),
    responses(
        (status = 201, description = "Users added to the group"),
        (status = 400, description = "Bad request - validation error (`VALIDATION_ERROR`), or unknown users (`UNKNOWN_USERS`, ids in `developer_message`)", body = ErrorResponse),
        (status = 404, description = "Resource not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[put("/groups/{groupId}/users")]
pub async fn add_users_to_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "groupId")?);
    let user_ids = body.into_inner().parse()?;
    service.add_users_to_group(&caller, group, user_ids).await?;
    Ok(HttpResponse::Created().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMembersQuery {
    /// Page size, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page
    #[param(format = "uuid")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<UserResponse>,
    /// Number of members of the group
    pub total: i64,
    /// Pass as `cursor` to get the next page; absent on the last page
    #[schema(format = "uuid")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A [`MemberList`] as written, but its items (written as their rows
/// arrived, [`JsonItems`]).
#[derive(Serialize)]
struct MemberListRest {
    total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// List Group Members
///
/// Lists the members of a group in id order, a page at a time (keyset paging:
/// each page costs the same, however deep). A page holds fewer than `limit`
/// members when some were deleted; only the last page has no `next_cursor`.
///
/// **Permissions:** Requires `group_read` permission
#[utoipa::path(
    tag = "Groups",
    params(("groupId" = Uuid, Path, description = "Group ID", example = "6254736c-70e1-43b0-b769-f8e0f6359862"), ListMembersQuery),
    responses(
        (status = 200, description = "Members of the group", body = MemberList),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "Resource not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/groups/{groupId}/users")]
pub async fn list_group_members(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListMembersQuery>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "groupId")?);
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::validation("limit must be between 1 and 1000"));
    }
    let cursor: Option<UserId> = query.cursor.as_deref().map(|c| parse_id(c, "cursor")).transpose()?;
    let json = JsonItems::default();
    let items = json.clone();
    let page = service.list_members(&caller, group, cursor, limit, move |u| items.push(&UserResponse::from(u))).await?;
    let rest = MemberListRest { total: page.total, next_cursor: page.next_cursor.map(|c| c.to_string()) };
    json.body(page.items, true, &rest)
}

/// Remove Users from Group
///
/// Removes 1 to 100 users from a group in one transaction. Ids that are not
/// members are ignored. The last member of `System Administrators` cannot be
/// removed (409 `LAST_ADMINISTRATOR`).
///
/// **Permissions:** Requires `group_update` permission (System Administrators: administrators only)
#[utoipa::path(
    tag = "Groups",
    params(("groupId" = Uuid, Path, description = "Group ID", example = "6254736c-70e1-43b0-b769-f8e0f6359862")),
    request_body(content = UserIds, description = "Array of user IDs to remove from the group (max 100 per request)"),
    responses(
        (status = 204, description = "The users are no longer members of the group"),
        (status = 400, description = "Bad request - validation error (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "Resource not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
        (status = 409, description = "The group would lose its last administrator (`LAST_ADMINISTRATOR`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[delete("/groups/{groupId}/users")]
pub async fn remove_users_from_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "groupId")?);
    let user_ids = body.into_inner().parse()?;
    service.remove_users_from_group(&caller, group, user_ids).await?;
    Ok(HttpResponse::NoContent().finish())
}
