//! Putting users into groups on the management surface.

use actix_web::get;
use actix_web::{delete, head, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::models::{group_list, ManagementUser, Paged, UserPagedList, UserPagingQuery, USER_SORTS};
use crate::api::error::ManagementError;
use crate::api::{Caller, CheckLater};
use crate::api::{JsonItems, UserIds};
use crate::domain::{GroupIdentifier, UserSort};
use crate::engine::members::MemberQuery;
use crate::error::Error;
use crate::service::Service;

/// Add user to a group
///
/// Adds the user to the group. Idempotent: answers 204 also when the user is
/// already a member. The group is named by id or name, the user by id, email
/// or username (see the parameters).
///
/// **Permissions:** `group_update`, and you must already hold everything a member of the group holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403).
#[utoipa::path(
    tag = "Management: group members",
    params(
        ("groupIdentifier" = String, Path, description = "The group id (UUID) or the group name (case-insensitive)", example = "Paper Street Soap Company"),
        ("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username (case-insensitive)", example = "tdurden"),
    ),
    responses(
        (status = 204, description = "Success: the user is a member of the group"),
        (status = 400, description = "An identifier is empty", body = ManagementError),
        (status = 404, description = "Group not found (`data.code` = `GROUP_NOT_FOUND`) or user not found (`data.code` = `USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/groups/{groupIdentifier}/users/{userIdentifier}")]
pub async fn add_user_to_group(
    service: web::Data<Service>,
    caller: CheckLater,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (group, user) = path.into_inner();
    let group = GroupIdentifier::parse(&group)?;
    let user = super::users::user_identifier(&caller.caller, &user)?;
    service.add_user_to_group_checking(&caller.caller, caller.unchecked, group, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add many users to a group
///
/// Adds 1 to 100 users, given by id, in one transaction: all or none.
/// Duplicate ids and users already in the group are ignored. Every id must
/// name an existing user of the group's account; otherwise nothing is written
/// and the answer is 400 with every offending id in `data.userIds`.
/// The trailing slash is optional.
///
/// **Permissions:** `group_update`, and you must already hold everything a member of the group holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403).
#[utoipa::path(
    tag = "Management: group members",
    params(
        ("groupIdentifier" = String, Path, description = "The group id (UUID) or the group name (case-insensitive)", example = "6254736c-70e1-43b0-b769-f8e0f6359862"),
    ),
    request_body(content = UserIds, description = "An array of user ids"),
    responses(
        (status = 204, description = "Success: every listed user is a member of the group"),
        (status = 400, description = "The body is not an array of 1 to 100 UUIDs (`VALIDATION_ERROR`), or some ids name no user of this account (`UNKNOWN_USERS`, ids in `data.userIds`)", body = ManagementError),
        (status = 404, description = "Group not found (`data.code` = `GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/groups/{groupIdentifier}/users/")]
pub async fn add_users_to_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> Result<HttpResponse, Error> {
    add_users(service, caller, path, body).await
}

/// Add many users to a group (no trailing slash)
///
/// The same operation as `POST …/groups/{groupIdentifier}/users/`, for
/// clients that drop the trailing slash.
///
/// **Permissions:** `group_update`, and you must already hold everything a member of the group holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403).
#[utoipa::path(
    tag = "Management: group members",
    params(
        ("groupIdentifier" = String, Path, description = "The group id (UUID) or the group name (case-insensitive)", example = "6254736c-70e1-43b0-b769-f8e0f6359862"),
    ),
    request_body(content = UserIds, description = "An array of user ids"),
    responses(
        (status = 204, description = "Success: every listed user is a member of the group"),
        (status = 400, description = "The body is not an array of 1 to 100 UUIDs (`VALIDATION_ERROR`), or some ids name no user of this account (`UNKNOWN_USERS`, ids in `data.userIds`)", body = ManagementError),
        (status = 404, description = "Group not found (`data.code` = `GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/groups/{groupIdentifier}/users")]
pub async fn add_users_to_group_without_slash(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> Result<HttpResponse, Error> {
    add_users(service, caller, path, body).await
}

async fn add_users(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let user_ids = body.into_inner().parse()?;
    service.add_users_to_group(&caller, group, user_ids).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GroupUsersQuery {
    /// Also the members of groups below this one, at any depth
    pub include_inherited: Option<bool>,
    /// With `includeInherited`: comma-separated groups (ids or names) whose
    /// subtrees are left out
    pub excluded_groups: Option<String>,
}

/// List the users in a group
///
/// A page of the members, by email unless `order` says otherwise.
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: group members",
    params(("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)"), GroupUsersQuery, UserPagingQuery),
    responses(
        (status = 200, description = "A page of members", body = UserPagedList),
        (status = 400, description = "Invalid paging (`VALIDATION_ERROR`)", body = ManagementError),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/groups/{groupIdentifier}/users")]
pub async fn list_group_users(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    members: web::Query<GroupUsersQuery>,
    paging: web::Query<UserPagingQuery>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let page = paging.paging()?;
    let query = MemberQuery {
        inherited: members.include_inherited.unwrap_or(false),
        excluded: members.excluded_groups.as_deref().map(group_list).transpose()?.unwrap_or_default(),
        search: page.search.clone(),
        sort: paging.sort(UserSort::Email, &USER_SORTS)?,
        page: page.page,
    };
    let json = JsonItems::default();
    let items = json.clone();
    let found = service.list_members_paged(&caller, group, query, move |u| items.push(&ManagementUser::from(u))).await?;
    json.body(found.items, false, &Paged::new(&page, found.total))
}

/// Remove a user from a group
///
/// 404 "User not in group" (`NOT_A_MEMBER`) when the user is not a direct
/// member. The last member of `System Administrators` stays (409
/// `LAST_ADMINISTRATOR`).
///
/// **Permissions:** `group_update` (System Administrators: administrators only).
#[utoipa::path(
    tag = "Management: group members",
    params(
        ("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)"),
        ("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username"),
    ),
    responses(
        (status = 204, description = "The user is no longer a member"),
        (status = 404, description = "Group, user, or membership not found (`GROUP_NOT_FOUND`, `USER_NOT_FOUND`, `NOT_A_MEMBER`)", body = ManagementError),
        (status = 409, description = "The last administrator (`LAST_ADMINISTRATOR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/groups/{groupIdentifier}/users/{userIdentifier}")]
pub async fn remove_user_from_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (group, user) = path.into_inner();
    let group = GroupIdentifier::parse(&group)?;
    let user = super::users::user_identifier(&caller, &user)?;
    service.remove_user_from_group(&caller, group, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Is the user in the group?
///
/// 204 when the user is a member, directly or through a child group; 404
/// otherwise (also when the group or user does not exist).
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: group members",
    params(
        ("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)"),
        ("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username"),
    ),
    responses(
        (status = 204, description = "A member"),
        (status = 404, description = "Not a member"),
    ),
    security(("bearerAuth" = []))
)]
#[head("/groups/{groupIdentifier}/users/{userIdentifier}")]
pub async fn user_in_group(service: web::Data<Service>, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, Error> {
    let (group, user) = path.into_inner();
    let group = GroupIdentifier::parse(&group)?;
    let user = super::users::user_identifier(&caller, &user)?;
    let member = service.is_member(&caller, group, user).await?;
    Ok(if member { HttpResponse::NoContent().finish() } else { HttpResponse::NotFound().finish() })
}
