//! Creating and reading groups.

use std::collections::HashMap;

use uuid::Uuid;

use super::now;
use crate::auth::Caller;
use crate::db::groups::{self, Group, NewGroup};
use crate::db::Conn;
use crate::domain::{GroupDescription, GroupIdentifier, GroupName, GroupSort, Page, Permission, Search, Sort};
use crate::error::{ApiError, ErrorKind};

pub fn create_group(conn: &mut Conn, account_id: &str, name: GroupName, description: GroupDescription) -> Result<Group, ApiError> {
    let at = now();
    let row = NewGroup {
        id: Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        name_key: name.key(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    };
    conn.write(|conn| {
        if groups::find(conn, account_id, &GroupIdentifier::Name(row.name_key.clone()))?.is_some() {
            return Err(ApiError::name_taken("name"));
        }
        groups::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into_group())
}

pub fn find_group(conn: &mut Conn, account_id: &str, ident: &GroupIdentifier) -> Result<Group, ApiError> {
    groups::find(conn, account_id, ident)?.ok_or_else(ApiError::group_not_found)
}

/// A group with the permissions granted to it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: Group,
    pub permissions: Vec<String>,
}

/// Attaches each group's permissions (one query for the lot).
pub fn with_permissions(conn: &mut Conn, groups_: Vec<Group>) -> Result<Vec<GroupView>, ApiError> {
    let ids: Vec<String> = groups_.iter().map(|g| g.id.clone()).collect();
    let mut granted: HashMap<String, Vec<String>> = HashMap::new();
    for (group, permission) in groups::permissions_of(conn, &ids)? {
        granted.entry(group).or_default().push(permission);
    }
    Ok(groups_
        .into_iter()
        .map(|group| {
            let permissions = granted.remove(&group.id).unwrap_or_default();
            GroupView { group, permissions }
        })
        .collect())
}

fn view(conn: &mut Conn, group: Group) -> Result<GroupView, ApiError> {
    Ok(with_permissions(conn, vec![group])?.remove(0))
}

/// Changing what a group grants is an administrator's call: anyone else
/// could grant themselves more than they hold.
fn set_permissions(conn: &mut Conn, caller: &Caller, group: &Group, permissions: &[Permission]) -> Result<(), ApiError> {
    caller.require_admin(conn)?;
    if group.is_system {
        return Err(system_group("System Administrators may do everything; its permissions cannot be changed"));
    }
    let mut names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    Ok(groups::set_permissions(conn, &group.id, &names)?)
}

fn system_group(why: &str) -> ApiError {
    ApiError::new(ErrorKind::SystemGroup, "The System Administrators group cannot be changed this way").developer(why)
}

/// Creates a group, optionally granting it permissions (administrators only).
pub fn create(
    conn: &mut Conn,
    caller: &Caller,
    name: GroupName,
    description: GroupDescription,
    permissions: Option<Vec<Permission>>,
) -> Result<GroupView, ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupCreate)?;
        let group = create_group(conn, &caller.account_id, name.clone(), description.clone())?;
        if let Some(p) = permissions.as_ref().filter(|p| !p.is_empty()) {
            set_permissions(conn, caller, &group, p)?;
        }
        view(conn, group)
    })
}

pub fn get(conn: &mut Conn, caller: &Caller, ident: &GroupIdentifier) -> Result<GroupView, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let group = find_group(conn, &caller.account_id, ident)?;
    view(conn, group)
}

pub struct GroupPage {
    pub items: Vec<GroupView>,
    pub total: i64,
}

pub fn list(conn: &mut Conn, caller: &Caller, search: Option<&Search>, sort: Sort<GroupSort>, page: Page) -> Result<GroupPage, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let items = groups::list(conn, &caller.account_id, search, sort, page)?;
    let total = groups::count(conn, &caller.account_id, search)?;
    Ok(GroupPage { items: with_permissions(conn, items)?, total })
}

/// Groups by id, as views, in name order.
pub fn views_by_ids(conn: &mut Conn, account_id: &str, ids: &[String]) -> Result<Vec<GroupView>, ApiError> {
    let found = groups::by_ids(conn, account_id, ids)?;
    with_permissions(conn, found)
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<GroupName>,
    pub description: Option<GroupDescription>,
    pub permissions: Option<Vec<Permission>>,
}

pub fn update(conn: &mut Conn, caller: &Caller, ident: &GroupIdentifier, patch: GroupPatch) -> Result<GroupView, ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let group = find_group(conn, &caller.account_id, ident)?;
        if let Some(name) = &patch.name {
            if name.key() != crate::domain::normalize_key(&group.name) {
                if group.is_system {
                    return Err(system_group("System Administrators keeps its name"));
                }
                if groups::find(conn, &caller.account_id, &GroupIdentifier::Name(name.key()))?.is_some() {
                    return Err(ApiError::name_taken("name"));
                }
            }
        }
        if let Some(p) = &patch.permissions {
            set_permissions(conn, caller, &group, p)?;
        }
        let changes = groups::GroupChanges {
            name: patch.name.as_ref().map(|n| n.as_str().to_owned()),
            name_key: patch.name.as_ref().map(GroupName::key),
            description: patch.description.as_ref().map(|d| d.as_str().to_owned()),
            updated_at: now(),
        };
        groups::update(conn, &group.id, &changes)?;
        // The row as written, without reading it back.
        let mut updated = group;
        updated.name = changes.name.unwrap_or(updated.name);
        updated.description = changes.description.unwrap_or(updated.description);
        updated.updated_at = changes.updated_at;
        view(conn, updated)
    })
}

/// Deletes a group with its memberships and nesting; System Administrators stays.
pub fn delete(conn: &mut Conn, caller: &Caller, ident: &GroupIdentifier) -> Result<(), ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupDelete)?;
        let group = find_group(conn, &caller.account_id, ident)?;
        if group.is_system {
            return Err(system_group("System Administrators cannot be deleted"));
        }
        Ok(groups::delete(conn, &group.id)?)
    })
}
