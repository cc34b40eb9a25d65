//! The [`Caller`] extractor: the principal a request's bearer token names,
//! checked against the rules of the surface that serves the request.

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};

use super::error::Surface;
use crate::domain::{AccountId, Principal};
use crate::error::{Error, ErrorKind};
use crate::tokens::TokenKeys;

pub const ACCOUNT_HEADER: &str = "X-Account-ID";

/// The authenticated principal of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

impl Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl Caller {
    fn from_request(req: &HttpRequest) -> Result<Self, Error> {
        let keys = req.app_data::<web::Data<TokenKeys>>().ok_or_else(|| Error::internal("token keys are not configured"))?;
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
        let principal = keys.verify(token)?;
        if Surface::of(req).account_header {
            check_account_header(req, principal.account)?;
        }
        Ok(Self(principal))
    }
}

/// The one value of a header: `Ok(None)` when absent, `Err` when it is sent
/// more than once (which of two credentials counts is not a guess to make).
fn single_header<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a HeaderValue>, ()> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// A surface that names the account twice (token and header) needs them to agree.
fn check_account_header(req: &HttpRequest, token_account: AccountId) -> Result<(), Error> {
    let mismatch =
        |why: &str| Error::new(ErrorKind::AccountMismatch, "The X-Account-ID header must name the token's account").developer(why);
    let value = single_header(req, ACCOUNT_HEADER)
        .map_err(|()| mismatch("Send exactly one X-Account-ID header"))?
        .ok_or_else(|| mismatch("The X-Account-ID header is missing"))?;
    let header_account = value
        .to_str()
        .ok()
        .and_then(|v| uuid::Uuid::try_parse(v.trim()).ok())
        .ok_or_else(|| mismatch("The X-Account-ID header is not a UUID"))?;
    if AccountId::from(header_account) != token_account {
        return Err(mismatch("The X-Account-ID header differs from the token's account"));
    }
    Ok(())
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Caller::from_request(req).map_err(actix_web::Error::from))
    }
}
