//! Nested groups: the shape of an account's group tree, loaded once per use
//! case (an account's edges are few next to its memberships).

use std::collections::{HashMap, HashSet};

use super::access::{require, require_admin, require_may_grant_through};
use super::groups::find_group;
use super::now;
use crate::db::groups::Group;
use crate::db::{groups, hierarchy, Read, Write};
use crate::domain::{AccountId, GroupId, GroupIdentifier, Permission, Principal};
use crate::error::{Error, ErrorKind};

/// The parent → child edges of one account.
#[derive(Debug, Default)]
pub struct Tree {
    children: HashMap<GroupId, Vec<GroupId>>,
    parents: HashMap<GroupId, Vec<GroupId>>,
}

impl Tree {
    pub fn load(tx: &mut Read, account: AccountId) -> Result<Tree, Error> {
        let mut tree = Tree::default();
        for (parent, child) in hierarchy::edges(tx, account)? {
            tree.children.entry(parent).or_default().push(child);
            tree.parents.entry(child).or_default().push(parent);
        }
        Ok(tree)
    }

    fn walk(next: &HashMap<GroupId, Vec<GroupId>>, starts: &[GroupId]) -> Vec<GroupId> {
        let mut seen: HashSet<GroupId> = HashSet::new();
        let mut order = Vec::new();
        let mut stack: Vec<GroupId> = starts.to_vec();
        while let Some(g) = stack.pop() {
            for n in next.get(&g).into_iter().flatten() {
                if seen.insert(*n) {
                    order.push(*n);
                    stack.push(*n);
                }
            }
        }
        order
    }

    /// Groups below `group`, at any depth (not the group itself).
    pub fn descendants(&self, group: GroupId) -> Vec<GroupId> {
        Self::walk(&self.children, &[group])
    }

    /// Groups above any of `groups`, at any depth.
    pub fn ancestors(&self, groups: &[GroupId]) -> Vec<GroupId> {
        Self::walk(&self.parents, groups)
    }

    /// Groups below `group`, not descending into `excluded`.
    pub fn descendants_except(&self, group: GroupId, excluded: &HashSet<GroupId>) -> Vec<GroupId> {
        let pruned: HashMap<GroupId, Vec<GroupId>> =
            self.children.iter().map(|(p, cs)| (*p, cs.iter().filter(|c| !excluded.contains(*c)).copied().collect())).collect();
        Self::walk(&pruned, &[group])
    }

    pub fn children_of(&self, group: GroupId) -> Vec<GroupId> {
        self.children.get(&group).cloned().unwrap_or_default()
    }

    /// Whether putting `child` under `parent` would make a group contain itself.
    pub fn would_cycle(&self, parent: GroupId, child: GroupId) -> bool {
        parent == child || self.descendants(child).contains(&parent)
    }
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
    let tree = Tree::load(w, principal.account)?;
    if let Some(child) = found.iter().find(|c| tree.would_cycle(parent.id, c.id)) {
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
    if inherited && hierarchy::any(tx, account)? {
        ids.extend(Tree::load(tx, account)?.descendants_except(group.id, excluded));
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
    if inherited && hierarchy::any(tx, account)? {
        let above = Tree::load(tx, account)?.ancestors(&ids);
        ids.extend(above);
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(ids)
}

/// The groups below `group` (direct children, or with `inherited` all
/// descendants), with `include_self` the group too, as views in name order.
pub fn list_children(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    inherited: bool,
    include_self: bool,
) -> Result<Vec<super::groups::GroupView>, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    let tree = Tree::load(tx, principal.account)?;
    let mut ids = if inherited { tree.descendants(group.id) } else { tree.children_of(group.id) };
    if include_self {
        ids.push(group.id);
    }
    super::groups::views_by_ids(tx, principal.account, &ids)
}
