//! Nested groups: the parent → child edges of an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::group_children;
use super::Conn;
use crate::with_conn;

/// Every (parent, child) edge of the account.
pub fn edges(conn: &mut Conn, account_id: &str) -> QueryResult<Vec<(String, String)>> {
    let q = group_children::table
        .filter(group_children::account_id.eq(account_id))
        .select((group_children::parent_id, group_children::child_id));
    with_conn!(conn, |c| q.load(c))
}

/// Whether the account nests any group at all (the common case is no).
pub fn any(conn: &mut Conn, account_id: &str) -> QueryResult<bool> {
    let q = group_children::table.filter(group_children::account_id.eq(account_id)).select(group_children::parent_id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

/// Adds the edges; existing ones are left as they are. Returns how many are new.
pub fn add(conn: &mut Conn, account_id: &str, parent_id: &str, child_ids: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    let rows: Vec<_> = child_ids
        .iter()
        .map(|child| {
            (
                group_children::account_id.eq(account_id),
                group_children::parent_id.eq(parent_id),
                group_children::child_id.eq(child),
                group_children::created_at.eq(now),
            )
        })
        .collect();
    Ok(match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(group_children::table).values(&rows).execute(&mut **c)?,
        Conn::Postgres(c) => diesel::insert_into(group_children::table).values(&rows).on_conflict_do_nothing().execute(&mut **c)?,
    })
}

/// Removes one edge; returns whether it existed.
pub fn remove(conn: &mut Conn, parent_id: &str, child_id: &str) -> QueryResult<bool> {
    let q = diesel::delete(group_children::table.find((parent_id, child_id)));
    Ok(with_conn!(conn, |c| q.execute(c))? > 0)
}

/// Serializes changes to one account's hierarchy, so two concurrent nestings
/// cannot close a cycle together.
pub fn lock(conn: &mut Conn, account_id: &str) -> QueryResult<()> {
    super::lock_account(conn, "hierarchy", account_id)
}
