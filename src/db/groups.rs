//! Groups of an account.

use super::in_list::in_ids;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_children, group_permissions, groups};
use super::{Conn, Write};
use crate::domain::{AccountId, Change, GroupId, GroupIdentifier, GroupSort, Page, Permission, Search, Sort};
use crate::with_conn;

pub const SYSTEM_ADMINISTRATORS: &str = "System Administrators";

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = groups)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Group {
    pub id: GroupId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    #[diesel(deserialize_as = super::stamps::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = super::stamps::Stamp)]
    pub updated_at: NaiveDateTime,
    /// JSON text of an object.
    pub custom: Option<String>,
    /// SCIM's `externalId`.
    pub external_id: Option<String>,
    /// SCIM's `displayName` when it is not a name Rollcall groups can have.
    pub scim_display_name: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = groups)]
pub struct NewGroup {
    pub id: GroupId,
    pub account_id: AccountId,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub is_system: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewGroup {
    pub fn into_group(self) -> Group {
        Group {
            id: self.id,
            account_id: self.account_id,
            name: self.name,
            description: self.description,
            is_system: self.is_system,
            created_at: self.created_at,
            updated_at: self.updated_at,
            custom: None,
            external_id: None,
            scim_display_name: None,
        }
    }
}

pub fn insert(w: &mut Write, group: &NewGroup) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(groups::table).values(group).execute(c))?;
    w.record(Change::GroupCreated { account: group.account_id, group: group.id });
    Ok(())
}

/// Inserts the rows of a batch of creations in one statement, without
/// recording them; the ids inserted (on PostgreSQL without a row whose name
/// a concurrent transaction took after the batch's check, as
/// [`super::users::insert_batch`]).
pub fn insert_batch(conn: &mut Conn, rows: &[NewGroup]) -> QueryResult<std::collections::HashSet<GroupId>> {
    if rows.is_empty() {
        return Ok(Default::default());
    }
    match conn {
        Conn::Postgres(c) => {
            let q = diesel::insert_into(groups::table).values(rows).on_conflict_do_nothing().returning(groups::id);
            Ok(q.get_results::<GroupId>(&mut **c)?.into_iter().collect())
        }
        Conn::Sqlite(c) => {
            diesel::insert_into(groups::table).values(rows).execute(&mut **c)?;
            Ok(rows.iter().map(|r| r.id).collect())
        }
    }
}

/// Which of the name keys are used by a group of the account.
pub fn taken_names(conn: &mut Conn, account_id: AccountId, keys: &[String]) -> QueryResult<std::collections::HashSet<String>> {
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let q = groups::table.filter(groups::account_id.eq(account_id)).filter(in_ids(groups::name_key, keys)).select(groups::name_key);
    let taken: Vec<String> = with_conn!(conn, |c| q.load(c))?;
    Ok(taken.into_iter().collect())
}

pub fn find(conn: &mut Conn, account_id: AccountId, ident: &GroupIdentifier) -> QueryResult<Option<Group>> {
    let in_account = groups::table.filter(groups::account_id.eq(account_id));
    match ident {
        GroupIdentifier::Id(id) => {
            let query = in_account.filter(groups::id.eq(*id));
            with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
        }
        GroupIdentifier::Name(key) => {
            let query = in_account.filter(groups::name_key.eq(key));
            with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
        }
    }
}

pub fn find_system(conn: &mut Conn, account_id: AccountId) -> QueryResult<Option<Group>> {
    let query = groups::table.filter(groups::account_id.eq(account_id)).filter(groups::is_system.eq(true));
    with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
}

/// Whether any of the groups is a System Administrators group (by primary
/// key only: the ids come from one account already).
pub fn system_among(conn: &mut Conn, ids: &[GroupId]) -> QueryResult<bool> {
    let q = groups::table.filter(groups::is_system.eq(true)).filter(in_ids(groups::id, ids)).select(groups::id);
    Ok(with_conn!(conn, |c| q.first::<GroupId>(c).optional())?.is_some())
}

macro_rules! filtered {
    ($account_id:expr, $search:expr) => {{
        let mut q = groups::table.filter(groups::account_id.eq($account_id)).into_boxed();
        if let Some(s) = $search {
            q = q.filter(groups::name_key.like(s.pattern().to_owned()).escape('\\'));
        }
        q
    }};
}

/// The account's groups whose name contains `search`, a page of them.
/// Orders (first) or further orders a boxed group query by one field
/// (a macro: the boxed query's backend is the connection's).
macro_rules! order_groups {
    ($q:expr, $key:expr, $descending:expr, $first:expr) => {{
        match $key {
            GroupSort::CreatedAt => super::order_by_column!($q, groups::created_at, $descending, $first),
            GroupSort::UpdatedAt => super::order_by_column!($q, groups::updated_at, $descending, $first),
            GroupSort::Name => super::order_by_column!($q, groups::name_key, $descending, $first),
        }
    }};
}

pub fn list(
    conn: &mut Conn,
    account_id: AccountId,
    search: Option<&Search>,
    sort: &Sort<GroupSort>,
    page: Page,
) -> QueryResult<Vec<Group>> {
    with_conn!(conn, |c| {
        let q = filtered!(account_id, search);
        let mut q = q;
        for (n, (key, descending)) in sort.keys().enumerate() {
            q = order_groups!(q, key, descending, n == 0);
        }
        let q = if sort.descending { q.then_order_by(groups::id.desc()) } else { q.then_order_by(groups::id.asc()) };
        q.offset(page.offset).limit(page.limit).select(Group::as_select()).load(c)
    })
}

pub fn count(conn: &mut Conn, account_id: AccountId, search: Option<&Search>) -> QueryResult<i64> {
    with_conn!(conn, |c| filtered!(account_id, search).count().get_result(c))
}

