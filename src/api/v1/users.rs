//! `/v1/users`.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::timestamp;
use crate::auth::Caller;
use crate::db::users::User;
use crate::db::Pool;
use crate::domain::{Email, Permission, PersonName, Username};
use crate::engine::{self, users::UserDraft};
use crate::error::{ErrorResponse, V1Result};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// Email address, unique in the account (case-insensitive)
    #[schema(format = "email", min_length = 3, max_length = 320, example = "t.durden@fightclub.com")]
    pub email: String,
    /// Username, unique in the account (case-insensitive): a visible
    /// character, no control characters, no `@`, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "tdurden")]
    pub username: Option<String>,
    #[schema(max_length = 255, example = "Tyler")]
    pub first_name: Option<String>,
    #[schema(max_length = 255, example = "Durden")]
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
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            account_id: u.account_id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
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
    pool: web::Data<Pool>,
    caller: Caller,
    body: web::Json<CreateUserRequest>,
) -> V1Result<HttpResponse> {
    let body = body.into_inner();
    let draft = UserDraft {
        email: Email::parse(&body.email)?,
        username: body.username.as_deref().map(Username::parse).transpose()?,
        first_name: PersonName::parse("first_name", body.first_name.as_deref())?,
        last_name: PersonName::parse("last_name", body.last_name.as_deref())?,
    };
    let user = pool
        .write(move |conn| {
            caller.require(conn, Permission::UserCreate)?;
            engine::users::create_user(conn, &caller.account_id, draft)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
}
