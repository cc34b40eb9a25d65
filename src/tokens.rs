//! Bearer JWTs: issuing and verifying; what a valid token proves is a
//! [`Principal`]. (Reading it off a request is the API layer's job.)
//!
//! Tokens are HS256-signed with `ROLLCALL_JWT_SECRET`, or with a secret that
//! the first instance generates and stores in the database, so that several
//! instances on one database accept each other's tokens.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{self, Pool};
use crate::domain::{AccountId, Principal, UserId};
use crate::error::Error;

pub const ISSUER: &str = "rollcall";
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
    pub fn load(pool: &Pool) -> Result<Self, Error> {
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

    pub fn issue(&self, user: UserId, account: AccountId, ttl_secs: i64) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims { sub: user.to_string(), acc: account.to_string(), iat: now, exp: now + ttl_secs, iss: ISSUER.to_owned() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(Error::internal)
    }

    /// The principal a token names, if it is valid now.
    pub fn verify(&self, token: &str) -> Result<Principal, Error> {
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
            Error::unauthenticated(why)
        })?;
        // A token from the future was not issued by a server with a sane clock.
        if data.claims.iat > chrono::Utc::now().timestamp() + MAX_IAT_AHEAD_SECS {
            return Err(Error::unauthenticated("The token was issued in the future"));
        }
        let user = Uuid::try_parse(&data.claims.sub).map_err(|_| Error::unauthenticated("The token subject is not a user id"))?;
        let account = Uuid::try_parse(&data.claims.acc).map_err(|_| Error::unauthenticated("The token account is not an account id"))?;
        Ok(Principal { user: user.into(), account: account.into() })
    }
}
