//! Who is in which group, and what that allows.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_permissions, groups, memberships, users};
use super::{Conn, Write};
use crate::domain::{AccountId, Change, GroupId, UserId};
use crate::with_conn;

/// Adds the users to the group; existing memberships are left as they are.
/// Returns the users whose membership is new (each recorded as a change).
pub fn add(w: &mut Write, account: AccountId, group_id: GroupId, user_ids: &[UserId], now: NaiveDateTime) -> QueryResult<Vec<UserId>> {
    let pairs: Vec<(GroupId, UserId)> = user_ids.iter().map(|u| (group_id, *u)).collect();
    let added: Vec<UserId> = insert(w, pairs, now)?.into_iter().map(|(_, u)| u).collect();
    for user in &added {
        w.record(Change::MembershipAdded { account, group: group_id, user: *user });
    }
    Ok(added)
}

/// Writes memberships of any groups (the single adds of a batch, checked
/// already); returns the pairs that are new. Records no change: the batch
/// attributes each new pair to the add that asked first.
pub fn add_pairs(conn: &mut Conn, pairs: Vec<(GroupId, UserId)>, now: NaiveDateTime) -> QueryResult<HashSet<(GroupId, UserId)>> {
    Ok(insert(conn, pairs, now)?.into_iter().collect())
}

/// Inserts the memberships that do not exist yet, in one global order
/// (which keeps overlapping concurrent writers from deadlocking on each
/// other's uncommitted rows on PostgreSQL); returns exactly the new ones.
fn insert(conn: &mut Conn, mut sorted: Vec<(GroupId, UserId)>, now: NaiveDateTime) -> QueryResult<Vec<(GroupId, UserId)>> {
    sorted.sort_unstable();
    sorted.dedup();
    let mut added = Vec::new();
    // 3 bound values a row on SQLite, which allows 32,766 a statement.
    for chunk in sorted.chunks(8_192) {
        let (groups, users): (Vec<GroupId>, Vec<UserId>) = chunk.iter().copied().unzip();
        let q = InsertPairs { groups, users, now };
        added.extend(with_conn!(conn, |c| q.get_results::<(GroupId, UserId)>(c))?);
    }
    Ok(added)
}

/// The rows of [`insert`] in one statement that skips the rows present and
/// returns the rows it wrote, written so that the connection keeps it
/// prepared (diesel prepares a multi-row insert anew for each row count):
/// - PostgreSQL: `INSERT … SELECT … FROM unnest($2, $3) WITH ORDINALITY …
///   ON CONFLICT DO NOTHING RETURNING …`, one text for any number of rows,
///   with two array parameters;
/// - SQLite: `INSERT OR IGNORE … VALUES … RETURNING …` with the rows padded
///   to a power of two by repeating the last ([`super::in_list::padded`]): a
///   repeated row is a conflict, skipped and not returned, so a few texts
///   cover every batch. `OR IGNORE` skips only the primary key's conflict
///   here: it never ignores a foreign-key failure.
struct InsertPairs {
    groups: Vec<GroupId>,
    users: Vec<UserId>,
    now: NaiveDateTime,
}

impl diesel::query_builder::QueryId for InsertPairs {
    type QueryId = ();
    // Cached by its text (on SQLite, one per padded length).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertPairs {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Text, Timestamp};
        out.push_sql("INSERT INTO memberships (group_id, user_id, created_at) SELECT p.g, p.u, ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.groups)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.users)?;
        // In the arrays' (sorted) order.
        out.push_sql(") WITH ORDINALITY AS p (g, u, i) ORDER BY p.i ON CONFLICT DO NOTHING RETURNING group_id, user_id");
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for InsertPairs {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        use diesel::sql_types::{Text, Timestamp};
        let (Some(last_group), Some(last_user)) = (self.groups.last(), self.users.last()) else {
            return Err(diesel::result::Error::QueryBuilderError("no memberships to insert".into()));
        };
        if self.groups.len() > super::in_list::CACHED_UP_TO {
            out.unsafe_to_cache_prepared();
        }
        let rows = super::in_list::padded(self.groups.len());
        out.push_sql("INSERT OR IGNORE INTO memberships (group_id, user_id, created_at) VALUES ");
        for i in 0..rows {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, _>(self.groups.get(i).unwrap_or(last_group))?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(self.users.get(i).unwrap_or(last_user))?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(")");
        }
        out.push_sql(" RETURNING group_id, user_id");
        Ok(())
    }
}

impl diesel::query_builder::Query for InsertPairs {
    type SqlType = (diesel::sql_types::Text, diesel::sql_types::Text);
}

impl<C: diesel::Connection> RunQueryDsl<C> for InsertPairs {}

/// The users of a group's first `limit` memberships after the `after` id,
/// in id order (keyset paging on the primary key; deleted users included:
/// the caller leaves them out, and a page of fewer than `limit` rows is the
/// last), each handed to `f` as its row arrives. One statement: the users'
/// own id range is bound too, so that PostgreSQL can merge the group's
/// memberships with the users' primary key, both read in order from the
/// cursor, instead of probing the users one id at a time (3.0 against 5.4 ms
/// for a page of 1,000 in `psql`).
pub fn member_users<T>(
    conn: &mut Conn,
    group_id: GroupId,
    after: Option<UserId>,
    limit: i64,
    f: &mut dyn FnMut(super::users::User) -> T,
) -> QueryResult<Vec<T>> {
    // Every id sorts after the empty string, so "no cursor" needs no second query shape.
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let query = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::group_id.eq(group_id))
        .filter(memberships::user_id.gt(after.clone()))
        .filter(users::id.gt(after))
        .order(memberships::user_id.asc())
        .limit(limit);
    with_conn!(conn, |c| super::rows::load_map(query.clone().select(super::users::User::as_select()), c, f))
}

