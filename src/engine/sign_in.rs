//! Signing in and staying signed in: the checks behind every token (is its
//! key, session and user still good?), the grants that issue tokens (an API
//! key's client credentials, a password, a refresh token), and the lockout
//! after repeated password failures.
//!
//! Password checks themselves (Argon2, slow on purpose) run outside any
//! transaction, in the service; this module decides what their outcome
//! means and records it.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use crate::credentials::{self, hash_secret, secret_matches, REFRESH_PREFIX};
use crate::db::api_keys;
use crate::db::sessions::{self, Session};
use crate::db::users::{self, SignInState};
use crate::db::{accounts, Read, Write};
use crate::domain::{AccountId, ApiKeyId, Principal, SessionId, Username};
use crate::error::{Error, ErrorKind};
use crate::tokens::Credential;

/// How sign-in behaves (flags of `rollcall serve`).
#[derive(Debug, Clone, Copy)]
pub struct SignInPolicy {
    /// Consecutive password failures that lock a user.
    pub lockout_threshold: i32,
    /// How long such a lock lasts.
    pub lockout: Duration,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (from its last use).
    pub refresh_ttl: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self { lockout_threshold: 5, lockout: Duration::minutes(15), access_ttl: Duration::minutes(60), refresh_ttl: Duration::days(15) }
    }
}

/// A token to issue: what it carries and until when.
#[derive(Debug, Clone)]
pub struct Grant {
    pub credential: Credential,
    pub expires_at: NaiveDateTime,
    /// A refresh token (password and refresh grants only).
    pub refresh_token: Option<String>,
}

fn revoked(why: &str) -> Error {
    Error::unauthenticated(why)
}

/// The principal a signed token names, if its user, key and session still
/// allow it: the check every request makes, so a revocation bites at once on
/// every instance.
pub fn check_credential(tx: &mut Read, credential: &Credential, now: NaiveDateTime) -> Result<Principal, Error> {
    let mut verdicts = check_credentials(tx, std::slice::from_ref(credential), now)?;
    verdicts.pop().unwrap_or_else(|| Err(Error::internal("a credential check gave no verdict")))
}

/// [`check_credential`] for many credentials at once (the tokens of
/// concurrent requests), in three queries whatever their number: a verdict
/// each, in order.
pub fn check_credentials(tx: &mut Read, credentials: &[Credential], now: NaiveDateTime) -> Result<Vec<Result<Principal, Error>>, Error> {
    fn distinct<T: Copy + Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
        let mut items: Vec<T> = items.collect();
        items.sort_unstable();
        items.dedup();
        items
    }
    let users = distinct(credentials.iter().map(|c| c.principal.user));
    let keys = distinct(credentials.iter().filter_map(|c| c.key));
    let sessions = distinct(credentials.iter().filter_map(|c| c.session));
    let users: HashMap<_, _> = users::sign_in_states(tx, &users)?.into_iter().map(|u| (u.id, u)).collect();
    let keys: HashMap<_, _> =
        if keys.is_empty() { HashMap::new() } else { api_keys::get_many(tx, &keys)?.into_iter().map(|k| (k.id, k)).collect() };
    let sessions: HashMap<_, _> =
        if sessions.is_empty() { HashMap::new() } else { sessions::get_many(tx, &sessions)?.into_iter().map(|s| (s.id, s)).collect() };
    let verdict = |credential: &Credential| {
        let p = credential.principal;
        let Some(user) = users.get(&p.user).filter(|u| u.account_id == p.account) else {
            return Err(revoked("The token's user does not exist"));
        };
        if !user.may_act(now) {
            return Err(revoked("The token's user is deleted, suspended or locked"));
        }
        if i64::from(user.auth_epoch) != credential.epoch {
            return Err(revoked("The token was revoked"));
        }
        if let Some(key) = credential.key {
            match keys.get(&key) {
                Some(k) if k.user_id == p.user && k.account_id == p.account && k.is_usable(now) => {}
                _ => return Err(revoked("The token's API key was revoked or has expired")),
            }
        }
        if let Some(session) = credential.session {
            match sessions.get(&session) {
                Some(s) if s.user_id == p.user && s.revoked_at.is_none() => {}
                _ => return Err(revoked("The token's sign-in was ended")),
            }
        }
        Ok(p)
    };
    Ok(credentials.iter().map(verdict).collect())
}