/// Groups of the account by id, in name order (ids of other accounts are skipped).
pub fn by_ids(conn: &mut Conn, account_id: AccountId, ids: &[GroupId]) -> QueryResult<Vec<Group>> {
    // By primary key only, a chunk at a time (SQLite caps bound values),
    // the account checked here: with it in the WHERE clause SQLite's
    // planner may walk the account's index (every group of the account)
    // instead of probing the ids.
    let mut found: Vec<Group> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let q = groups::table.filter(in_ids(groups::id, chunk));
        found.extend(with_conn!(conn, |c| q.select(Group::as_select()).load::<Group>(c))?);
    }
    found.retain(|g| g.account_id == account_id);
    // In name order (the name key, as the column is written), then id.
    found.sort_by_cached_key(|g| (crate::domain::normalize_key(&g.name), g.id));
    found.dedup_by_key(|g| g.id);
    Ok(found)
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = groups)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub name_key: Option<String>,
    pub description: Option<String>,
    pub custom: Option<Option<String>>,
    pub updated_at: NaiveDateTime,
}

/// Writes the custom object of a group being created (its `group.created` says so).
pub fn set_custom(conn: &mut Conn, id: GroupId, custom: &str) -> QueryResult<()> {
    let query = diesel::update(groups::table.find(id)).set(groups::custom.eq(Some(custom.to_owned())));
    with_conn!(conn, |c| query.execute(c)).map(drop)
}

/// Writes the changes to the group of `account`.
pub fn update(w: &mut Write, account: AccountId, id: GroupId, changes: &GroupChanges) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::update(groups::table.find(id)).set(changes).execute(c))?;
    let mut fields = Vec::new();
    if changes.name.is_some() {
        fields.push("name");
    }
    if changes.description.is_some() {
        fields.push("description");
    }
    if changes.custom.is_some() {
        fields.push("custom");
    }
    w.record(Change::GroupUpdated { account, group: id, fields });
    Ok(())
}

/// Deletes the group with its memberships, permissions and nesting edges,
/// recording each membership and edge that goes with it.
pub fn delete(w: &mut Write, group: &Group) -> QueryResult<()> {
    let (account, id) = (group.account_id, group.id);
    let members = super::memberships::all_member_ids(w, id)?;
    let edges = group_children::table
        .filter(group_children::parent_id.eq(id).or(group_children::child_id.eq(id)))
        .select((group_children::parent_id, group_children::child_id));
    let conn: &mut Conn = w;
    let edges: Vec<(GroupId, GroupId)> = with_conn!(conn, |c| edges.load(c))?;
    with_conn!(conn, |c| diesel::delete(groups::table.find(id)).execute(c))?;
    for user in members {
        w.record(Change::MembershipRemoved { account, group: id, user });
    }
    for (parent, child) in edges {
        w.record(Change::GroupUnnested { account, parent, child });
    }
    w.record(Change::GroupDeleted { account, group: id });
    Ok(())
}

/// The permissions granted to each of the groups, as (group id, permission).
pub fn permissions_of(conn: &mut Conn, group_ids: &[GroupId]) -> Result<Vec<(GroupId, Permission)>, crate::error::Error> {
    let q = group_permissions::table
        .filter(in_ids(group_permissions::group_id, group_ids))
        .order((group_permissions::group_id.asc(), group_permissions::permission.asc()))
        .select((group_permissions::group_id, group_permissions::permission));
    parsed(with_conn!(conn, |c| q.load(c))?)
}

/// What every group of the account grants.
pub fn permissions_in(conn: &mut Conn, account_id: AccountId) -> Result<Vec<(GroupId, Permission)>, crate::error::Error> {
    let q = group_permissions::table
        .filter(group_permissions::group_id.eq_any(groups::table.filter(groups::account_id.eq(account_id)).select(groups::id)))
        .select((group_permissions::group_id, group_permissions::permission));
    parsed(with_conn!(conn, |c| q.load(c))?)
}

fn parsed(rows: Vec<(GroupId, String)>) -> Result<Vec<(GroupId, Permission)>, crate::error::Error> {
    rows.into_iter().map(|(g, p)| Ok((g, Permission::from_stored(&p)?))).collect()
}

/// Replaces the group's permissions.
pub fn set_permissions(w: &mut Write, group: &Group, permissions: &[Permission]) -> QueryResult<()> {
    let conn: &mut Conn = w;
    let q = diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(group.id)));
    with_conn!(conn, |c| q.execute(c))?;
    let rows: Vec<_> =
        permissions.iter().map(|p| (group_permissions::group_id.eq(group.id), group_permissions::permission.eq(p.as_str()))).collect();
    if !rows.is_empty() {
        match conn {
            Conn::Sqlite(c) => diesel::insert_or_ignore_into(group_permissions::table).values(&rows).execute(&mut **c)?,
            Conn::Postgres(c) => diesel::insert_into(group_permissions::table).values(&rows).on_conflict_do_nothing().execute(&mut **c)?,
        };
    }
    w.record(Change::GroupUpdated { account: group.account_id, group: group.id, fields: vec!["permissions"] });
    Ok(())
}

/// Grants one more permission to the group (for imports and tests; the use
/// cases replace the whole set with [`set_permissions`]).
pub fn grant(w: &mut Write, account: AccountId, group_id: GroupId, permission: Permission) -> QueryResult<()> {
    let row = (group_permissions::group_id.eq(group_id), group_permissions::permission.eq(permission.as_str()));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(group_permissions::table).values(row).on_conflict_do_nothing().execute(c))?;
    w.record(Change::GroupUpdated { account, group: group_id, fields: vec!["permissions"] });
    Ok(())
}