/// Every member id of a group (for the changes a group delete cascades to).
pub fn all_member_ids(conn: &mut Conn, group_id: GroupId) -> QueryResult<Vec<UserId>> {
    let query =
        memberships::table.filter(memberships::group_id.eq(group_id)).order(memberships::user_id.asc()).select(memberships::user_id);
    with_conn!(conn, |c| query.load(c))
}

/// Live members of a group, from its counter rows (not a count over its
/// memberships).
pub fn count_members(conn: &mut Conn, group_id: GroupId) -> QueryResult<i64> {
    Ok(counted(conn, group_id)?.total)
}

/// A group's live members, counted, and the version of who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub total: i64,
    /// Changes (to a new random value) with every change of the group's
    /// members, in the same transaction (migration 000011).
    pub version: i64,
}

/// The group's [`Counted`], from its counter rows in one statement.
pub fn counted(conn: &mut Conn, group_id: GroupId) -> QueryResult<Counted> {
    use super::schema::member_counts;
    use diesel::sql_types::BigInt;
    // Deleting a user deletes their memberships: each is of a live user.
    let q = member_counts::table.filter(member_counts::group_id.eq(group_id)).select((
        diesel::dsl::sql::<BigInt>("CAST(coalesce(sum(n), 0) AS BIGINT)"),
        diesel::dsl::sql::<BigInt>("CAST(coalesce(sum(version), 0) AS BIGINT)"),
    ));
    let (total, version) = with_conn!(conn, |c| q.get_result::<(i64, i64)>(c))?;
    Ok(Counted { total, version })
}

/// Whether the live user belongs, in this account, to the built-in
/// administrators group or to a group granted `permission`. One query.
pub fn has_permission(conn: &mut Conn, account: AccountId, user: UserId, permission: &str) -> QueryResult<bool> {
    let granted = group_permissions::table
        .on(group_permissions::group_id.eq(memberships::group_id).and(group_permissions::permission.eq(permission)));
    let query = memberships::table
        .inner_join(groups::table)
        .inner_join(users::table)
        .left_join(granted)
        .filter(memberships::user_id.eq(user))
        .filter(groups::account_id.eq(account))
        .filter(users::deleted_at.is_null())
        .filter(groups::is_system.eq(true).or(group_permissions::permission.is_not_null()))
        .select(memberships::group_id);
    with_conn!(conn, |c| query.first::<GroupId>(c).optional()).map(|found| found.is_some())
}

/// Removes the users from the group; returns those who were members (each
/// recorded as a change).
pub fn remove(w: &mut Write, account: AccountId, group_id: GroupId, user_ids: &[UserId]) -> QueryResult<Vec<UserId>> {
    let q = diesel::delete(memberships::table.filter(memberships::group_id.eq(group_id)).filter(memberships::user_id.eq_any(user_ids)))
        .returning(memberships::user_id);
    let conn: &mut Conn = w;
    let removed: Vec<UserId> = with_conn!(conn, |c| q.get_results(c))?;
    for user in &removed {
        w.record(Change::MembershipRemoved { account, group: group_id, user: *user });
    }
    Ok(removed)
}

/// The groups the user belongs to directly (ids).
pub fn groups_of(conn: &mut Conn, user: UserId) -> QueryResult<Vec<GroupId>> {
    let q = memberships::table.filter(memberships::user_id.eq(user)).select(memberships::group_id);
    with_conn!(conn, |c| q.load(c))
}

/// [`groups_of`] a live user of the account: none when the user is
/// deleted, of another account or unknown. One statement where a read of
/// the user and then of the memberships took two.
pub fn groups_of_live_user(conn: &mut Conn, account: AccountId, user: UserId) -> QueryResult<Vec<GroupId>> {
    // The user's row is probed once (a one-time condition), not once a
    // membership as a join would.
    let live = users::table.filter(users::id.eq(user)).filter(users::account_id.eq(account)).filter(users::deleted_at.is_null());
    let q = memberships::table.filter(memberships::user_id.eq(user)).filter(diesel::dsl::exists(live)).select(memberships::group_id);
    with_conn!(conn, |c| q.load(c))
}