/// The credential of an API key sent as it is as a bearer token: only a
/// usable `scim` key whose user may act. Every failure is the same 401.
pub fn check_direct_key(tx: &mut Read, secret: &str, now: NaiveDateTime) -> Result<Credential, Error> {
    let refused = || Error::unauthenticated("The bearer token is not a valid token or SCIM API key");
    let key = match crate::credentials::secret_id(crate::credentials::KEY_PREFIX, secret) {
        Some(id) => api_keys::get(tx, ApiKeyId::from(id))?,
        None => None,
    };
    // Hash either way, so an unknown id costs what a wrong secret costs.
    let matches = secret_matches(secret, key.as_ref().map_or("", |k| k.secret_hash.as_str()));
    let key = key
        .filter(|k| matches && k.is_usable(now) && super::api_keys::KeyPurpose::of(k) == super::api_keys::KeyPurpose::Scim)
        .ok_or_else(refused)?;
    let user = users::sign_in_state(tx, key.account_id, key.user_id)?.filter(|u| u.may_act(now)).ok_or_else(refused)?;
    let principal = Principal::new(key.user_id, key.account_id);
    Ok(Credential { principal, key: Some(key.id), session: None, epoch: user.auth_epoch.into() })
}

/// Wrong client credentials, whatever was wrong about them.
pub fn invalid_client() -> Error {
    Error::unauthenticated("The client id or secret is not valid, or the key was revoked or has expired")
}

/// Wrong password grant, whatever was wrong about it.
pub fn invalid_grant(why: &str) -> Error {
    Error::new(ErrorKind::InvalidGrant, why)
}

const WRONG_PASSWORD: &str = "The username or password is not correct, or the user may not sign in now";

/// A token for an API key presented with its secret. `scope` is the account
/// of the base path the request came in on, if any: a key of another account
/// is refused like a wrong secret.
pub fn grant_for_key(
    w: &mut Write,
    scope: Option<AccountId>,
    key_id: ApiKeyId,
    secret: &str,
    policy: &SignInPolicy,
    now: NaiveDateTime,
) -> Result<Grant, Error> {
    let key = api_keys::get(w, key_id)?;
    // Hash either way, so an unknown id costs what a wrong secret costs.
    let matches = secret_matches(secret, key.as_ref().map_or("", |k| k.secret_hash.as_str()));
    let Some(key) = key.filter(|k| matches && k.is_usable(now) && scope.is_none_or(|a| a == k.account_id)) else {
        return Err(invalid_client());
    };
    let user = users::sign_in_state(w, key.account_id, key.user_id)?.filter(|u| u.may_act(now)).ok_or_else(invalid_client)?;
    api_keys::touch(w, key.id, now)?;
    let expires_at = (now + policy.access_ttl).min(key.expires_at.unwrap_or(NaiveDateTime::MAX));
    let principal = Principal::new(key.user_id, key.account_id);
    Ok(Grant {
        credential: Credential { principal, key: Some(key.id), session: None, epoch: user.auth_epoch.into() },
        expires_at,
        refresh_token: None,
    })
}

/// The account a password sign-in looks its username up in: the base
/// path's, else the account created first.
pub fn password_account(tx: &mut Read, scope: Option<AccountId>) -> Result<Option<AccountId>, Error> {
    match scope {
        Some(account) => Ok(accounts::find_by_id(tx, account)?.map(|a| a.id)),
        None => Ok(accounts::default_account(tx)?.map(|a| a.id)),
    }
}

/// The user a password sign-in names (live users only), with their stored hash.
pub fn password_candidate(tx: &mut Read, account: Option<AccountId>, username: &str) -> Result<Option<SignInState>, Error> {
    let (Some(account), Ok(username)) = (account, Username::parse(username)) else { return Ok(None) };
    Ok(users::sign_in_state_by_username(tx, account, &username.key())?)
}

