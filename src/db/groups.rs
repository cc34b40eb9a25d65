//! Groups of an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_permissions, groups};
use super::Conn;
use crate::domain::{GroupIdentifier, GroupSort, Page, Search, Sort};
use crate::with_conn;

pub const SYSTEM_ADMINISTRATORS: &str = "System Administrators";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = groups)]
pub struct NewGroup {
    pub id: String,
    pub account_id: String,
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
        }
    }
}

pub fn insert(conn: &mut Conn, group: &NewGroup) -> QueryResult<()> {
    with_conn!(conn, |c| diesel::insert_into(groups::table).values(group).execute(c)).map(drop)
}

pub fn find(conn: &mut Conn, account_id: &str, ident: &GroupIdentifier) -> QueryResult<Option<Group>> {
    let in_account = groups::table.filter(groups::account_id.eq(account_id));
    match ident {
        GroupIdentifier::Id(id) => {
            let query = in_account.filter(groups::id.eq(id.to_string()));
            with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
        }
        GroupIdentifier::Name(key) => {
            let query = in_account.filter(groups::name_key.eq(key));
            with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
        }
    }
}

pub fn find_system(conn: &mut Conn, account_id: &str) -> QueryResult<Option<Group>> {
    let query = groups::table.filter(groups::account_id.eq(account_id)).filter(groups::is_system.eq(true));
    with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
}

/// Whether any of the groups is a System Administrators group (by primary
/// key only: the ids come from one account already).
pub fn system_among(conn: &mut Conn, ids: &[String]) -> QueryResult<bool> {
    let q = groups::table.filter(groups::is_system.eq(true)).filter(groups::id.eq_any(ids)).select(groups::id);
    Ok(with_conn!(conn, |c| q.first::<String>(c).optional())?.is_some())
}

pub fn grant(conn: &mut Conn, group_id: &str, permission: &str) -> QueryResult<()> {
    let row = (group_permissions::group_id.eq(group_id), group_permissions::permission.eq(permission));
    with_conn!(conn, |c| diesel::insert_into(group_permissions::table).values(row).on_conflict_do_nothing().execute(c)).map(drop)
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
pub fn list(conn: &mut Conn, account_id: &str, search: Option<&Search>, sort: Sort<GroupSort>, page: Page) -> QueryResult<Vec<Group>> {
    with_conn!(conn, |c| {
        let q = filtered!(account_id, search);
        let q = match (sort.key, sort.descending) {
            (GroupSort::CreatedAt, false) => q.order((groups::created_at.asc(), groups::id.asc())),
            (GroupSort::CreatedAt, true) => q.order((groups::created_at.desc(), groups::id.desc())),
            (GroupSort::Name, false) => q.order((groups::name_key.asc(), groups::id.asc())),
            (GroupSort::Name, true) => q.order((groups::name_key.desc(), groups::id.desc())),
        };
        q.offset(page.offset).limit(page.limit).select(Group::as_select()).load(c)
    })
}

pub fn count(conn: &mut Conn, account_id: &str, search: Option<&Search>) -> QueryResult<i64> {
    with_conn!(conn, |c| filtered!(account_id, search).count().get_result(c))
}

/// Groups of the account by id, in name order (ids of other accounts are skipped).
pub fn by_ids(conn: &mut Conn, account_id: &str, ids: &[String]) -> QueryResult<Vec<Group>> {
    let q = groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::id.eq_any(ids))
        .order((groups::name_key.asc(), groups::id.asc()));
    with_conn!(conn, |c| q.select(Group::as_select()).load(c))
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = groups)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub name_key: Option<String>,
    pub description: Option<String>,
    pub updated_at: NaiveDateTime,
}

pub fn update(conn: &mut Conn, id: &str, changes: &GroupChanges) -> QueryResult<()> {
    with_conn!(conn, |c| diesel::update(groups::table.find(id)).set(changes).execute(c)).map(drop)
}

/// Deletes the group with its memberships, permissions and nesting edges.
pub fn delete(conn: &mut Conn, id: &str) -> QueryResult<()> {
    with_conn!(conn, |c| diesel::delete(groups::table.find(id)).execute(c)).map(drop)
}

/// The permissions granted to each of the groups, as (group id, permission).
pub fn permissions_of(conn: &mut Conn, group_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let q = group_permissions::table
        .filter(group_permissions::group_id.eq_any(group_ids))
        .order((group_permissions::group_id.asc(), group_permissions::permission.asc()))
        .select((group_permissions::group_id, group_permissions::permission));
    with_conn!(conn, |c| q.load(c))
}

/// Replaces the group's permissions.
pub fn set_permissions(conn: &mut Conn, group_id: &str, permissions: &[&str]) -> QueryResult<()> {
    let q = diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(group_id)));
    with_conn!(conn, |c| q.execute(c))?;
    for p in permissions {
        grant(conn, group_id, p)?;
    }
    Ok(())
}
