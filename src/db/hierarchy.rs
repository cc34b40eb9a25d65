//! Nested groups: the parent → child edges of an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::group_children;
use super::{Conn, Write};
use crate::domain::{AccountId, Change, GroupId};
use crate::with_conn;

/// Every (parent, child) edge of the account.
pub fn edges(conn: &mut Conn, account_id: AccountId) -> QueryResult<Vec<(GroupId, GroupId)>> {
    let q = group_children::table
        .filter(group_children::account_id.eq(account_id))
        .select((group_children::parent_id, group_children::child_id));
    with_conn!(conn, |c| q.load(c))
}

/// Whether the account nests any group at all (the common case is no).
pub fn any(conn: &mut Conn, account_id: AccountId) -> QueryResult<bool> {
    let q = group_children::table.filter(group_children::account_id.eq(account_id)).select(group_children::parent_id);
    Ok(with_conn!(conn, |c| q.first::<GroupId>(c).optional())?.is_some())
}

/// Adds the edges; existing ones are left as they are. Returns the children
/// whose edge is new (each recorded as a change).
pub fn add(
    w: &mut Write,
    account_id: AccountId,
    parent_id: GroupId,
    child_ids: &[GroupId],
    now: NaiveDateTime,
) -> QueryResult<Vec<GroupId>> {
    let rows: Vec<_> = child_ids
        .iter()
        .map(|child| {
            (
                group_children::account_id.eq(account_id),
                group_children::parent_id.eq(parent_id),
                group_children::child_id.eq(*child),
                group_children::created_at.eq(now),
            )
        })
        .collect();
    let conn: &mut Conn = w;
    let added: Vec<GroupId> = match conn {
        // SQLite writes are serial: the edges found just before are the
        // rows OR IGNORE will skip (diesel cannot return the rows it kept).
        Conn::Sqlite(c) => {
            let existing: Vec<GroupId> = group_children::table
                .filter(group_children::parent_id.eq(parent_id))
                .filter(group_children::child_id.eq_any(child_ids))
                .select(group_children::child_id)
                .load(&mut **c)?;
            diesel::insert_or_ignore_into(group_children::table).values(&rows).execute(&mut **c)?;
            child_ids.iter().copied().filter(|id| !existing.contains(id)).collect()
        }
        Conn::Postgres(c) => diesel::insert_into(group_children::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .returning(group_children::child_id)
            .get_results(&mut **c)?,
    };
    for child in &added {
        w.record(Change::GroupNested { account: account_id, parent: parent_id, child: *child });
    }
    Ok(added)
}

/// Removes one edge; returns whether it existed (recorded as a change).
pub fn remove(w: &mut Write, account_id: AccountId, parent_id: GroupId, child_id: GroupId) -> QueryResult<bool> {
    let q = diesel::delete(group_children::table.find((parent_id, child_id)));
    let conn: &mut Conn = w;
    let removed = with_conn!(conn, |c| q.execute(c))? > 0;
    if removed {
        w.record(Change::GroupUnnested { account: account_id, parent: parent_id, child: child_id });
    }
    Ok(removed)
}

/// Serializes changes to one account's hierarchy, so two concurrent nestings
/// cannot close a cycle together.
pub fn lock(conn: &mut Conn, account_id: AccountId) -> QueryResult<()> {
    super::lock_account(conn, "hierarchy", account_id)
}