/// Records a password check's outcome and, when it succeeded and the user
/// may sign in, opens a session. Returns `Ok(Err(_))` for a refusal whose
/// record (the failure count, a lock) must still be committed.
pub fn finish_password_sign_in(
    w: &mut Write,
    candidate: Option<&SignInState>,
    password_matched: bool,
    offline: bool,
    policy: &SignInPolicy,
    now: NaiveDateTime,
) -> Result<Result<Grant, Error>, Error> {
    let Some(candidate) = candidate else {
        return Ok(Err(invalid_grant(WRONG_PASSWORD)));
    };
    // Read again inside the write: a suspension or lock since the check counts.
    let Some(user) = users::sign_in_state(w, candidate.account_id, candidate.id)? else {
        return Ok(Err(invalid_grant(WRONG_PASSWORD)));
    };
    if !password_matched {
        record_password_failure(w, &user, policy, now)?;
        return Ok(Err(invalid_grant(WRONG_PASSWORD)));
    }
    if !user.may_act(now) {
        return Ok(Err(invalid_grant(WRONG_PASSWORD)));
    }
    users::record_sign_in(w, user.id, now)?;
    let session = SessionId::new();
    let refresh = credentials::new_secret(REFRESH_PREFIX, session.uuid());
    sessions::insert(
        w,
        &Session {
            id: session,
            account_id: user.account_id,
            user_id: user.id,
            refresh_hash: hash_secret(&refresh),
            created_at: now,
            refreshed_at: now,
            expires_at: now + policy.refresh_ttl,
            revoked_at: None,
        },
    )?;
    let principal = Principal::new(user.id, user.account_id);
    Ok(Ok(Grant {
        credential: Credential { principal, key: None, session: Some(session), epoch: user.auth_epoch.into() },
        expires_at: now + policy.access_ttl,
        refresh_token: offline.then_some(refresh),
    }))
}

/// Counts a wrong password against the user, wherever one was checked (a
/// sign-in, the `existing` of a password change), so guessing through any
/// route meets the same lockout.
pub fn record_password_failure(w: &mut Write, user: &SignInState, policy: &SignInPolicy, now: NaiveDateTime) -> Result<(), Error> {
    if !user.is_locked(now) && user.deleted_at.is_none() {
        users::record_failed_sign_in(w, user.account_id, user.id, policy.lockout_threshold, now + policy.lockout)?;
    }
    Ok(())
}

/// A new access token (and a new refresh token in place of the one used) for
/// a refresh token. A refresh token used twice ends its session: one of the
/// two holders is not who it was issued to.
pub fn grant_for_refresh(
    w: &mut Write,
    scope: Option<AccountId>,
    refresh_token: &str,
    policy: &SignInPolicy,
    now: NaiveDateTime,
) -> Result<Result<Grant, Error>, Error> {
    let refused = || Ok(Err(invalid_grant("The refresh token is not valid, has expired or was revoked")));
    let Some(id) = credentials::secret_id(REFRESH_PREFIX, refresh_token) else { return refused() };
    let Some(session) = sessions::get(w, id.into())? else { return refused() };
    if scope.is_some_and(|a| a != session.account_id) || session.revoked_at.is_some() || session.expires_at <= now {
        return refused();
    }
    if !secret_matches(refresh_token, &session.refresh_hash) {
        sessions::revoke(w, session.id, now)?;
        return refused();
    }
    let Some(user) = users::sign_in_state(w, session.account_id, session.user_id)?.filter(|u| u.may_act(now)) else {
        return refused();
    };
    let next = credentials::new_secret(REFRESH_PREFIX, session.id.uuid());
    if !sessions::rotate(w, session.id, &session.refresh_hash, &hash_secret(&next), now, now + policy.refresh_ttl)? {
        return refused();
    }
    let principal = Principal::new(user.id, user.account_id);
    Ok(Ok(Grant {
        credential: Credential { principal, key: None, session: Some(session.id), epoch: user.auth_epoch.into() },
        expires_at: now + policy.access_ttl,
        refresh_token: Some(next),
    }))
}
