//! `/v1/groups`.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_id;
use crate::api::error::ErrorResponse;
use crate::api::timestamp;
use crate::api::{Caller, CheckLater};
use crate::domain::Permission;
use crate::domain::{GroupDescription, GroupIdentifier, GroupName, GroupSort, Page, Search, Sort};
use crate::engine::groups::{GroupPatch, GroupView};
use crate::error::Error;
use crate::service::Service;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateGroupRequest {
    /// Group name, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference):
    /// no control characters or line separators, no leading or trailing
    /// whitespace, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "Paper Street Soap Company")]
    pub name: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Permissions the group's members (and the members of groups below it)
    /// hold; setting them needs membership of `System Administrators`
    pub permissions: Option<Vec<Permission>>,
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateGroupRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Replaces the group's permissions (administrators only)
    pub permissions: Option<Vec<Permission>>,
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
    /// Permissions granted to the group's members
    pub permissions: Vec<Permission>,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
}

impl From<GroupView> for GroupResponse {
    fn from(v: GroupView) -> Self {
        let g = v.group;
        Self {
            id: g.id.to_string(),
            account_id: g.account_id.to_string(),
            name: g.name,
            description: g.description,
            is_system: g.is_system,
            permissions: v.permissions,
            created_at: timestamp(g.created_at),
            updated_at: timestamp(g.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupResponse>,
    /// Number of groups matching the filter
    pub total: i64,
}

/// Create Group
///
/// Creates a group in the caller's account.
///
/// **Permissions:** Requires `group_create` permission (and administrator rights to set `permissions`)
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
    service: web::Data<Service>,
    caller: CheckLater,
    body: web::Json<CreateGroupRequest>,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let name = GroupName::parse(&body.name)?;
    let description = GroupDescription::parse(body.description.as_deref())?;
    let grants = body.permissions;
    let group = service.create_group_checking(&caller.caller, caller.unchecked, name, description, grants, None).await?;
    Ok(HttpResponse::Created().json(GroupResponse::from(group)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListGroupsQuery {
    /// Page size, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Number of groups to skip
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Only groups whose name contains this text (case-insensitive)
    pub name: Option<String>,
    /// Sort field: `created_at` (default) or `name`; prefix `-` for descending
    #[param(pattern = "^-?(created_at|name)$")]
    pub sort: Option<String>,
}

const GROUP_SORTS: [(&str, GroupSort); 2] = [("created_at", GroupSort::CreatedAt), ("name", GroupSort::Name)];

/// List Groups
///
/// **Permissions:** Requires `group_read` permission
#[utoipa::path(
    tag = "Groups",
    params(ListGroupsQuery),
    responses(
        (status = 200, description = "A page of groups", body = GroupList),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/groups")]
pub async fn list_groups(service: web::Data<Service>, caller: Caller, query: web::Query<ListGroupsQuery>) -> Result<HttpResponse, Error> {
    let q = query.into_inner();
    let page = Page::new(("offset", q.offset), ("limit", q.limit), 100, 1000)?;
    let sort = Sort::parse("sort", q.sort.as_deref(), GroupSort::CreatedAt, &GROUP_SORTS)?;
    let search = Search::parse("name", q.name.as_deref())?;
    let page = service.list_groups(&caller, search, sort, page).await?;
    Ok(HttpResponse::Ok().json(GroupList { items: page.items.into_iter().map(GroupResponse::from).collect(), total: page.total }))
}

/// Get Group
///
/// **Permissions:** Requires `group_read` permission
#[utoipa::path(
    tag = "Groups",
    params(("id" = Uuid, Path, description = "Group ID")),
    responses(
        (status = 200, description = "The group", body = GroupResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/groups/{id}")]
pub async fn get_group(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    let group = service.get_group(&caller, group).await?;
    Ok(HttpResponse::Ok().json(GroupResponse::from(group)))
}

/// Update Group
///
/// Changes the fields present in the body. `System Administrators` keeps its
/// name and permissions (409 `SYSTEM_GROUP`).
///
/// **Permissions:** Requires `group_update` permission (and administrator rights to change `permissions`)
#[utoipa::path(
    tag = "Groups",
    params(("id" = Uuid, Path, description = "Group ID")),
    request_body = UpdateGroupRequest,
    responses(
        (status = 200, description = "The updated group", body = GroupResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
        (status = 409, description = "Name already taken (`NAME_TAKEN`), or a change System Administrators does not allow (`SYSTEM_GROUP`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[patch("/groups/{id}")]
pub async fn update_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateGroupRequest>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    let body = body.into_inner();
    let patch = GroupPatch {
        custom: None,
        name: body.name.as_deref().map(GroupName::parse).transpose()?,
        description: body.description.as_deref().map(|d| GroupDescription::parse(Some(d))).transpose()?,
        permissions: body.permissions,
    };
    let group = service.update_group(&caller, group, patch).await?;
    Ok(HttpResponse::Ok().json(GroupResponse::from(group)))
}

/// Delete Group
///
/// Deletes the group with its memberships and nesting. `System
/// Administrators` cannot be deleted (409 `SYSTEM_GROUP`).
///
/// **Permissions:** Requires `group_delete` permission
#[utoipa::path(
    tag = "Groups",
    params(("id" = Uuid, Path, description = "Group ID")),
    responses(
        (status = 204, description = "Group deleted"),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ErrorResponse),
        (status = 409, description = "System Administrators cannot be deleted (`SYSTEM_GROUP`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[delete("/groups/{id}")]
pub async fn delete_group(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    service.delete_group(&caller, group).await?;
    Ok(HttpResponse::NoContent().finish())
}
