//! API keys: made for oneself, or by an administrator for any user of the
//! account (a service user is a user without a password); listed without
//! their secrets; revoked.

use chrono::NaiveDateTime;

use super::access::require_admin;
use super::users::find_user;
use crate::credentials::{self, hash_secret, KEY_PREFIX};
use crate::db::api_keys::{self, ApiKey};
use crate::db::{Read, Write};
use crate::domain::{check_plain_text, AccountId, ApiKeyId, Principal, UserId, UserIdentifier};
use crate::error::{Error, ErrorKind};

/// A key as made: the row, and its secret (shown this once).
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

pub const KEY_NAME_MAX: usize = 100;
pub const DEFAULT_KEY_NAME: &str = "API key";

/// What a key is for. Every key can be exchanged for tokens at the token
/// endpoints; a `scim` key is also accepted as it is, as the bearer token of
/// the SCIM surface (identity providers hold one static secret), and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyPurpose {
    #[default]
    General,
    Scim,
}

impl KeyPurpose {
    pub const NAMES: [&'static str; 2] = ["general", "scim"];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::General => "general",
            KeyPurpose::Scim => "scim",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "general" => Ok(KeyPurpose::General),
            "scim" => Ok(KeyPurpose::Scim),
            _ => Err(Error::validation("purpose must be 'general' or 'scim'").detail("field", "purpose".into())),
        }
    }

    /// The purpose a stored key was made for (an unknown name grants no direct use).
    pub fn of(key: &ApiKey) -> Self {
        if key.purpose == "scim" {
            KeyPurpose::Scim
        } else {
            KeyPurpose::General
        }
    }
}

/// A key as asked for, already parsed.
#[derive(Debug, Clone)]
pub struct KeyDraft {
    /// Whose key; `None` is the caller.
    pub user: Option<UserIdentifier>,
    pub name: String,
    pub expires_at: Option<NaiveDateTime>,
    pub purpose: KeyPurpose,
}

impl KeyDraft {
    pub fn parse(
        user: Option<UserIdentifier>,
        name: Option<&str>,
        expires_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<Self, Error> {
        let name = name.unwrap_or(DEFAULT_KEY_NAME);
        check_plain_text("name", name)?;
        if name.trim().is_empty() || name.chars().count() > KEY_NAME_MAX {
            return Err(
                Error::validation(format!("The name must have 1 to {KEY_NAME_MAX} visible characters")).detail("field", "name".into())
            );
        }
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::validation("expires_at must be in the future").detail("field", "expires_at".into()));
        }
        Ok(Self { user, name: name.to_owned(), expires_at, purpose: KeyPurpose::General })
    }
}

fn key_not_found() -> Error {
    Error::new(ErrorKind::ApiKeyNotFound, "API key not found")
}

/// Whose key the caller names: themself, or (administrators only) anyone.
fn owner(tx: &mut Read, principal: &Principal, user: Option<&UserIdentifier>) -> Result<UserId, Error> {
    match user {
        None => Ok(principal.user),
        Some(UserIdentifier::Id(id)) if *id == principal.user => Ok(principal.user),
        Some(ident) => {
            require_admin(tx, principal)?;
            Ok(find_user(tx, principal.account, ident, false)?.id)
        }
    }
}

pub fn create(w: &mut Write, principal: &Principal, draft: &KeyDraft, now: NaiveDateTime) -> Result<NewApiKey, Error> {
    let user = owner(w, principal, draft.user.as_ref())?;
    let id = ApiKeyId::new();
    let secret = credentials::new_secret(KEY_PREFIX, id.uuid());
    let key = ApiKey {
        id,
        account_id: principal.account,
        user_id: user,
        name: draft.name.clone(),
        secret_hash: hash_secret(&secret),
        created_by: principal.user,
        created_at: now,
        expires_at: draft.expires_at,
        last_used_at: None,
        revoked_at: None,
        purpose: draft.purpose.as_str().to_owned(),
    };
    api_keys::insert(w, &key)?;
    Ok(NewApiKey { key, secret })
}

/// The caller's keys; an administrator's listing has every key of the
/// account (or of the user named).
pub fn list(tx: &mut Read, principal: &Principal, user: Option<&UserIdentifier>) -> Result<Vec<ApiKey>, Error> {
    match user {
        None if super::access::holds(tx, principal, None)? => Ok(api_keys::list(tx, principal.account, None)?),
        other => {
            let user = owner(tx, principal, other)?;
            Ok(api_keys::list(tx, principal.account, Some(user))?)
        }
    }
}

/// Revokes a key of the caller's, or (administrators) any key of the
/// account; another's key is as unknown to a non-administrator as a missing one.
pub fn revoke(w: &mut Write, principal: &Principal, id: ApiKeyId, now: NaiveDateTime) -> Result<ApiKey, Error> {
    let mine_or_admin = |w: &mut Write, key: &ApiKey| Ok(key.user_id == principal.user || super::access::holds(w, principal, None)?);
    revoke_in_account(w, principal.account, id, mine_or_admin, now)
}

/// Revokes a key of the account that `allowed` lets go (the operator's
/// command line allows any), answering it as revoked; a key `allowed`
/// refuses is as unknown as a missing one.
pub fn revoke_in_account(
    w: &mut Write,
    account: AccountId,
    id: ApiKeyId,
    allowed: impl Fn(&mut Write, &ApiKey) -> Result<bool, Error>,
    now: NaiveDateTime,
) -> Result<ApiKey, Error> {
    let mut key = api_keys::get(w, id)?.filter(|k| k.account_id == account).ok_or_else(key_not_found)?;
    if !allowed(w, &key)? {
        return Err(key_not_found());
    }
    api_keys::revoke(w, &key, now)?;
    key.revoked_at.get_or_insert(now);
    Ok(key)
}
