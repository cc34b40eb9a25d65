//! The OAuth2 token endpoint, `POST /authenticate/connect/token`, as the
//! vendor's clients call it (and as Swagger UI's Authorize dialog does): a
//! form body, and every failure an RFC 6749 §5.2 error.
//!
//! Grants: `client_credentials` (an API key: `client_id` is its id,
//! `client_secret` its secret; in the body or as HTTP Basic), the vendor's
//! password grant `contensis_classic` and refresh grant
//! `contensis_classic_refresh_token`, and their standard names `password`
//! and `refresh_token`.

use actix_web::http::header::{self, ContentType};
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::accounts::AccountPath;
use super::error::{Surface, SurfaceDocs};
use super::principal::single_header;
use crate::error::{Error, ErrorKind};
use crate::service::{IssuedToken, Service};

pub const PREFIX: &str = "/authenticate";
pub const TOKEN_PATH: &str = "/authenticate/connect/token";
/// Largest form accepted.
pub const FORM_LIMIT: usize = 16 * 1024;

/// Failures as RFC 6749 errors; the client authenticates with its
/// credentials, not a token.
pub const SURFACE: Surface = Surface::new(false, body, SurfaceDocs { error_schema: "OAuthError", operation_prefix: "", tag: None })
    .with_challenge("Basic realm=\"rollcall\"");

/// The scopes a client may ask for: the vendor's names. They do not narrow
/// what a token may do (the user's groups decide that); `offline_access`
/// asks for a refresh token with a password grant.
pub const SCOPES: [(&str, &str); 13] = [
    ("openid", "Accepted for compatibility"),
    ("offline_access", "A refresh token with the password grant"),
    ("Security_Administrator", "The vendor's security scope: users, groups and memberships (what the user's groups permit)"),
    ("ContentType_Read", "Accepted for compatibility; grants nothing here"),
    ("ContentType_Write", "Accepted for compatibility; grants nothing here"),
    ("ContentType_Delete", "Accepted for compatibility; grants nothing here"),
    ("Entry_Read", "Accepted for compatibility; grants nothing here"),
    ("Entry_Write", "Accepted for compatibility; grants nothing here"),
    ("Entry_Delete", "Accepted for compatibility; grants nothing here"),
    ("Project_Read", "Accepted for compatibility; grants nothing here"),
    ("Project_Write", "Accepted for compatibility; grants nothing here"),
    ("Project_Delete", "Accepted for compatibility; grants nothing here"),
    ("Workflow_Administrator", "Accepted for compatibility; grants nothing here"),
];

/// RFC 6749 §5.2 error body.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`, `temporarily_unavailable` or `server_error`
    #[schema(example = "invalid_client")]
    pub error: String,
    /// What was wrong, for people
    pub error_description: String,
    /// Identifier of this error, also written to the server log
    pub error_id: String,
}

fn body(e: &Error) -> Value {
    use ErrorKind as K;
    let error = match e.kind {
        K::Unauthenticated => "invalid_client",
        K::InvalidGrant => "invalid_grant",
        K::UnsupportedGrantType => "unsupported_grant_type",
        K::InvalidScope => "invalid_scope",
        K::ServiceUnavailable => "temporarily_unavailable",
        K::Internal => "server_error",
        _ => "invalid_request",
    };
    let description = if e.developer_message.is_empty() { e.message.clone() } else { e.developer_message.clone() };
    json!(OAuthError { error: error.into(), error_description: description, error_id: e.id.to_string() })
}

/// The grant types (the vendor's names, and the standard names Swagger UI sends).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code, reason = "documents the values; the handler matches the strings")]
enum GrantType {
    ClientCredentials,
    ContensisClassic,
    Password,
    ContensisClassicRefreshToken,
    RefreshToken,
}

/// The form of a token request (`application/x-www-form-urlencoded`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code, reason = "documents the form; the handler reads the pairs itself to refuse repeated parameters")]
pub struct OAuthTokenRequest {
    /// `client_credentials`, `contensis_classic` (or `password`), `contensis_classic_refresh_token` (or `refresh_token`)
    #[schema(value_type = GrantType, example = "client_credentials")]
    grant_type: String,
    /// client_credentials: the API key id (or send it with the secret as HTTP Basic)
    #[schema(format = "uuid")]
    client_id: Option<String>,
    /// client_credentials: the API key secret
    client_secret: Option<String>,
    /// Password grant: the username
    username: Option<String>,
    /// Password grant: the password
    password: Option<String>,
    /// Refresh grant: the refresh token
    refresh_token: Option<String>,
    /// Space-separated scope names (the vendor's; see the description)
    #[schema(example = "Security_Administrator")]
    scope: Option<String>,
}

/// A token (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct OAuthTokenResponse {
    /// The bearer token for `Authorization: Bearer …`
    pub access_token: String,
    /// Always `Bearer`
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires
    #[schema(example = 3600)]
    pub expires_in: i64,
    /// With the password grant and `offline_access`, and with the refresh grant: a refresh token (valid 15 days from its last use, good for one use)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes granted
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(token);
}

/// The form's parameters, each at most once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(bytes).map_err(|e| Error::validation("The body is not a valid form").developer(e.to_string()))?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::validation(format!("The parameter {name} is repeated")));
            }
        }
        Ok(Self(pairs))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, Error> {
        self.get(name).ok_or_else(|| Error::validation(format!("The parameter {name} is missing")))
    }
}

