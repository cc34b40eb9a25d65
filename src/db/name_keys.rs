//! Keeps every stored name key computed by the current [`normalize_key`].
//!
//! Keys are computed by the server (SQL cannot compute NFKC_Casefold the same
//! way on both backends), so a database written under an older key function
//! — or before a key column existed — is re-keyed once, at start, after the
//! SQL migrations. Two rows that were distinct under the old keys may share
//! a new one (`Straße` and `STRASSE`): the row that holds the key already, or
//! else the oldest, keeps it; each other one gets a key no lookup can produce
//! (it is reachable by id, and by email where only its username collided)
//! and is reported, so that an operator renames it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{accounts, groups, users};
use super::{settings, Conn};
use crate::domain::normalize_key;
use crate::error::Error;
use crate::with_conn;

/// Names the key function; bump it when [`normalize_key`] changes.
pub const VERSION: &str = "nfkc-casefold/icu4x-2";
const SETTING: &str = "name_keys";

/// A row whose new key another row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub table: &'static str,
    pub field: &'static str,
    pub id: String,
    pub value: String,
    pub key: String,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} '{}' has the key '{}' of another row of its account; it keeps its {} but is found by id only until renamed",
            self.table, self.id, self.field, self.value, self.key, self.field
        )
    }
}

/// A key that no lookup produces (lookups refuse control characters).
fn parked(key: &str, id: &str) -> String {
    format!("{key}\u{1}{id}")
}

/// Re-keys the database unless it is keyed by [`VERSION`] already; returns the
/// collisions found. Run inside the migration lock.
pub fn ensure_current(conn: &mut Conn) -> Result<Vec<Collision>, Error> {
    if settings::get(conn, SETTING)?.as_deref() == Some(VERSION) {
        return Ok(Vec::new());
    }
    let collisions = conn.write(|conn| {
        let mut found = rekey_users(conn)?;
        found.extend(rekey_groups(conn)?);
        rekey_accounts(conn)?;
        settings::set(conn, SETTING, VERSION)?;
        Ok(found)
    })?;
    for c in &collisions {
        tracing::warn!("name keys: {c}");
    }
    Ok(collisions)
}

type UserRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

fn rekey_users(conn: &mut Conn) -> QueryResult<Vec<Collision>> {
    let mut changed = Vec::new();
    let mut after = String::new();
    loop {
        let q = users::table.filter(users::id.gt(after.clone())).order(users::id).limit(5000).select((
            users::id,
            users::account_id,
            users::email,
            users::email_key,
            users::username,
            users::username_key,
            users::first_name,
            users::first_name_key,
            users::last_name,
            users::last_name_key,
            users::created_at,
        ));
        let rows: Vec<UserRow> = with_conn!(conn, |c| q.load(c))?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (id, account, email, email_key, username, username_key, first, first_key, last_name, last_key, created) in rows {
            let keys = (
                normalize_key(&email),
                username.as_deref().map(normalize_key),
                first.as_deref().map(normalize_key),
                last_name.as_deref().map(normalize_key),
            );
            if (&keys.0, &keys.1, &keys.2, &keys.3) != (&email_key, &username_key, &first_key, &last_key) {
                changed.push((created, id, account, email, username, keys));
            }
        }
    }
    // Oldest first; park every changed unique key, then give each its new one.
    changed.sort();
    for (_, id, _, _, _, (email_key, username_key, _, _)) in &changed {
        let q = diesel::update(users::table.find(id))
            .set((users::email_key.eq(parked(email_key, id)), users::username_key.eq(username_key.as_deref().map(|k| parked(k, id)))));
        with_conn!(conn, |c| q.execute(c))?;
    }
    let mut collisions = Vec::new();
    for (_, id, account, email, username, (email_key, username_key, first_key, last_key)) in changed {
        let email_taken = user_email_taken(conn, &account, &email_key)?;
        let email_key = if email_taken {
            collisions.push(Collision { table: "users", field: "email", id: id.clone(), value: email, key: email_key.clone() });
            parked(&email_key, &id)
        } else {
            email_key
        };
        let username_key = match username_key {
            Some(key) if user_username_taken(conn, &account, &key)? => {
                collisions.push(Collision {
                    table: "users",
                    field: "username",
                    id: id.clone(),
                    value: username.unwrap_or_default(),
                    key: key.clone(),
                });
                Some(parked(&key, &id))
            }
            other => other,
        };
        let q = diesel::update(users::table.find(&id)).set((
            users::email_key.eq(email_key),
            users::username_key.eq(username_key),
            users::first_name_key.eq(first_key),
            users::last_name_key.eq(last_key),
        ));
        with_conn!(conn, |c| q.execute(c))?;
    }
    Ok(collisions)
}

fn rekey_groups(conn: &mut Conn) -> QueryResult<Vec<Collision>> {
    let q = groups::table.order((groups::created_at, groups::id)).select((groups::id, groups::account_id, groups::name, groups::name_key));
    let rows: Vec<(String, String, String, String)> = with_conn!(conn, |c| q.load(c))?;
    let changed: Vec<_> = rows
        .into_iter()
        .map(|(id, account, name, old)| (normalize_key(&name), id, account, name, old))
        .filter(|(new, .., old)| new != old)
        .collect();
    for (new, id, ..) in &changed {
        let q = diesel::update(groups::table.find(id)).set(groups::name_key.eq(parked(new, id)));
        with_conn!(conn, |c| q.execute(c))?;
    }
    let mut collisions = Vec::new();
    for (key, id, account, name, _) in changed {
        let key = if group_name_taken(conn, &account, &key)? {
            collisions.push(Collision { table: "groups", field: "name", id: id.clone(), value: name, key: key.clone() });
            parked(&key, &id)
        } else {
            key
        };
        let q = diesel::update(groups::table.find(&id)).set(groups::name_key.eq(key));
        with_conn!(conn, |c| q.execute(c))?;
    }
    Ok(collisions)
}

/// Account names are the operator's (`rollcall bootstrap`); a collision there
/// keeps the old key, which still finds the account by its exact spelling.
fn rekey_accounts(conn: &mut Conn) -> QueryResult<()> {
    let q = accounts::table.select((accounts::id, accounts::name, accounts::name_key));
    let rows: Vec<(String, String, String)> = with_conn!(conn, |c| q.load(c))?;
    for (id, name, old) in rows {
        let key = normalize_key(&name);
        if key != old && !account_name_taken(conn, &key)? {
            let q = diesel::update(accounts::table.find(&id)).set(accounts::name_key.eq(key));
            with_conn!(conn, |c| q.execute(c))?;
        }
    }
    Ok(())
}

fn user_email_taken(conn: &mut Conn, account: &str, key: &str) -> QueryResult<bool> {
    let q = users::table.filter(users::account_id.eq(account)).filter(users::email_key.eq(key)).select(users::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

fn user_username_taken(conn: &mut Conn, account: &str, key: &str) -> QueryResult<bool> {
    let q = users::table.filter(users::account_id.eq(account)).filter(users::username_key.eq(key)).select(users::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

fn group_name_taken(conn: &mut Conn, account: &str, key: &str) -> QueryResult<bool> {
    let q = groups::table.filter(groups::account_id.eq(account)).filter(groups::name_key.eq(key)).select(groups::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

fn account_name_taken(conn: &mut Conn, key: &str) -> QueryResult<bool> {
    let q = accounts::table.filter(accounts::name_key.eq(key)).select(accounts::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}
