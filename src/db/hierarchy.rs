//! Nested groups: the parent → child edges of an account.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::graph::{self, Graph};
use super::schema::{group_children, groups, hierarchy_versions, memberships, users};
use super::{Conn, Write};
use crate::domain::{AccountId, Change, GroupId, Permission, UserId};
use crate::error::Error;
use crate::with_conn;

/// The account's hierarchy version (none: it never nested a group).
fn version_of(conn: &mut Conn, account_id: AccountId) -> QueryResult<Option<String>> {
    let q = hierarchy_versions::table.find(account_id).select(hierarchy_versions::version);
    with_conn!(conn, |c| q.first::<String>(c).optional())
}

/// The account's whole hierarchy, as of `version`.
fn load(conn: &mut Conn, account_id: AccountId, version: String) -> Result<Graph, Error> {
    let edges_q = group_children::table
        .filter(group_children::account_id.eq(account_id))
        .select((group_children::parent_id, group_children::child_id));
    let edges: Vec<(GroupId, GroupId)> = with_conn!(conn, |c| edges_q.load(c))?;
    let grants = super::groups::permissions_in(conn, account_id)?;
    let system = super::groups::find_system(conn, account_id)?.map(|g| g.id);
    // Every group's key, kept for the nested ones: one walk of the account's
    // index (a probe of the edges for each group took 4 times as long).
    let names = groups::table.filter(groups::account_id.eq(account_id)).select((groups::id, groups::name_key));
    let keys: Vec<(GroupId, String)> = with_conn!(conn, |c| names.load(c))?;
    Ok(Graph::build(version, &edges, &grants, &keys, system))
}

/// The account's hierarchy in memory when a current copy is at hand or can
/// be loaded now (see [`graph`]); `None`: walk the database instead. One
/// primary-key read when the copy is current.
fn in_memory(conn: &mut Conn, account_id: AccountId) -> Result<Option<Arc<Graph>>, Error> {
    let version = version_of(conn, account_id)?;
    at_version(conn, account_id, version)
}

/// [`in_memory`] with the account's version already read.
fn at_version(conn: &mut Conn, account_id: AccountId, version: Option<String>) -> Result<Option<Arc<Graph>>, Error> {
    let Some(version) = version else {
        return Ok(Some(Arc::new(Graph::build(String::new(), &[], &[], &[], None))));
    };
    // Still at the version once loaded (versions never come back): no
    // change committed in between.
    graph::current_or_load(
        account_id,
        &version,
        conn,
        |conn| load(conn, account_id, version.clone()),
        |conn| Ok(version_of(conn, account_id)?.as_deref() == Some(version.as_str())),
    )
}

/// Whether the user is a member of the group, directly or through nesting.
/// One statement answers a direct member and reads the account's version
/// with it; otherwise the walk goes up from the user's groups (a few), not
/// down the group's subtree (possibly the whole account).
pub fn is_member(conn: &mut Conn, account_id: AccountId, group: GroupId, user: UserId) -> Result<bool, Error> {
    let q = diesel::select((
        diesel::dsl::exists(memberships::table.find((group, user))),
        hierarchy_versions::table.find(account_id).select(hierarchy_versions::version).single_value(),
    ));
    let (direct, version): (bool, Option<String>) = with_conn!(conn, |c| q.get_result(c))?;
    if direct {
        return Ok(true);
    }
    if version.is_none() {
        // The account never nested a group.
        return Ok(false);
    }
    let mine = super::memberships::groups_of(conn, user)?;
    if mine.is_empty() {
        return Ok(false);
    }
    match at_version(conn, account_id, version)? {
        Some(g) => Ok(g.ancestors(&mine).contains(&group)),
        None => Ok(ancestors_in_database(conn, account_id, &mine)?.contains(&group)),
    }
}

/// A group id as a row of a raw query.
#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: GroupId,
}

