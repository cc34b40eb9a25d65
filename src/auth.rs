//! Bearer JWTs: issuing, verifying, and the [`Caller`] extractor.
//!
//! Tokens are HS256-signed with `ROLLCALL_JWT_SECRET`, or with a secret that
//! the first instance generates and stores in the database, so that several
//! instances on one database accept each other's tokens.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{self, Pool};
use crate::error::{ApiError, ApiSurface, ErrorKind};

pub const ISSUER: &str = "rollcall";
pub const ACCOUNT_HEADER: &str = "X-Account-ID";
const SECRET_SETTING: &str = "jwt_secret";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;
/// How far ahead of this server's clock a token may say it was issued.
pub const MAX_IAT_AHEAD_SECS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The account id.
    pub acc: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// The secret from `ROLLCALL_JWT_SECRET`, else the one stored in the
    /// database (generated on first use).
    pub fn load(pool: &Pool) -> Result<Self, ApiError> {
        if let Ok(secret) = std::env::var("ROLLCALL_JWT_SECRET") {
            if !secret.is_empty() {
                return Ok(Self::from_secret(secret.as_bytes()));
            }
        }
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
        let mut conn = pool.get()?;
        let secret = db::settings::get_or_insert(&mut conn, SECRET_SETTING, &fresh)?;
        Ok(Self::from_secret(secret.as_bytes()))
    }

    pub fn issue(&self, user_id: &str, account_id: &str, ttl_secs: i64) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims { sub: user_id.to_owned(), acc: account_id.to_owned(), iat: now, exp: now + ttl_secs, iss: ISSUER.to_owned() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        use jsonwebtoken::errors::ErrorKind as J;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            let why = match e.kind() {
                J::ExpiredSignature => "The token has expired",
                J::ImmatureSignature => "The token is not valid yet (nbf)",
                J::InvalidSignature => "The token signature is invalid",
                J::InvalidAlgorithm | J::InvalidAlgorithmName => "The token algorithm is not accepted",
                J::InvalidIssuer => "The token issuer is not accepted",
                J::MissingRequiredClaim(_) => "The token lacks a required claim",
                _ => "The token is malformed",
            };
            ApiError::unauthenticated(why)
        })?;
        // A token from the future was not issued by a server with a sane clock.
        if data.claims.iat > chrono::Utc::now().timestamp() + MAX_IAT_AHEAD_SECS {
            return Err(ApiError::unauthenticated("The token was issued in the future"));
        }
        Ok(data.claims)
    }
}

/// The authenticated principal of a request: a user of an account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub account_id: String,
}

impl Caller {
    fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        let keys = req.app_data::<web::Data<TokenKeys>>().ok_or_else(|| ApiError::internal("token keys are not configured"))?;
        let header = single_header(req, actix_web::http::header::AUTHORIZATION.as_str())
            .map_err(|()| ApiError::unauthenticated("Send exactly one Authorization header"))?
            .ok_or_else(|| ApiError::unauthenticated("The Authorization header is missing"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("The Authorization header must be 'Bearer <token>'"))?;
        let claims = keys.verify(token)?;
        let user_id = Uuid::try_parse(&claims.sub).map_err(|_| ApiError::unauthenticated("The token subject is not a user id"))?;
        let account_id = Uuid::try_parse(&claims.acc).map_err(|_| ApiError::unauthenticated("The token account is not an account id"))?;
        if ApiSurface::of(req) == ApiSurface::V1 {
            check_account_header(req, account_id)?;
        }
        Ok(Self { user_id: user_id.to_string(), account_id: account_id.to_string() })
    }

    /// Fails with 403 unless the caller holds `permission` in their account.
    pub fn require(&self, conn: &mut db::Conn, permission: crate::domain::Permission) -> Result<(), ApiError> {
        if self.holds(conn, Some(permission))? {
            Ok(())
        } else {
            Err(ApiError::forbidden().developer(format!("This call needs the '{permission}' permission")))
        }
    }

    /// Fails with 403 unless the caller is one of the account's administrators.
    pub fn require_admin(&self, conn: &mut db::Conn) -> Result<(), ApiError> {
        if self.holds(conn, None)? {
            Ok(())
        } else {
            Err(ApiError::forbidden().developer("This call needs membership of System Administrators"))
        }
    }

    /// Whether the caller is an administrator or, with `Some(permission)`,
    /// holds it: through a group they belong to, or one above such a group.
    pub fn holds(&self, conn: &mut db::Conn, permission: Option<crate::domain::Permission>) -> Result<bool, ApiError> {
        // No group is granted the empty permission: only the system group counts.
        let name = permission.map_or("", |p| p.as_str());
        // The common case, one query: a direct membership grants it.
        if db::memberships::has_permission(conn, &self.account_id, &self.user_id, name)? {
            return Ok(true);
        }
        if !db::hierarchy::any(conn, &self.account_id)? {
            return Ok(false);
        }
        if db::users::get(conn, &self.account_id, &self.user_id, false)?.is_none() {
            return Ok(false);
        }
        let direct = db::memberships::groups_of(conn, &self.user_id)?;
        let above = crate::engine::hierarchy::Tree::load(conn, &self.account_id)?.ancestors(&direct);
        Ok(!above.is_empty() && db::memberships::granting(conn, &above, name)?)
    }

    pub fn is(&self, user_id: &str) -> bool {
        self.user_id == user_id
    }
}

/// The one value of a header: `Ok(None)` when absent, `Err` when it is sent
/// more than once (which of two credentials counts is not a guess to make).
fn single_header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a actix_web::http::header::HeaderValue>, ()> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// The v1 surface names the account twice (token and header); they must agree.
fn check_account_header(req: &HttpRequest, token_account: Uuid) -> Result<(), ApiError> {
    let mismatch =
        |why: &str| ApiError::new(ErrorKind::AccountMismatch, "The X-Account-ID header must name the token's account").developer(why);
    let value = single_header(req, ACCOUNT_HEADER)
        .map_err(|()| mismatch("Send exactly one X-Account-ID header"))?
        .ok_or_else(|| mismatch("The X-Account-ID header is missing"))?;
    let header_account = value
        .to_str()
        .ok()
        .and_then(|v| Uuid::try_parse(v.trim()).ok())
        .ok_or_else(|| mismatch("The X-Account-ID header is not a UUID"))?;
    if header_account != token_account {
        return Err(mismatch("The X-Account-ID header differs from the token's account"));
    }
    Ok(())
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Caller::from_request(req).map_err(|e| e.into_actix_for(req)))
    }
}
