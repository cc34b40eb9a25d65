//! Putting users into groups on the management surface.

use actix_web::{put, post, web, HttpResponse};

use crate::api::UserIds;
use crate::auth::Caller;
use crate::db::Pool;
use crate::domain::{GroupIdentifier, UserIdentifier};
use crate::engine;
use crate::error::{ManagementError, ManagementResult};

/// Add user to a group
///
/// Adds the user to the group. Idempotent: answers 204 also when the user is
/// already a member. The group is named by id or name, the user by id, email
/// or username (see the parameters).
///
/// **Permissions:** member of `System Administrators`, or of a group granted `group_update`.
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
    pool: web::Data<Pool>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ManagementResult<HttpResponse> {
    let (group, user) = path.into_inner();
    let group = GroupIdentifier::parse(&group)?;
    let user = UserIdentifier::parse(&user)?;
    pool.write(move |conn| engine::members::add_user_to_group(conn, &caller, &group, &user)).await?;
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
/// **Permissions:** member of `System Administrators`, or of a group granted `group_update`.
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
    pool: web::Data<Pool>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> ManagementResult<HttpResponse> {
    add_users(pool, caller, path, body).await
}

pub async fn add_users(
    pool: web::Data<Pool>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserIds>,
) -> ManagementResult<HttpResponse> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let user_ids = body.into_inner().parse()?;
    pool.write(move |conn| engine::members::add_users_to_group(conn, &caller, &group, &user_ids)).await?;
    Ok(HttpResponse::NoContent().finish())
}
