//! Bearer JWTs: issuing and verifying; what a valid signature proves is a
//! [`Credential`], which the service then checks against the database
//! (revoked keys, suspended or deleted users) before it is a [`Principal`].
//! (Reading it off a request is the API layer's job.)
//!
//! Tokens are HS256-signed with `ROLLCALL_JWT_SECRET`, or with a secret that
//! the first instance generates and stores in the database, so that several
//! instances on one database accept each other's tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{self, Pool};
use crate::domain::{AccountId, ApiKeyId, Principal, SessionId, UserId};
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
    /// The API key the token was granted to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The password sign-in (session) the token belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The user's credential epoch when the token was issued: suspending or
    /// deleting the user moves it on, which refuses every older token.
    #[serde(default)]
    pub ep: i64,
}

/// What a validly signed, unexpired token claims; the service decides
/// whether it still holds ([`crate::service::Service::authenticate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub principal: Principal,
    pub key: Option<ApiKeyId>,
    pub session: Option<SessionId>,
    pub epoch: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    verified: Verified,
}

/// Tokens verified lately, by their text: the credential and the `exp`.
type Verified = Arc<Mutex<HashMap<Box<str>, (Credential, i64)>>>;

/// How many verified tokens [`TokenKeys::verify`] remembers; past that it
/// forgets them all and starts again.
const VERIFIED_KEPT: usize = 4_096;

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            verified: Arc::default(),
        }
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

    /// A token for a user at credential epoch 0 (a user never suspended);
    /// the service issues the real ones ([`TokenKeys::issue_for`]).
    pub fn issue(&self, user: UserId, account: AccountId, ttl_secs: i64) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let credential = Credential { principal: Principal::new(user, account), key: None, session: None, epoch: 0 };
        self.issue_for(&credential, now + ttl_secs)
    }

    /// A token carrying `credential`, valid until `expires_at` (Unix seconds).
    pub fn issue_for(&self, credential: &Credential, expires_at: i64) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: credential.principal.user.to_string(),
            acc: credential.principal.account.to_string(),
            iat: now,
            exp: expires_at,
            iss: ISSUER.to_owned(),
            kid: credential.key.map(|k| k.to_string()),
            sid: credential.session.map(|s| s.to_string()),
            ep: credential.epoch,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(Error::internal)
    }

    /// What a token claims, if its signature and times are valid now.
    ///
    /// A client sends the same token with every request until it expires:
    /// a token verified once is remembered, with its `exp`, and its exact
    /// text then answers without the HMAC and the claims' parsing (10 % of
    /// the HTTP workers' samples under single adds) until `exp`. The
    /// remembered answer is one a full verification would give at that
    /// moment too: the signature is over the same bytes, `exp` is still
    /// ahead (verification would even allow the leeway past it), and `nbf`
    /// and `iat` were already behind. Whether the token's user, key and
    /// sign-in still hold is checked against the database as before.
    pub fn verify(&self, token: &str) -> Result<Credential, Error> {
        let now = chrono::Utc::now().timestamp();
        let remembered = self.verified.lock().unwrap_or_else(|e| e.into_inner()).get(token).copied();
        if let Some((credential, exp)) = remembered {
            if now < exp {
                return Ok(credential);
            }
        }
        let (credential, exp) = self.verify_signed(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_KEPT {
            verified.clear();
        }
        verified.insert(token.into(), (credential, exp));
        Ok(credential)
    }

    /// [`TokenKeys::verify`] in full: the signature, the times and the
    /// claims; the credential and the token's `exp`.
    fn verify_signed(&self, token: &str) -> Result<(Credential, i64), Error> {
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
        let id = |raw: Option<&String>, what: &str| -> Result<Option<Uuid>, Error> {
            raw.map(|r| Uuid::try_parse(r).map_err(|_| Error::unauthenticated(&format!("The token {what} is not an id")))).transpose()
        };
        let credential = Credential {
            principal: Principal::new(user.into(), account.into()),
            key: id(data.claims.kid.as_ref(), "key")?.map(ApiKeyId::from),
            session: id(data.claims.sid.as_ref(), "session")?.map(SessionId::from),
            epoch: data.claims.ep,
        };
        Ok((credential, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential { principal: Principal::new(Uuid::new_v4().into(), Uuid::new_v4().into()), key: None, session: None, epoch: 3 }
    }

    #[test]
    fn a_remembered_token_answers_only_for_its_exact_text() {
        let keys = TokenKeys::from_secret(b"test-secret-test-secret-test-secret");
        let other = TokenKeys::from_secret(b"other-secret-other-secret-other-sec");
        let c = credential();
        let exp = chrono::Utc::now().timestamp() + 3600;
        let token = keys.issue_for(&c, exp).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), c);
        assert_eq!(keys.clone().verify(&token).unwrap(), c, "remembered, also by a copy of the keys");
        assert_eq!(keys.verified.lock().unwrap().len(), 1);
        // The same claims signed with another secret: another text, refused.
        let forged = other.issue_for(&c, exp).unwrap();
        assert!(keys.verify(&forged).is_err());
        assert!(other.verify(&token).is_err(), "the other keys remember nothing of these");
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let keys = TokenKeys::from_secret(b"test-secret-test-secret-test-secret");
        let c = credential();
        let expired = chrono::Utc::now().timestamp() - 60;
        let token = keys.issue_for(&c, expired).unwrap();
        assert!(keys.verify(&token).is_err());
        // Remembered from when it held: its `exp` is behind now, so it is
        // verified again, and refused.
        keys.verified.lock().unwrap().insert(token.clone().into(), (c, expired));
        assert!(keys.verify(&token).is_err());
    }
}
