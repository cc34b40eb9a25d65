//! Creating, reading, changing and deleting groups.

use std::collections::HashMap;

use super::access::{require, require_admin};
use super::now;
use crate::db::groups::{self, Group, NewGroup};
use crate::db::{Read, Write};
use crate::domain::{
    AccountId, GroupDescription, GroupId, GroupIdentifier, GroupName, GroupSort, Page, Permission, Principal, Search, Sort,
};
use crate::error::{Error, ErrorKind};

/// Inserts a group after checking that its name is free in the account.
pub fn insert_group(w: &mut Write, account: AccountId, name: GroupName, description: GroupDescription) -> Result<Group, Error> {
    let at = now();
    let row = NewGroup {
        id: GroupId::new(),
        account_id: account,
        name_key: name.key(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    };
    if groups::find(w, account, &GroupIdentifier::Name(row.name_key.clone()))?.is_some() {
        return Err(Error::name_taken("name"));
    }
    groups::insert(w, &row)?;
    Ok(row.into_group())
}

pub fn find_group(tx: &mut Read, account: AccountId, ident: &GroupIdentifier) -> Result<Group, Error> {
    groups::find(tx, account, ident)?.ok_or_else(Error::group_not_found)
}

/// A group with the permissions granted to it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: Group,
    pub permissions: Vec<Permission>,
}

/// Attaches each group's permissions (one query for the lot).
pub fn with_permissions(tx: &mut Read, groups_: Vec<Group>) -> Result<Vec<GroupView>, Error> {
    let ids: Vec<GroupId> = groups_.iter().map(|g| g.id).collect();
    let mut granted: HashMap<GroupId, Vec<Permission>> = HashMap::new();
    for (group, permission) in groups::permissions_of(tx, &ids)? {
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

fn view(tx: &mut Read, group: Group) -> Result<GroupView, Error> {
    Ok(with_permissions(tx, vec![group])?.remove(0))
}

/// Changing what a group grants is an administrator's call: anyone else
/// could grant themselves more than they hold.
fn set_permissions(w: &mut Write, principal: &Principal, group: &Group, permissions: &[Permission]) -> Result<(), Error> {
    require_admin(w, principal)?;
    if group.is_system {
        return Err(system_group("System Administrators may do everything; its permissions cannot be changed"));
    }
    let mut unique = permissions.to_vec();
    unique.sort_unstable();
    unique.dedup();
    Ok(groups::set_permissions(w, group, &unique)?)
}

fn system_group(why: &str) -> Error {
    Error::new(ErrorKind::SystemGroup, "The System Administrators group cannot be changed this way").developer(why)
}

/// Creates a group, optionally granting it permissions (administrators only).
pub fn create(
    w: &mut Write,
    principal: &Principal,
    name: GroupName,
    description: GroupDescription,
    permissions: Option<Vec<Permission>>,
    custom: Option<String>,
) -> Result<GroupView, Error> {
    require(w, principal, Permission::GroupCreate)?;
    let mut group = insert_group(w, principal.account, name, description)?;
    if let Some(custom) = custom {
        groups::set_custom(w, group.id, &custom)?;
        group.custom = Some(custom);
    }
    if let Some(p) = permissions.as_ref().filter(|p| !p.is_empty()) {
        set_permissions(w, principal, &group, p)?;
    }
    view(w, group)
}

pub fn get(tx: &mut Read, principal: &Principal, ident: &GroupIdentifier) -> Result<GroupView, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, ident)?;
    view(tx, group)
}

pub struct GroupPage {
    pub items: Vec<GroupView>,
    pub total: i64,
}

pub fn list(tx: &mut Read, principal: &Principal, search: Option<&Search>, sort: Sort<GroupSort>, page: Page) -> Result<GroupPage, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let items = groups::list(tx, principal.account, search, &sort, page)?;
    let total = groups::count(tx, principal.account, search)?;
    Ok(GroupPage { items: with_permissions(tx, items)?, total })
}

/// Groups by id, as views, in name order.
pub fn views_by_ids(tx: &mut Read, account: AccountId, ids: &[GroupId]) -> Result<Vec<GroupView>, Error> {
    let found = groups::by_ids(tx, account, ids)?;
    with_permissions(tx, found)
}

/// Picks a page out of a listing's groups (in name order): the total it
/// counts and the page's groups.
pub type Select = Box<dyn FnOnce(Vec<Group>) -> (i64, Vec<Group>) + Send>;

/// Every group, as one page.
pub fn select_all() -> Select {
    Box::new(|groups| (groups.len() as i64, groups))
}

/// [`views_by_ids`] of the page `select` picks: the permissions of the
/// page's groups only (a user's inherited groups may be thousands).
pub fn page_by_ids(tx: &mut Read, account: AccountId, ids: &[GroupId], select: Select) -> Result<(i64, Vec<GroupView>), Error> {
    let (total, page) = select(groups::by_ids(tx, account, ids)?);
    Ok((total, with_permissions(tx, page)?))
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<GroupName>,
    pub description: Option<GroupDescription>,
    pub permissions: Option<Vec<Permission>>,
    /// The free JSON object (its text); `Some(None)` removes it.
    pub custom: Option<Option<String>>,
}

pub fn update(w: &mut Write, principal: &Principal, ident: &GroupIdentifier, patch: &GroupPatch) -> Result<GroupView, Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let group = find_group(w, principal.account, ident)?;
    if let Some(name) = &patch.name {
        if name.key() != crate::domain::normalize_key(&group.name) {
            if group.is_system {
                return Err(system_group("System Administrators keeps its name"));
            }
            if groups::find(w, principal.account, &GroupIdentifier::Name(name.key()))?.is_some() {
                return Err(Error::name_taken("name"));
            }
        }
    }
    if let Some(p) = &patch.permissions {
        set_permissions(w, principal, &group, p)?;
    }
    let changes = groups::GroupChanges {
        name: patch.name.as_ref().map(|n| n.as_str().to_owned()),
        name_key: patch.name.as_ref().map(GroupName::key),
        description: patch.description.as_ref().map(|d| d.as_str().to_owned()),
        custom: patch.custom.clone(),
        updated_at: now(),
    };
    groups::update(w, principal.account, group.id, &changes)?;
    // The row as written, without reading it back.
    let mut updated = group;
    updated.name = changes.name.unwrap_or(updated.name);
    updated.description = changes.description.unwrap_or(updated.description);
    updated.custom = changes.custom.unwrap_or(updated.custom);
    updated.updated_at = changes.updated_at;
    view(w, updated)
}

/// Deletes a group with its memberships and nesting; System Administrators stays.
pub fn delete(w: &mut Write, principal: &Principal, ident: &GroupIdentifier) -> Result<(), Error> {
    require(w, principal, Permission::GroupDelete)?;
    let group = find_group(w, principal.account, ident)?;
    if group.is_system {
        return Err(system_group("System Administrators cannot be deleted"));
    }
    Ok(groups::delete(w, &group)?)
}
