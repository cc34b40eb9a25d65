//! API keys: a user's client credentials. Only the secret's hash is stored.

use super::in_list::in_ids;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_keys;
use super::{Conn, Write};
use crate::domain::{AccountId, ApiKeyId, Change, UserId};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub name: String,
    pub secret_hash: String,
    /// The user who made it (the key's own user, or an administrator).
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// `general` (exchanged for tokens) or `scim` (also sent directly as the
    /// bearer token of the SCIM surface).
    pub purpose: String,
}

impl ApiKey {
    /// Whether the key may be used at `now`.
    pub fn is_usable(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

pub fn insert(w: &mut Write, key: &ApiKey) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(api_keys::table).values(key).execute(c))?;
    w.record(Change::ApiKeyCreated { account: key.account_id, user: key.user_id, key: key.id });
    Ok(())
}

/// A key by id, in any account (the caller checks the account).
pub fn get(conn: &mut Conn, id: ApiKeyId) -> QueryResult<Option<ApiKey>> {
    let query = api_keys::table.find(id);
    with_conn!(conn, |c| query.select(ApiKey::as_select()).first(c).optional())
}

/// Keys by id, in no order.
pub fn get_many(conn: &mut Conn, ids: &[ApiKeyId]) -> QueryResult<Vec<ApiKey>> {
    let query = api_keys::table.filter(in_ids(api_keys::id, ids));
    with_conn!(conn, |c| query.select(ApiKey::as_select()).load(c))
}

/// The keys of an account (of one user when given), newest first.
pub fn list(conn: &mut Conn, account: AccountId, user: Option<UserId>) -> QueryResult<Vec<ApiKey>> {
    let order = (api_keys::created_at.desc(), api_keys::id.asc());
    let of_account = api_keys::table.filter(api_keys::account_id.eq(account));
    match user {
        Some(user) => {
            let query = of_account.filter(api_keys::user_id.eq(user)).order(order);
            with_conn!(conn, |c| query.select(ApiKey::as_select()).load(c))
        }
        None => with_conn!(conn, |c| of_account.order(order).select(ApiKey::as_select()).load(c)),
    }
}

pub fn touch(w: &mut Write, id: ApiKeyId, at: NaiveDateTime) -> QueryResult<()> {
    let query = diesel::update(api_keys::table.find(id)).set(api_keys::last_used_at.eq(Some(at)));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| query.execute(c)).map(drop)
}

/// Revokes the key unless it already is; whether this call revoked it.
pub fn revoke(w: &mut Write, key: &ApiKey, at: NaiveDateTime) -> QueryResult<bool> {
    let query = diesel::update(api_keys::table.find(key.id).filter(api_keys::revoked_at.is_null())).set(api_keys::revoked_at.eq(Some(at)));
    let conn: &mut Conn = w;
    let changed = with_conn!(conn, |c| query.execute(c))? == 1;
    if changed {
        w.record(Change::ApiKeyRevoked { account: key.account_id, user: key.user_id, key: key.id });
    }
    Ok(changed)
}
