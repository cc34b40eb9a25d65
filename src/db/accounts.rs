//! Accounts (tenants).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::accounts;
use super::{Conn, Write};
use crate::domain::{normalize_key, AccountId, Change};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
struct NewAccount<'a> {
    id: AccountId,
    name: &'a str,
    name_key: &'a str,
    created_at: NaiveDateTime,
}

pub fn insert(w: &mut Write, id: AccountId, name: &str, now: NaiveDateTime) -> QueryResult<()> {
    let key = normalize_key(name);
    let row = NewAccount { id, name, name_key: &key, created_at: now };
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(accounts::table).values(&row).execute(c))?;
    // The first account is the default one (kept if one is already recorded).
    super::settings::get_or_insert(w, DEFAULT_ACCOUNT_SETTING, &id.to_string())?;
    w.record(Change::AccountCreated { account: id });
    Ok(())
}

pub fn find_by_id(conn: &mut Conn, id: AccountId) -> QueryResult<Option<Account>> {
    let query = accounts::table.find(id);
    with_conn!(conn, |c| query.select(Account::as_select()).first(c).optional())
}

pub fn find_by_name(conn: &mut Conn, name: &str) -> QueryResult<Option<Account>> {
    let query = accounts::table.filter(accounts::name_key.eq(normalize_key(name)));
    with_conn!(conn, |c| query.select(Account::as_select()).first(c).optional())
}

pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    with_conn!(conn, |c| accounts::table.count().get_result(c))
}

/// The setting that names the account created first.
pub const DEFAULT_ACCOUNT_SETTING: &str = "default_account";

/// The account created first (the one a bare-root password sign-in uses).
pub fn default_account(conn: &mut Conn) -> QueryResult<Option<Account>> {
    match super::settings::get(conn, DEFAULT_ACCOUNT_SETTING)?.and_then(|id| id.parse::<AccountId>().ok()) {
        Some(id) => find_by_id(conn, id),
        None => Ok(None),
    }
}
