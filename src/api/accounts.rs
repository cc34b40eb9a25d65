//! The per-account base path `/accounts/{accountId}`: the management
//! surfaces and the token endpoint are also served under it, so a client
//! that cannot name an account any other way (the vendor's client signs in
//! with a username and password, or is configured with a `rootUrl` only)
//! works with one account. The spec declares it as a second server of those
//! paths, not as more paths.
//!
//! It is taken off the request before routing (the rest is routed as usual)
//! and kept as [`AccountPath`]; the token endpoint looks credentials up in
//! that account only, and a bearer token of another account is refused.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

use crate::domain::{parse_uuid, AccountId};

pub const BASE_PATH_PREFIX: &str = "/accounts/";
/// The server URL template in the spec.
pub const BASE_PATH_TEMPLATE: &str = "/accounts/{accountId}";

/// Paths served under the per-account base path too (the management surfaces
/// and the token endpoint).
pub const SERVED_UNDER_ACCOUNT: [&str; 3] =
    [crate::api::management::PREFIX, crate::api::management::LEGACY_PREFIX, crate::api::sign_in::TOKEN_PATH];

/// The account a request's base path named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPath(pub AccountId);

impl AccountPath {
    pub fn of(req: &HttpRequest) -> Option<AccountId> {
        req.extensions().get::<AccountPath>().map(|a| a.0)
    }
}

/// The account and the rest of the path, if `path` is under a base path and
/// the rest is one of [`SERVED_UNDER_ACCOUNT`] (decoded, as the router would).
fn split(path: &str) -> Option<(AccountId, &str)> {
    let rest = path.strip_prefix(BASE_PATH_PREFIX)?;
    let slash = rest.find('/')?;
    let (id, tail) = rest.split_at(slash);
    let account = parse_uuid(id)?;
    let decoded = percent_encoding::percent_decode_str(tail).decode_utf8().ok()?;
    let served = SERVED_UNDER_ACCOUNT.iter().any(|p| decoded == *p || decoded.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
    served.then_some((account.into(), tail))
}

/// Moves a request under `/accounts/{id}` to the path below it.
pub async fn base_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some((account, tail)) = split(req.path()) {
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_owned(),
        };
        if let Ok(uri) = Uri::builder().path_and_query(path_and_query).build() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
            req.extensions_mut().insert(AccountPath(account));
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_served_paths_move() {
        let id = "6254736c-70e1-43b0-b769-f8e0f6359862";
        let at = |p: &str| split(&format!("/accounts/{id}{p}")).map(|(a, t)| (a.to_string(), t.to_owned()));
        assert_eq!(at("/api/security/groups"), Some((id.to_owned(), "/api/security/groups".to_owned())));
        assert_eq!(at("/api/management/security/users/x"), Some((id.to_owned(), "/api/management/security/users/x".to_owned())));
        assert_eq!(at("/authenticate/connect/token"), Some((id.to_owned(), "/authenticate/connect/token".to_owned())));
        assert_eq!(at("/%61pi/security/groups").map(|(_, t)| t), Some("/%61pi/security/groups".to_owned()));
        assert_eq!(at("/v1/users"), None);
        assert_eq!(at("/api/securityx"), None);
        assert_eq!(at("/swagger-ui/"), None);
        assert_eq!(split("/accounts/not-a-uuid/api/security/groups"), None);
    }
}
