//! Nested groups: walks up and down an account's group hierarchy, each one
//! recursive query that visits only the groups it returns (the hierarchy is
//! never loaded whole).

use std::collections::HashSet;

use super::access::{require, require_admin, require_may_grant_through};
use super::groups::find_group;
use super::now;
use crate::db::groups::Group;
use crate::db::{groups, hierarchy, Read, Write};
use crate::domain::{AccountId, GroupId, GroupIdentifier, Permission, Principal};
use crate::error::{Error, ErrorKind};

/// Whether putting `child` under `parent` would make a group contain
/// itself: `child` is `parent` or above it (a walk up from the parent,
/// usually short, not down the child's subtree).
fn would_cycle(above_parent: &HashSet<GroupId>, parent: GroupId, child: GroupId) -> bool {
    parent == child || above_parent.contains(&child)
}

fn cycle(parent: &Group, child: &Group) -> Error {
    Error::new(ErrorKind::GroupCycle, "A group cannot contain itself, directly or through other groups")
        .developer(format!("'{}' is '{}' or contains it", child.name, parent.name))
        .detail("groupId", parent.id.to_string().into())
        .detail("childGroupId", child.id.to_string().into())
}

/// Puts the child groups under the parent, all or none: every id must name a
/// group of the account (400 listing the others) and none may close a cycle.
/// Returns how many edges are new.
pub fn add_children(w: &mut Write, principal: &Principal, parent: &GroupIdentifier, children: &[GroupIdentifier]) -> Result<usize, Error> {
    // Permission first: a caller without it learns nothing, not even
    // whether the groups exist.
    require(w, principal, Permission::GroupUpdate)?;
    hierarchy::lock(w, principal.account)?;
    let parent = find_group(w, principal.account, parent)?;
    // The children's members gain what the parent grants.
    require_may_grant_through(w, principal, &parent)?;
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for ident in children {
        match groups::find(w, principal.account, ident)? {
            Some(g) => found.push(g),
            None => unknown.push(ident.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(unknown_groups(&unknown));
    }
    let above_parent: HashSet<GroupId> = hierarchy::ancestors(w, principal.account, &[parent.id])?.into_iter().collect();
    if let Some(child) = found.iter().find(|c| would_cycle(&above_parent, parent.id, c.id)) {
        return Err(cycle(&parent, child));
    }
    let mut ids: Vec<GroupId> = found.into_iter().map(|g| g.id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(hierarchy::add(w, principal.account, parent.id, &ids, now())?.len())
}

fn unknown_groups(unknown: &[GroupIdentifier]) -> Error {
    let shown: Vec<String> = unknown
        .iter()
        .map(|g| match g {
            GroupIdentifier::Id(id) => id.to_string(),
            GroupIdentifier::Name(n) => n.clone(),
        })
        .collect();
    Error::new(ErrorKind::UnknownGroups, "Some groups do not exist in this account")
        .developer(format!("Unknown groups: {}", shown.join(", ")))
        .detail("groupIds", shown.into())
}

/// Takes the child out of the parent; 404 when it was not a child.
pub fn remove_child(w: &mut Write, principal: &Principal, parent: &GroupIdentifier, child: &GroupIdentifier) -> Result<(), Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let parent = find_group(w, principal.account, parent)?;
    // Un-nesting from System Administrators demotes administrators.
    if parent.is_system {
        require_admin(w, principal)?;
    }
    let child = find_group(w, principal.account, child)?;
    if !hierarchy::remove(w, principal.account, parent.id, child.id)? {
        return Err(Error::new(ErrorKind::NotAChild, "Group not in group")
            .developer(format!("'{}' is not a child of '{}'", child.name, parent.name)));
    }
    Ok(())
}

/// The group ids whose members count as members of `group`: itself, and
/// with `inherited` every group below it except the `excluded` subtrees.
pub fn member_groups(
    tx: &mut Read,
    account: AccountId,
    group: &Group,
    inherited: bool,
    excluded: &HashSet<GroupId>,
) -> Result<Vec<GroupId>, Error> {
    let mut ids = vec![group.id];
    if inherited {
        let excluded: Vec<GroupId> = excluded.iter().copied().collect();
        ids.extend(hierarchy::descendants(tx, account, group.id, &excluded)?);
    }
    Ok(ids)
}

/// Ids of groups the given ids name, for `excludedGroups`.
pub fn resolve_ids(tx: &mut Read, account: AccountId, idents: &[GroupIdentifier]) -> Result<HashSet<GroupId>, Error> {
    let mut out = HashSet::new();
    for ident in idents {
        out.insert(find_group(tx, account, ident)?.id);
    }
    Ok(out)
}

/// Groups a user belongs to: directly, or with `inherited` also every group
/// above those.
pub fn groups_of_user(tx: &mut Read, account: AccountId, user: crate::domain::UserId, inherited: bool) -> Result<Vec<GroupId>, Error> {
    let mut ids = crate::db::memberships::groups_of(tx, user)?;
    if inherited {
        let above = hierarchy::ancestors(tx, account, &ids)?;
        ids.extend(above);
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(ids)
}

/// The groups below `group` (direct children, or with `inherited` all
/// descendants), with `include_self` the group too: the page `selection`
/// picks of them, as views.
pub fn list_children(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    inherited: bool,
    include_self: bool,
    selection: &super::groups::Selection,
) -> Result<(i64, Vec<super::groups::GroupView>), Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    let mut ids = if inherited {
        hierarchy::descendants(tx, principal.account, group.id, &[])?
    } else {
        hierarchy::children(tx, principal.account, group.id)?
    };
    if include_self {
        ids.push(group.id);
    }
    super::groups::page_by_ids(tx, principal.account, &ids, selection)
}
