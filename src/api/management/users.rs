//! Users on the management surface.

use actix_web::{delete, get, head, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::models::{group_list, ManagementGroup, ManagementUser, UserBody, UserPagedList, UserPagingQuery};
use crate::api::v1::USER_SORTS_MANAGEMENT;
use crate::auth::Caller;
use crate::db::users::UserFilter;
use crate::db::Pool;
use crate::domain::{Email, Permission, PersonName, UserIdentifier, UserSort, Username};
use crate::engine::{self, users::UserDraft, users::UserPatch};
use crate::error::{ManagementError, ManagementResult};

fn draft(body: UserBody) -> Result<UserPatch, crate::error::ApiError> {
    Ok(UserPatch {
        email: Some(Email::parse(&body.email)?),
        username: Some(body.username.as_deref().map(Username::parse).transpose()?),
        first_name: Some(PersonName::parse("firstName", body.first_name.as_deref())?),
        last_name: Some(PersonName::parse("lastName", body.last_name.as_deref())?),
    })
}

/// Create a user
///
/// **Permissions:** `user_create`.
#[utoipa::path(
    tag = "Management: users",
    request_body = UserBody,
    responses(
        (status = 201, description = "The user", body = ManagementUser),
        (status = 400, description = "Invalid body (`VALIDATION_ERROR`)", body = ManagementError),
        (status = 409, description = "The email or username is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/users")]
pub async fn create_user(pool: web::Data<Pool>, caller: Caller, body: web::Json<UserBody>) -> ManagementResult<HttpResponse> {
    let patch = draft(body.into_inner())?;
    let draft = UserDraft {
        email: patch.email.expect("set by draft"),
        username: patch.username.flatten(),
        first_name: patch.first_name.expect("set by draft"),
        last_name: patch.last_name.expect("set by draft"),
    };
    let user = pool
        .write(move |conn| {
            caller.require(conn, Permission::UserCreate)?;
            engine::users::create_user(conn, &caller.account_id, draft)
        })
        .await?;
    Ok(HttpResponse::Created().json(ManagementUser::from(user)))
}

/// List users
///
/// **Permissions:** `user_read`.
#[utoipa::path(
    tag = "Management: users",
    params(UserPagingQuery),
    responses(
        (status = 200, description = "A page of users", body = UserPagedList),
        (status = 400, description = "Invalid paging (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users")]
pub async fn list_users(pool: web::Data<Pool>, caller: Caller, query: web::Query<UserPagingQuery>) -> ManagementResult<HttpResponse> {
    let paging = query.paging()?;
    let sort = query.sort(UserSort::Email, &USER_SORTS_MANAGEMENT)?;
    let filter = UserFilter { email: None, name: None, any: paging.search.clone(), include_deleted: false, member_of: None };
    let page = paging.page;
    let found = pool.run(move |conn| engine::users::list(conn, &caller, &filter, sort, page)).await?;
    let items = found.items.into_iter().map(ManagementUser::from).collect();
    Ok(HttpResponse::Ok().json(UserPagedList::new(&paging, found.total, items)))
}

/// Get a user
///
/// **Permissions:** `user_read`; anyone may read themself.
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username", example = "tdurden")),
    responses(
        (status = 200, description = "The user", body = ManagementUser),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users/{userIdentifier}")]
pub async fn get_user(pool: web::Data<Pool>, caller: Caller, path: web::Path<String>) -> ManagementResult<HttpResponse> {
    let user = UserIdentifier::parse(&path.into_inner())?;
    let user = pool.run(move |conn| engine::users::get(conn, &caller, &user, false)).await?;
    Ok(HttpResponse::Ok().json(ManagementUser::from(user)))
}

/// Replace a user
///
/// Sets every field; absent optional fields are cleared.
///
/// **Permissions:** `user_update`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username")),
    request_body = UserBody,
    responses(
        (status = 200, description = "The user", body = ManagementUser),
        (status = 400, description = "Invalid body (`VALIDATION_ERROR`)", body = ManagementError),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The email or username is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/users/{userIdentifier}")]
pub async fn replace_user(
    pool: web::Data<Pool>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UserBody>,
) -> ManagementResult<HttpResponse> {
    let user = UserIdentifier::parse(&path.into_inner())?;
    let patch = draft(body.into_inner())?;
    let user = pool.write(move |conn| engine::users::update(conn, &caller, &user, patch.clone())).await?;
    Ok(HttpResponse::Ok().json(ManagementUser::from(user)))
}

/// Delete a user
///
/// Soft delete: the user leaves every listing and cannot be added to groups;
/// the email and username stay taken. The last member of `System
/// Administrators` cannot be deleted (409 `LAST_ADMINISTRATOR`).
///
/// **Permissions:** `user_delete`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The last administrator (`LAST_ADMINISTRATOR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/users/{userIdentifier}")]
pub async fn delete_user(pool: web::Data<Pool>, caller: Caller, path: web::Path<String>) -> ManagementResult<HttpResponse> {
    let user = UserIdentifier::parse(&path.into_inner())?;
    pool.write(move |conn| engine::users::delete(conn, &caller, &user)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UserGroupsQuery {
    /// Also the groups above the user's groups (through nesting)
    pub include_inherited: Option<bool>,
}

/// List a user's groups
///
/// In name order.
///
/// **Permissions:** `user_read`; anyone may list their own.
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username"), UserGroupsQuery),
    responses(
        (status = 200, description = "The user's groups", body = Vec<ManagementGroup>),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users/{userIdentifier}/groups")]
pub async fn list_user_groups(
    pool: web::Data<Pool>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<UserGroupsQuery>,
) -> ManagementResult<HttpResponse> {
    let user = UserIdentifier::parse(&path.into_inner())?;
    let inherited = query.include_inherited.unwrap_or(false);
    let groups = pool.run(move |conn| engine::users::groups_of(conn, &caller, &user, inherited)).await?;
    Ok(HttpResponse::Ok().json(groups.into_iter().map(ManagementGroup::from).collect::<Vec<_>>()))
}

/// Is the user in any of the groups?
///
/// 204 when the user belongs to at least one of the comma-separated groups
/// (ids or names), directly or through a child group; 404 otherwise.
///
/// **Permissions:** `user_read`; anyone may ask about themself.
#[utoipa::path(
    tag = "Management: users",
    params(
        ("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username"),
        ("groupIdentifiers" = String, Path, description = "Comma-separated group ids or names", example = "Paper Street Soap Company,System Administrators"),
    ),
    responses(
        (status = 204, description = "A member of at least one of the groups"),
        (status = 404, description = "Not a member of any, or the user does not exist"),
    ),
    security(("bearerAuth" = []))
)]
#[head("/users/{userIdentifier}/groups/{groupIdentifiers}")]
pub async fn user_in_groups(pool: web::Data<Pool>, caller: Caller, path: web::Path<(String, String)>) -> ManagementResult<HttpResponse> {
    let (user, groups) = path.into_inner();
    let user = UserIdentifier::parse(&user)?;
    let groups = group_list(&groups)?;
    let member = pool.run(move |conn| engine::users::in_any_group(conn, &caller, &user, &groups)).await?;
    Ok(if member { HttpResponse::NoContent().finish() } else { HttpResponse::NotFound().finish() })
}