/// Runs one recursive query over the edges, written with `$n` placeholders
/// and `LIST($n)` for "the ids of the JSON array bound as `$n`" (one value
/// however long the list: SQLite caps the number of bound values), with
/// `binds` (text, in order).
fn walk(conn: &mut Conn, sql: &str, binds: &[String]) -> QueryResult<Vec<GroupId>> {
    let sqlite = matches!(conn, Conn::Sqlite(_));
    let mut text = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find("LIST($") {
        text.push_str(&rest[..at]);
        let after = &rest[at + "LIST($".len()..];
        let end = after.find(')').expect("LIST($n) is closed");
        let n = &after[..end];
        if sqlite {
            text.push_str(&format!("SELECT value FROM json_each(${n})"));
        } else {
            text.push_str(&format!("SELECT jsonb_array_elements_text(CAST(${n} AS jsonb))"));
        }
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    if sqlite {
        // SQLite's numbered placeholders are `?n`.
        text = text.replace('$', "?");
    }
    let rows: Vec<Id> = with_conn!(conn, |c| {
        let mut q = diesel::sql_query(text.as_str()).into_boxed();
        for b in binds {
            q = q.bind::<Text, _>(b.as_str());
        }
        q.load(c)
    })?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The recursive step of a walk: for each row of the walk so far (`walk`,
/// column `id`), the edges whose `matching` column is that id, giving their
/// `out` column (as `g.<out>`). Edges only join groups of one account, so
/// the step needs no account filter (the starting rows have it). On
/// PostgreSQL a lateral subquery, so that each step probes the index for the
/// rows of the walk: its planner otherwise hashes every edge of the table
/// at every level (440 ms instead of 5 for 2,500 groups above a user).
fn step(sqlite: bool, walk: &str, matching: &str, out: &str) -> String {
    if sqlite {
        format!("SELECT g.{out} FROM group_children g JOIN {walk} ON g.{matching} = {walk}.id")
    } else {
        format!("SELECT g.{out} FROM {walk} CROSS JOIN LATERAL (SELECT {out} FROM group_children WHERE {matching} = {walk}.id OFFSET 0) g")
    }
}

fn json_list(ids: &[GroupId]) -> String {
    serde_json::to_string(&ids.iter().map(|g| g.to_string()).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

/// Every group above any of `starts`, at any depth (the starts themselves
/// only when one is above another): in memory, or one recursive query, a
/// walk up the `child_id` index from the starts, however big the rest of the
/// account's hierarchy is.
pub fn ancestors(conn: &mut Conn, account_id: AccountId, starts: &[GroupId]) -> Result<Vec<GroupId>, Error> {
    Snapshot::new(account_id).ancestors(conn, starts)
}

/// An account's hierarchy as several questions of one transaction see it:
/// the account's version is read once, at the first question that needs it
/// (a check of a batch of adds read it for the callers' groups, again for
/// the groups added to and, in an account that nests groups, once more for
/// each of those).
pub struct Snapshot {
    account_id: AccountId,
    /// Read once; `Some(None)`: no copy in memory, walk the database.
    graph: Option<Option<Arc<Graph>>>,
}

impl Snapshot {
    pub fn new(account_id: AccountId) -> Snapshot {
        Snapshot { account_id, graph: None }
    }

    pub fn account(&self) -> AccountId {
        self.account_id
    }

    fn graph(&mut self, conn: &mut Conn) -> Result<Option<Arc<Graph>>, Error> {
        if self.graph.is_none() {
            self.graph = Some(in_memory(conn, self.account_id)?);
        }
        Ok(self.graph.clone().flatten())
    }

    /// [`ancestors`].
    pub fn ancestors(&mut self, conn: &mut Conn, starts: &[GroupId]) -> Result<Vec<GroupId>, Error> {
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        match self.graph(conn)? {
            Some(g) => Ok(g.ancestors(starts)),
            None => Ok(ancestors_in_database(conn, self.account_id, starts)?),
        }
    }

    /// [`any`].
    pub fn any(&mut self, conn: &mut Conn) -> Result<bool, Error> {
        if let Some(g) = self.graph(conn)? {
            return Ok(g.edges() > 0);
        }
        let q = group_children::table.filter(group_children::account_id.eq(self.account_id)).select(group_children::parent_id);
        Ok(with_conn!(conn, |c| q.first::<GroupId>(c).optional())?.is_some())
    }
}

/// [`ancestors`] as one recursive query.
pub fn ancestors_in_database(conn: &mut Conn, account_id: AccountId, starts: &[GroupId]) -> QueryResult<Vec<GroupId>> {
    if starts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH RECURSIVE up(id) AS ( \
             SELECT parent_id FROM group_children WHERE account_id = $1 AND child_id IN (LIST($2)) \
             UNION {} \
         ) SELECT id FROM up",
        step(matches!(conn, Conn::Sqlite(_)), "up", "child_id", "parent_id")
    );
    walk(conn, &sql, &[account_id.to_string(), json_list(starts)])
}

/// Every group below `group`, at any depth, not descending into `excluded`
/// (in memory, or a walk down the primary key from the group).
pub fn descendants(conn: &mut Conn, account_id: AccountId, group: GroupId, excluded: &[GroupId]) -> Result<Vec<GroupId>, Error> {
    match in_memory(conn, account_id)? {
        Some(g) => Ok(g.descendants(group, excluded)),
        None => Ok(descendants_in_database(conn, account_id, group, excluded)?),
    }
}

/// [`descendants`] as one recursive query.
pub fn descendants_in_database(conn: &mut Conn, account_id: AccountId, group: GroupId, excluded: &[GroupId]) -> QueryResult<Vec<GroupId>> {
    let sql = format!(
        "WITH RECURSIVE down(id) AS ( \
             SELECT child_id FROM group_children \
             WHERE parent_id = $2 AND account_id = $1 AND child_id NOT IN (LIST($3)) \
             UNION {} WHERE g.child_id NOT IN (LIST($3)) \
         ) SELECT id FROM down",
        step(matches!(conn, Conn::Sqlite(_)), "down", "parent_id", "child_id")
    );
    walk(conn, &sql, &[account_id.to_string(), group.to_string(), json_list(excluded)])
}

/// Whether a live user of the account holds `permission` (none: only
/// administrators) through a group above one of theirs (their own groups are
/// [`super::memberships::has_permission`]'s): a walk up from the user's
/// groups, stopping at the first group found that is System Administrators
/// or is granted the permission (in memory, or one recursive query).
pub fn user_holds_through_nesting(
    conn: &mut Conn,
    account_id: AccountId,
    user: UserId,
    permission: Option<Permission>,
) -> Result<bool, Error> {
    if let Some(g) = in_memory(conn, account_id)? {
        if g.edges() == 0 {
            return Ok(false);
        }
        let q = memberships::table
            .inner_join(users::table)
            .filter(memberships::user_id.eq(user))
            .filter(users::account_id.eq(account_id))
            .filter(users::deleted_at.is_null())
            .select(memberships::group_id);
        let mine: Vec<GroupId> = with_conn!(conn, |c| q.load(c))?;
        return Ok(g.grants_above(&mine, permission));
    }
    Ok(user_holds_through_nesting_in_database(conn, account_id, user, permission)?)
}

/// [`user_holds_through_nesting`] as one recursive query.
pub fn user_holds_through_nesting_in_database(
    conn: &mut Conn,
    account_id: AccountId,
    user: UserId,
    permission: Option<Permission>,
) -> QueryResult<bool> {
    // No group is granted the empty permission: only the system group counts.
    let permission = permission.map_or("", |p| p.as_str());
    let sql = format!(
        "WITH RECURSIVE up(id) AS ( \
             SELECT e.parent_id FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN group_children e ON e.child_id = m.group_id \
             WHERE m.user_id = $2 AND u.account_id = $1 AND u.deleted_at IS NULL \
             UNION {} \
         ) \
         SELECT up.id AS id FROM up JOIN groups ON groups.id = up.id \
         LEFT JOIN group_permissions p ON p.group_id = up.id AND p.permission = $3 \
         WHERE groups.account_id = $1 AND (groups.is_system OR p.permission IS NOT NULL) LIMIT 1",
        step(matches!(conn, Conn::Sqlite(_)), "up", "child_id", "parent_id")
    );
    let found = walk(conn, &sql, &[account_id.to_string(), user.to_string(), permission.to_owned()])?;
    Ok(!found.is_empty())
}

/// `f` of `starts` and every group above them, each once with its name
/// key, when the account's hierarchy is in memory (it holds the keys of its
/// nested groups, lent to `f`; the others are read): `None` otherwise.
pub fn with_groups_above<T>(
    conn: &mut Conn,
    account_id: AccountId,
    starts: &[GroupId],
    f: impl FnOnce(Vec<(&str, GroupId)>) -> T,
) -> Result<Option<T>, Error> {
    let Some(g) = in_memory(conn, account_id)? else { return Ok(None) };
    let (mut keyed, unknown) = g.keyed_and_above(starts);
    let mut read: Vec<(GroupId, String)> = Vec::new();
    for chunk in unknown.chunks(10_000) {
        let q =
            groups::table.filter(groups::id.eq_any(chunk)).filter(groups::account_id.eq(account_id)).select((groups::id, groups::name_key));
        read.extend(with_conn!(conn, |c| q.load::<(GroupId, String)>(c))?);
    }
    keyed.extend(read.iter().map(|(id, key)| (key.as_str(), *id)));
    Ok(Some(f(keyed)))
}

/// The direct children of `group`.
pub fn children(conn: &mut Conn, account_id: AccountId, group: GroupId) -> QueryResult<Vec<GroupId>> {
    let q = group_children::table
        .filter(group_children::parent_id.eq(group))
        .filter(group_children::account_id.eq(account_id))
        .select(group_children::child_id);
    with_conn!(conn, |c| q.load(c))
}

/// Whether the account nests any group at all (the common case is no).
pub fn any(conn: &mut Conn, account_id: AccountId) -> Result<bool, Error> {
    Snapshot::new(account_id).any(conn)
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
