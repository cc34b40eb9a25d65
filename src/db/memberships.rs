//! Who is in which group, and what that allows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_permissions, groups, memberships, users};
use super::Conn;
use crate::with_conn;

#[derive(Insertable)]
#[diesel(table_name = memberships)]
struct NewMembership<'a> {
    group_id: &'a str,
    user_id: &'a str,
    created_at: NaiveDateTime,
}

/// Adds the users to the group; existing memberships are left as they are.
/// Returns how many memberships are new.
pub fn add(conn: &mut Conn, group_id: &str, user_ids: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    // Inserting in one global order keeps overlapping concurrent bulks from
    // deadlocking on each other's uncommitted rows (PostgreSQL).
    let mut sorted: Vec<&String> = user_ids.iter().collect();
    sorted.sort_unstable();
    let rows: Vec<NewMembership> = sorted.into_iter().map(|user_id| NewMembership { group_id, user_id, created_at: now }).collect();
    let mut added = 0;
    // 3 bound values a row; SQLite allows 32,766 per statement.
    for chunk in rows.chunks(10_000) {
        added += match conn {
            // diesel cannot put ON CONFLICT on a multi-row SQLite insert; OR
            // IGNORE is the same here (it never ignores foreign-key failures).
            Conn::Sqlite(c) => diesel::insert_or_ignore_into(memberships::table).values(chunk).execute(&mut **c)?,
            Conn::Postgres(c) => diesel::insert_into(memberships::table).values(chunk).on_conflict_do_nothing().execute(&mut **c)?,
        };
    }
    Ok(added)
}

/// Member ids of a group in id order, after the `after` id (keyset paging
/// on the primary key; deleted users included — see [`super::users::live_by_ids`]).
pub fn member_ids(conn: &mut Conn, group_id: &str, after: Option<&str>, limit: i64) -> QueryResult<Vec<String>> {
    // Every id sorts after the empty string, so "no cursor" needs no second query shape.
    let query = memberships::table
        .filter(memberships::group_id.eq(group_id))
        .filter(memberships::user_id.gt(after.unwrap_or("")))
        .order(memberships::user_id.asc())
        .limit(limit)
        .select(memberships::user_id);
    with_conn!(conn, |c| query.load(c))
}

/// Live members of a group: every membership (an index-only count on the
/// primary key) less those of deleted users (few: each is probed on the
/// primary key).
pub fn count_members(conn: &mut Conn, group_id: &str) -> QueryResult<i64> {
    let all = memberships::table.filter(memberships::group_id.eq(group_id)).count();
    let all: i64 = with_conn!(conn, |c| all.get_result(c))?;
    let deleted_users = users::table.filter(users::deleted_at.is_not_null()).select(users::id);
    let deleted = memberships::table.filter(memberships::group_id.eq(group_id)).filter(memberships::user_id.eq_any(deleted_users)).count();
    let deleted: i64 = with_conn!(conn, |c| deleted.get_result(c))?;
    Ok(all - deleted)
}

/// Whether the live user belongs, in this account, to the built-in
/// administrators group or to a group granted `permission`. One query.
pub fn has_permission(conn: &mut Conn, account_id: &str, user_id: &str, permission: &str) -> QueryResult<bool> {
    let granted = group_permissions::table
        .on(group_permissions::group_id.eq(memberships::group_id).and(group_permissions::permission.eq(permission)));
    let query = memberships::table
        .inner_join(groups::table)
        .inner_join(users::table)
        .left_join(granted)
        .filter(memberships::user_id.eq(user_id))
        .filter(groups::account_id.eq(account_id))
        .filter(users::deleted_at.is_null())
        .filter(groups::is_system.eq(true).or(group_permissions::permission.is_not_null()))
        .select(memberships::group_id);
    with_conn!(conn, |c| query.first::<String>(c).optional()).map(|found| found.is_some())
}

/// Removes the users from the group; returns how many were members.
pub fn remove(conn: &mut Conn, group_id: &str, user_ids: &[String]) -> QueryResult<usize> {
    let q = diesel::delete(memberships::table.filter(memberships::group_id.eq(group_id)).filter(memberships::user_id.eq_any(user_ids)));
    with_conn!(conn, |c| q.execute(c))
}

/// The groups the user belongs to directly (ids).
pub fn groups_of(conn: &mut Conn, user_id: &str) -> QueryResult<Vec<String>> {
    let q = memberships::table.filter(memberships::user_id.eq(user_id)).select(memberships::group_id);
    with_conn!(conn, |c| q.load(c))
}

/// Whether the user belongs directly to any of the groups.
pub fn is_member_of_any(conn: &mut Conn, user_id: &str, group_ids: &[String]) -> QueryResult<bool> {
    let q = memberships::table
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::group_id.eq_any(group_ids))
        .select(memberships::group_id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

/// Which of the groups are the system group or granted `permission` (ids).
pub fn granting(conn: &mut Conn, group_ids: &[String], permission: &str) -> QueryResult<bool> {
    let granted = group_permissions::table.on(group_permissions::group_id.eq(groups::id).and(group_permissions::permission.eq(permission)));
    let q = groups::table
        .left_join(granted)
        .filter(groups::id.eq_any(group_ids))
        .filter(groups::is_system.eq(true).or(group_permissions::permission.is_not_null()))
        .select(groups::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}
