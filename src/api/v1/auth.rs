//! `/v1/auth/token` and `/v1/api-keys`: signing in with an API key, and the
//! keys themselves.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_id;
use crate::api::error::ErrorResponse;
use crate::api::principal::header_account;
use crate::api::{timestamp, Caller};
use crate::db::api_keys::ApiKey;
use crate::domain::{ApiKeyId, UserIdentifier};
use crate::engine::api_keys::{KeyDraft, KeyPurpose};
use crate::engine::now;
use crate::error::Error;
use crate::service::Service;

/// An API key's credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyCredentials {
    /// The API key id
    #[schema(format = "uuid", example = "3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f")]
    pub id: String,
    /// The API key secret (shown once, when the key was made)
    #[schema(min_length = 1, max_length = 256)]
    pub secret: String,
}

/// A bearer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    /// The token, for `Authorization: Bearer …`
    pub access_token: String,
    /// Always `Bearer`
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until it expires (3600, or less when the key expires sooner)
    #[schema(example = 3600)]
    pub expires_in: i64,
    /// When it expires
    #[schema(format = "date-time")]
    pub expires_at: String,
    /// The key's user
    #[schema(format = "uuid")]
    pub user_id: String,
    #[schema(format = "uuid")]
    pub account_id: String,
}

/// Get a token for an API key
///
/// Exchanges an API key's id and secret for a bearer token valid 60 minutes
/// (or until the key expires, if sooner). `X-Account-ID` must name the
/// key's account: a key of another account is refused like a wrong secret.
/// No bearer token is needed.
#[utoipa::path(
    tag = "Sign-in",
    params(("X-Account-ID" = String, Header, format = "uuid", description = "The key's account")),
    request_body = ApiKeyCredentials,
    responses(
        (status = 200, description = "A token", body = AccessToken),
        (status = 400, description = "Invalid body (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 401, description = "The id or secret is wrong, the key was revoked or has expired, or is of another account (`UNAUTHENTICATED`)", body = ErrorResponse),
        (status = 403, description = "`X-Account-ID` is missing or not a UUID (`ACCOUNT_MISMATCH`)", body = ErrorResponse),
    ),
    security()
)]
#[post("/auth/token")]
pub async fn token(req: HttpRequest, service: web::Data<Service>, body: web::Json<ApiKeyCredentials>) -> Result<HttpResponse, Error> {
    let account = header_account(&req, "the key's account")?;
    let issued = service.grant_client_credentials(Some(account), &body.id, &body.secret).await?;
    let expires_at = Utc::now() + chrono::Duration::seconds(issued.expires_in);
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(AccessToken {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        expires_at: timestamp(expires_at.naive_utc()),
        user_id: issued.principal.user.to_string(),
        account_id: issued.principal.account.to_string(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// What the key is for
    #[schema(min_length = 1, max_length = 100, example = "CI deploy job")]
    pub name: Option<String>,
    /// Whose key: yourself when absent; another user of the account needs an administrator
    #[schema(format = "uuid")]
    pub user_id: Option<String>,
    /// When the key stops working; never when absent
    #[schema(format = "date-time")]
    pub expires_at: Option<DateTime<Utc>>,
    /// `general` (default): exchanged for tokens at the token endpoints;
    /// `scim`: also accepted as it is as the bearer token of `/scim/v2`
    #[schema(pattern = "^(general|scim)$", example = "general")]
    pub purpose: Option<String>,
}

/// An API key (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    /// The key id: the OAuth2 `client_id`
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// Whose key it is
    #[schema(format = "uuid")]
    pub user_id: String,
    /// Who made it
    #[schema(format = "uuid")]
    pub created_by: String,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub expires_at: Option<String>,
    /// When its secret was last exchanged for a token
    #[schema(format = "date-time")]
    pub last_used_at: Option<String>,
    #[schema(format = "date-time")]
    pub revoked_at: Option<String>,
    /// `general` or `scim`
    #[schema(pattern = "^(general|scim)$")]
    pub purpose: String,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name,
            user_id: k.user_id.to_string(),
            created_by: k.created_by.to_string(),
            created_at: timestamp(k.created_at),
            expires_at: k.expires_at.map(timestamp),
            last_used_at: k.last_used_at.map(timestamp),
            revoked_at: k.revoked_at.map(timestamp),
            purpose: k.purpose,
        }
    }
}

/// A new API key, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyResponse,
    /// The secret (the OAuth2 `client_secret`); it cannot be shown again
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyResponse>,
}

/// Create an API key
///
/// A key is a client credential (`client_id` = its id, `client_secret` =
/// its secret) for `POST /authenticate/connect/token` or `POST
/// /v1/auth/token`; its tokens act as its user. Make one for yourself, or,
/// as an administrator, for any user of the account (a service user is a
/// user without a password).
///
/// **Permissions:** none for your own keys; administrators for another user's.
#[utoipa::path(
    tag = "Sign-in",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key and its secret (shown once)", body = CreatedApiKey),
        (status = 400, description = "Invalid body (`VALIDATION_ERROR`)", body = ErrorResponse),
        (status = 404, description = "No such user (`USER_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[post("/api-keys")]
pub async fn create_api_key(
    service: web::Data<Service>,
    caller: Caller,
    body: web::Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let user = body.user_id.as_deref().map(|u| parse_id(u, "user_id").map(UserIdentifier::Id)).transpose()?;
    let mut draft = KeyDraft::parse(user, body.name.as_deref(), body.expires_at.map(|at| at.naive_utc()), now())?;
    draft.purpose = body.purpose.as_deref().map(KeyPurpose::parse).transpose()?.unwrap_or_default();
    let made = service.create_api_key(&caller, draft).await?;
    Ok(HttpResponse::Created().json(CreatedApiKey { key: made.key.into(), secret: made.secret }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListApiKeysQuery {
    /// Only this user's keys (another user's need an administrator)
    #[param(format = "uuid")]
    pub user_id: Option<String>,
}

/// List API keys
///
/// Newest first, revoked ones included; never a secret. Your own keys, or
/// as an administrator every key of the account.
///
/// **Permissions:** none for your own keys; administrators for others'.
#[utoipa::path(
    tag = "Sign-in",
    params(ListApiKeysQuery),
    responses(
        (status = 200, description = "The keys", body = ApiKeyList),
        (status = 404, description = "No such user (`USER_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    service: web::Data<Service>,
    caller: Caller,
    query: web::Query<ListApiKeysQuery>,
) -> Result<HttpResponse, Error> {
    let user = query.user_id.as_deref().map(|u| parse_id(u, "user_id").map(UserIdentifier::Id)).transpose()?;
    let keys = service.list_api_keys(&caller, user).await?;
    Ok(HttpResponse::Ok().json(ApiKeyList { items: keys.into_iter().map(ApiKeyResponse::from).collect() }))
}

/// Revoke an API key
///
/// Every token issued for it is refused from the next request on, on every
/// instance. Revoking a revoked key is a success.
///
/// **Permissions:** none for your own keys; administrators for any key of the account.
#[utoipa::path(
    tag = "Sign-in",
    params(("keyId" = String, Path, format = "uuid", description = "The key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key, or not yours (`API_KEY_NOT_FOUND`)", body = ErrorResponse),
    ),
    security(("bearerAuth" = [], "accountId" = []))
)]
#[delete("/api-keys/{keyId}")]
pub async fn revoke_api_key(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let key: ApiKeyId = parse_id(&path.into_inner(), "keyId")?;
    service.revoke_api_key(&caller, key).await?;
    Ok(HttpResponse::NoContent().finish())
}
