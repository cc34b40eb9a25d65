//! Groups of an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{group_permissions, groups};
use super::Conn;
use crate::domain::GroupIdentifier;
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
    let query = groups::table
        .filter(groups::account_id.eq(account_id))
        .filter(groups::is_system.eq(true));
    with_conn!(conn, |c| query.select(Group::as_select()).first(c).optional())
}

pub fn grant(conn: &mut Conn, group_id: &str, permission: &str) -> QueryResult<()> {
    let row = (group_permissions::group_id.eq(group_id), group_permissions::permission.eq(permission));
    with_conn!(conn, |c| diesel::insert_into(group_permissions::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
    .map(drop)
}