async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<Form, Error> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(Error::new(ErrorKind::UnsupportedMediaType, "Send the token request as application/x-www-form-urlencoded"));
    }
    let bytes = payload
        .to_bytes_limited(FORM_LIMIT)
        .await
        .map_err(|_| Error::new(ErrorKind::PayloadTooLarge, format!("The body is larger than {FORM_LIMIT} bytes")))?
        .map_err(|e| Error::validation("The body could not be read").developer(e.to_string()))?;
    Form::parse(&bytes)
}

/// Client credentials sent as HTTP Basic (each part form-encoded, RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let header =
        single_header(req, header::AUTHORIZATION.as_str()).map_err(|()| Error::validation("Send at most one Authorization header"))?;
    let Some(value) = header.and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(Error::unauthenticated("Client authentication here is HTTP Basic or form parameters"));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::unauthenticated("The Basic credentials are not valid base64"))?;
    let (id, secret) = decoded.split_once(':').ok_or_else(|| Error::unauthenticated("The Basic credentials need id:secret"))?;
    let unform =
        |s: &str| serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}")).ok().and_then(|mut v| v.pop()).map(|(_, v)| v);
    Ok(Some((unform(id).unwrap_or_default(), unform(secret).unwrap_or_default())))
}

/// The requested scopes, checked; whether they ask for a refresh token.
fn scopes(form: &Form) -> Result<(Option<String>, bool), Error> {
    let Some(raw) = form.get("scope") else { return Ok((None, false)) };
    let requested: Vec<&str> = raw.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(unknown) = requested.iter().find(|s| !SCOPES.iter().any(|(name, _)| name == *s)) {
        let known: Vec<&str> = SCOPES.iter().map(|(n, _)| *n).collect();
        return Err(Error::new(ErrorKind::InvalidScope, format!("Unknown scope {unknown}; known: {}", known.join(" "))));
    }
    Ok((Some(requested.join(" ")), requested.contains(&"offline_access")))
}

/// Get a token
///
/// OAuth2 (RFC 6749) token endpoint, as the vendor's clients call it.
/// Under `/accounts/{accountId}` (the second server) credentials are looked
/// up in that account only; at the root a client credential names its
/// account and a username is looked up in the account created first.
///
/// - `client_credentials`: `client_id` = API key id, `client_secret` = its
///   secret (or HTTP Basic). No refresh token.
/// - `contensis_classic` or `password`: `username`, `password`. A refresh
///   token when `scope` has `offline_access`. Five failures in a row lock
///   the user for 15 minutes; a wrong password, an unknown user, a locked
///   or suspended one all get the same `invalid_grant`.
/// - `contensis_classic_refresh_token` or `refresh_token`: `refresh_token`;
///   answers a new access token and a new refresh token (the old one is
///   used up; using it again ends the sign-in).
///
/// `scope` takes the vendor's scope names (see the `oauth2` security
/// scheme); they do not narrow what the token may do: the user's groups
/// decide. Access tokens are valid 60 minutes.
#[utoipa::path(
    tag = "Sign-in",
    request_body(content = OAuthTokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token", body = OAuthTokenResponse),
        (status = 400, description = "`invalid_request` (a parameter missing or repeated, a malformed body), `invalid_grant` (wrong username or password, or a refresh token that is not valid), `unsupported_grant_type`, `invalid_scope`", body = OAuthError),
        (status = 401, description = "`invalid_client`: the client id or secret is not valid, the key was revoked or has expired, or belongs to another account than the base path names", body = OAuthError),
        (status = 415, description = "`invalid_request`: the body is not application/x-www-form-urlencoded", body = OAuthError),
    ),
    security()
)]
#[post("/connect/token")]
pub async fn token(req: HttpRequest, service: web::Data<Service>, payload: web::Payload) -> Result<HttpResponse, Error> {
    let form = read_form(&req, payload).await?;
    let scope = AccountPath::of(&req);
    let (granted_scope, offline) = scopes(&form)?;
    let issued: IssuedToken = match form.require("grant_type")? {
        "client_credentials" => {
            let from_form = (form.get("client_id"), form.get("client_secret"));
            let (id, secret) = match (basic_credentials(&req)?, from_form) {
                (Some(_), (Some(_), _) | (_, Some(_))) => {
                    return Err(Error::validation("Send the client credentials either as HTTP Basic or in the form, not both"))
                }
                (Some(basic), _) => basic,
                (None, (Some(id), Some(secret))) => (id.to_owned(), secret.to_owned()),
                (None, _) => return Err(Error::unauthenticated("client_id and client_secret are needed")),
            };
            service.grant_client_credentials(scope, &id, &secret).await?
        }
        "contensis_classic" | "password" => {
            let (username, password) = (form.require("username")?, form.require("password")?);
            service.grant_password(scope, username, password, offline).await?
        }
        "contensis_classic_refresh_token" | "refresh_token" => service.grant_refresh(scope, form.require("refresh_token")?).await?,
        other => {
            return Err(Error::new(ErrorKind::UnsupportedGrantType, format!("The grant type {other} is not supported"))
                .developer("Supported: client_credentials, contensis_classic (password), contensis_classic_refresh_token (refresh_token)"))
        }
    };
    let answer = OAuthTokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token,
        scope: granted_scope,
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(answer))
}
