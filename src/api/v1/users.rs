//! `/v1/users`.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::groups::GroupResponse;
use super::parse_id;
use crate::api::error::ErrorResponse;
use crate::api::timestamp;
use crate::api::{Caller, CheckLater};
use crate::db::users::{User, UserFilter};
use crate::domain::{Email, Page, PersonName, Search, Sort, UserIdentifier, UserSort, Username};
use crate::engine::users::{UserDraft, UserPatch};
use crate::error::Error;
use crate::service::Service;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// Email address, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference); no control characters,
    /// no leading or trailing whitespace
    #[schema(format = "email", min_length = 3, max_length = 320, example = "t.durden@fightclub.com")]
    pub email: String,
    /// Username, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference):
    /// no control characters or line separators, no leading or trailing
    /// whitespace, no `@` or `/`, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "tdurden")]
    pub username: Option<String>,
    #[schema(max_length = 255, example = "Tyler")]
    pub first_name: Option<String>,
    #[schema(max_length = 255, example = "Durden")]
    pub last_name: Option<String>,
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[schema(format = "email", min_length = 3, max_length = 320)]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub username: Option<String>,
    #[schema(max_length = 255)]
    pub first_name: Option<String>,
    #[schema(max_length = 255)]
    pub last_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub account_id: String,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
    /// When the user was deleted (only with `include_deleted`)
    #[schema(format = "date-time")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            account_id: u.account_id.to_string(),
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
            deleted_at: u.deleted_at.map(timestamp),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserResponse>,
    /// Number of users matching the filters
    pub total: i64,
}

/// Create User
///
/// Creates a user in the caller's account.
///
/// **Permissions:** Requires `user_create` permission
#[utoipa::path(
    tag = "Users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "User created", body = UserResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 409, description = "Email or username already taken (`NAME_TAKEN`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[post("/users")]
pub async fn create_user(
    service: web::Data<Service>,
    caller: CheckLater,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let draft = UserDraft {
        email: Email::parse(&body.email)?,
        username: body.username.as_deref().map(Username::parse).transpose()?,
        first_name: PersonName::parse("first_name", body.first_name.as_deref())?,
        last_name: PersonName::parse("last_name", body.last_name.as_deref())?,
        password_hash: None,
        suspended: false,
        profile: Default::default(),
    };
    let user = service.create_user_checking(&caller.caller, caller.unchecked, draft, None).await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Page size, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Number of users to skip
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Only users whose email contains this text (case-insensitive)
    pub email: Option<String>,
    /// Only users whose username, first or last name contains this text (case-insensitive)
    pub name: Option<String>,
    /// Sort field: `created_at` (default), `email` or `username`; prefix `-` for descending
    #[param(pattern = "^-?(created_at|email|username)$")]
    pub sort: Option<String>,
    /// Include deleted users (they carry `deleted_at`)
    pub include_deleted: Option<bool>,
}

/// List Users
///
/// Lists the account's users, an offset page at a time.
///
/// **Permissions:** Requires `user_read` permission
#[utoipa::path(
    tag = "Users",
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/users")]
pub async fn list_users(service: web::Data<Service>, caller: Caller, query: web::Query<ListUsersQuery>) -> Result<HttpResponse, Error> {
    let q = query.into_inner();
    let page = Page::new(("offset", q.offset), ("limit", q.limit), 100, 1000)?;
    let sort = Sort::parse("sort", q.sort.as_deref(), UserSort::CreatedAt, &USER_SORTS)?;
    let filter = UserFilter {
        email: Search::parse("email", q.email.as_deref())?,
        name: Search::parse("name", q.name.as_deref())?,
        any: None,
        include_deleted: q.include_deleted.unwrap_or(false),
        ..UserFilter::default()
    };
    let page = service.list_users(&caller, filter, sort, page).await?;
    Ok(HttpResponse::Ok().json(UserList { items: page.items.into_iter().map(UserResponse::from).collect(), total: page.total }))
}

const USER_SORTS: [(&str, UserSort); 3] =
    [("created_at", UserSort::CreatedAt), ("email", UserSort::Email), ("username", UserSort::Username)];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetUserQuery {
    /// Answer also for a deleted user
    pub include_deleted: Option<bool>,
}

/// Get User
///
/// **Permissions:** Requires `user_read` permission, except for reading oneself
#[utoipa::path(
    tag = "Users",
    params(("id" = Uuid, Path, description = "User ID"), GetUserQuery),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/users/{id}")]
pub async fn get_user(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<GetUserQuery>,
) -> Result<HttpResponse, Error> {
    let user = UserIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    let include_deleted = query.include_deleted.unwrap_or(false);
    let user = service.get_user(&caller, user, include_deleted).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Update User
///
/// Changes the fields present in the body.
///
/// **Permissions:** Requires `user_update` permission, and holding everything the user holds (else 403)
#[utoipa::path(
    tag = "Users",
    params(("id" = Uuid, Path, description = "User ID")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ErrorResponse),
        (status = 409, description = "Email or username already taken (`NAME_TAKEN`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[patch("/users/{id}")]
pub async fn update_user(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, Error> {
    let user = UserIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    let body = body.into_inner();
    let patch = UserPatch {
        email: body.email.as_deref().map(Email::parse).transpose()?,
        username: body.username.as_deref().map(Username::parse).transpose()?.map(Some),
        first_name: body.first_name.as_deref().map(|n| PersonName::parse("first_name", Some(n))).transpose()?,
        last_name: body.last_name.as_deref().map(|n| PersonName::parse("last_name", Some(n))).transpose()?,
        ..UserPatch::default()
    };
    let user = service.update_user(&caller, user, patch).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Delete User
///
/// Soft delete: the user leaves every listing and cannot be added to groups;
/// their email and username stay taken. The last member of
/// `System Administrators` cannot be deleted (409 `LAST_ADMINISTRATOR`).
///
/// **Permissions:** Requires `user_delete` permission, and holding everything the user holds (else 403)
#[utoipa::path(
    tag = "Users",
    params(("id" = Uuid, Path, description = "User ID")),
    responses(
        (status = 204, description = "User deleted"),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ErrorResponse),
        (status = 409, description = "The user is the last administrator (`LAST_ADMINISTRATOR`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[delete("/users/{id}")]
pub async fn delete_user(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let user = UserIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    service.delete_user(&caller, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List User's Groups
///
/// The groups the user belongs to directly, in name order.
///
/// **Permissions:** Requires `user_read` permission, except for one's own groups
#[utoipa::path(
    tag = "Users",
    params(("id" = Uuid, Path, description = "User ID")),
    responses(
        (status = 200, description = "The user's groups", body = Vec<GroupResponse>),
        (status = 400, description = "Bad request - validation error", body = ErrorResponse),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/users/{id}/groups")]
pub async fn list_user_groups(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let user = UserIdentifier::Id(parse_id(&path.into_inner(), "id")?);
    let (_, groups) = service.groups_of_user(&caller, user, false, crate::engine::groups::Selection::all()).await?;
    Ok(HttpResponse::Ok().json(groups.into_iter().map(GroupResponse::from).collect::<Vec<_>>()))
}
