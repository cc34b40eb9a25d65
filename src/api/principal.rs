//! The [`Caller`] extractor: the principal a request's bearer token names,
//! checked by the service (signature, expiry, and whether its user, key and
//! session still allow it) and against the rules of the surface and base
//! path that serve the request.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::accounts::AccountPath;
use super::error::Surface;
use crate::domain::{AccountId, ApiKeyId, Principal, SessionId};
use crate::error::{Error, ErrorKind};
use crate::service::Service;
use crate::tokens::Credential;

pub const ACCOUNT_HEADER: &str = "X-Account-ID";

/// The authenticated principal of a request, and how it signed in.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub principal: Principal,
    /// The API key its token was granted to, if any.
    pub key: Option<ApiKeyId>,
    /// The password sign-in its token belongs to, if any.
    pub session: Option<SessionId>,
}

impl Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The bearer token of a request: exactly one `Authorization: Bearer …`.
pub fn bearer_token(req: &HttpRequest) -> Result<String, Error> {
    let header = single_header(req, AUTHORIZATION.as_str())
        .map_err(|()| Error::unauthenticated("Send exactly one Authorization header"))?
        .ok_or_else(|| Error::unauthenticated("The Authorization header is missing"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::unauthenticated("The Authorization header must be 'Bearer <token>'"))?;
    Ok(token.to_owned())
}

fn service_of(req: &HttpRequest) -> Result<web::Data<Service>, Error> {
    Ok(req.app_data::<web::Data<Service>>().ok_or_else(|| Error::internal("the service is not configured"))?.clone())
}

/// Whether the token is a `scim` API key sent as it is, where the surface
/// takes those.
fn is_direct_key(surface: &Surface, token: &str) -> bool {
    surface.direct_keys && token.split_once('_').is_some_and(|(prefix, _)| prefix == crate::credentials::KEY_PREFIX)
}

impl Caller {
    fn of(credential: &Credential) -> Self {
        let principal = Principal { key: credential.key, ..credential.principal };
        Self { principal, key: credential.key, session: credential.session }
    }

    async fn from_request(req: HttpRequest) -> Result<Self, Error> {
        let service = service_of(&req)?;
        let token = bearer_token(&req)?;
        let surface = Surface::of(&req);
        let credential =
            if is_direct_key(&surface, &token) { service.authenticate_key(&token).await? } else { service.authenticate(&token).await? };
        let caller = Self::of(&credential);
        caller.follows_rules(&req, &surface)?;
        Ok(caller)
    }

    /// The rules of the surface and base path that serve the request, which
    /// need no database: checked after the token, so a revoked token is a
    /// 401 whatever else is wrong with the request.
    fn follows_rules(&self, req: &HttpRequest, surface: &Surface) -> Result<(), Error> {
        // Under /accounts/{id}, a token of another account is as good as none.
        let base_path = req.extensions().get::<AccountPath>().map(|a| a.0);
        if base_path.is_some_and(|account| account != self.principal.account) {
            return Err(Error::unauthenticated("The token belongs to another account than this base path names"));
        }
        if surface.account_header {
            check_account_header(req, self.principal.account)?;
        }
        surface.check_params(req.query_string())
    }
}

/// A caller whose token is validly signed and unexpired and whose request
/// follows its surface's rules, but whose check in the database (does its
/// user, key and session still allow it) is left to the use case: a single
/// add or a creation makes it inside its batch's transaction, one read for
/// the batch, instead of a read of its own before it. The request carries
/// the credential ([`Unchecked`]) until its answer: any failure, whatever
/// produced it (a later extractor's 400, the use case's 404), is answered
/// with the token's refusal instead if the token no longer holds
/// ([`super::error::render`]), so the answers are those of a [`Caller`]: a
/// revoked token is a 401, whatever else is wrong.
pub struct CheckLater {
    pub caller: Caller,
    /// `None` when the token was checked already (a direct key).
    pub unchecked: Option<Credential>,
}

/// The credential of a [`CheckLater`] request whose database check is still
/// to be made, in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Unchecked(pub Credential);

impl CheckLater {
    async fn from_request(req: HttpRequest) -> Result<Self, Error> {
        let service = service_of(&req)?;
        let token = bearer_token(&req)?;
        let surface = Surface::of(&req);
        let (credential, unchecked) = if is_direct_key(&surface, &token) {
            (service.authenticate_key(&token).await?, false)
        } else {
            (service.verify_token(&token)?, true)
        };
        if unchecked {
            req.extensions_mut().insert(Unchecked(credential));
        }
        let caller = Caller::of(&credential);
        caller.follows_rules(&req, &surface)?;
        Ok(Self { caller, unchecked: unchecked.then_some(credential) })
    }
}

impl FromRequest for CheckLater {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { CheckLater::from_request(req).await.map_err(actix_web::Error::from) })
    }
}

/// The one value of a header: `Ok(None)` when absent, `Err` when it is sent
/// more than once (which of two credentials counts is not a guess to make).
pub(crate) fn single_header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a HeaderValue>, ()> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// The account `X-Account-ID` names: exactly one header, a hyphenated UUID;
/// else 403 `ACCOUNT_MISMATCH` saying what the header must name (`what`).
pub fn header_account(req: &HttpRequest, what: &str) -> Result<AccountId, Error> {
    let mismatch = |why: &str| Error::new(ErrorKind::AccountMismatch, format!("The X-Account-ID header must name {what}")).developer(why);
    let value = single_header(req, ACCOUNT_HEADER)
        .map_err(|()| mismatch("Send exactly one X-Account-ID header"))?
        .ok_or_else(|| mismatch("The X-Account-ID header is missing"))?;
    value.to_str().ok().and_then(|v| v.trim().parse().ok()).ok_or_else(|| mismatch("The X-Account-ID header is not a UUID"))
}

/// A surface that names the account twice (token and header) needs them to agree.
fn check_account_header(req: &HttpRequest, token_account: AccountId) -> Result<(), Error> {
    if header_account(req, "the token's account")? != token_account {
        return Err(Error::new(ErrorKind::AccountMismatch, "The X-Account-ID header must name the token's account")
            .developer("The X-Account-ID header differs from the token's account"));
    }
    Ok(())
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Caller::from_request(req).await.map_err(actix_web::Error::from) })
    }
}
