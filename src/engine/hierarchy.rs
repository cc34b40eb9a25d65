//! Nested groups: the shape of an account's group tree, loaded once per use
//! case (an account's edges are few next to its memberships).

use std::collections::{HashMap, HashSet};

use super::groups::find_group;
use super::now;
use crate::auth::Caller;
use crate::db::groups::Group;
use crate::db::{groups, hierarchy, Conn};
use crate::domain::{GroupIdentifier, Permission};
use crate::error::{ApiError, ErrorKind};

/// The parent → child edges of one account.
#[derive(Debug, Default)]
pub struct Tree {
    children: HashMap<String, Vec<String>>,
    parents: HashMap<String, Vec<String>>,
}

impl Tree {
    pub fn load(conn: &mut Conn, account_id: &str) -> Result<Tree, ApiError> {
        let mut tree = Tree::default();
        for (parent, child) in hierarchy::edges(conn, account_id)? {
            tree.children.entry(parent.clone()).or_default().push(child.clone());
            tree.parents.entry(child).or_default().push(parent);
        }
        Ok(tree)
    }

    fn walk(next: &HashMap<String, Vec<String>>, starts: &[String]) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut order = Vec::new();
        let mut stack: Vec<&str> = starts.iter().map(String::as_str).collect();
        while let Some(g) = stack.pop() {
            for n in next.get(g).into_iter().flatten() {
                if seen.insert(n) {
                    order.push(n.clone());
                    stack.push(n);
                }
            }
        }
        order
    }

    /// Groups below `group`, at any depth (not the group itself).
    pub fn descendants(&self, group: &str) -> Vec<String> {
        Self::walk(&self.children, &[group.to_owned()])
    }

    /// Groups above any of `groups`, at any depth.
    pub fn ancestors(&self, groups: &[String]) -> Vec<String> {
        Self::walk(&self.parents, groups)
    }

    /// Groups below `group`, not descending into `excluded`.
    pub fn descendants_except(&self, group: &str, excluded: &HashSet<String>) -> Vec<String> {
        let pruned: HashMap<String, Vec<String>> =
            self.children.iter().map(|(p, cs)| (p.clone(), cs.iter().filter(|c| !excluded.contains(*c)).cloned().collect())).collect();
        Self::walk(&pruned, &[group.to_owned()])
    }

    pub fn children_of(&self, group: &str) -> Vec<String> {
        self.children.get(group).cloned().unwrap_or_default()
    }

    /// Whether putting `child` under `parent` would make a group contain itself.
    pub fn would_cycle(&self, parent: &str, child: &str) -> bool {
        parent == child || self.descendants(child).iter().any(|d| d == parent)
    }
}

fn cycle(parent: &Group, child: &Group) -> ApiError {
    ApiError::new(ErrorKind::GroupCycle, "A group cannot contain itself, directly or through other groups")
        .developer(format!("'{}' is '{}' or contains it", child.name, parent.name))
        .detail("groupId", parent.id.clone().into())
        .detail("childGroupId", child.id.clone().into())
}

/// Puts the child groups under the parent, all or none: every id must name a
/// group of the account (400 listing the others) and none may close a cycle.
/// Returns how many edges are new.
pub fn add_children(conn: &mut Conn, caller: &Caller, parent: &GroupIdentifier, children: &[GroupIdentifier]) -> Result<usize, ApiError> {
    conn.write(|conn| {
        // Permission first: a caller without it learns nothing, not even
        // whether the groups exist.
        caller.require(conn, Permission::GroupUpdate)?;
        hierarchy::lock(conn, &caller.account_id)?;
        let parent = find_group(conn, &caller.account_id, parent)?;
        // The children's members gain what the parent grants.
        super::access::require_may_grant_through(conn, caller, &parent)?;
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for ident in children {
            match groups::find(conn, &caller.account_id, ident)? {
                Some(g) => found.push(g),
                None => unknown.push(ident.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(unknown_groups(&unknown));
        }
        let tree = Tree::load(conn, &caller.account_id)?;
        if let Some(child) = found.iter().find(|c| tree.would_cycle(&parent.id, &c.id)) {
            return Err(cycle(&parent, child));
        }
        let mut ids: Vec<String> = found.into_iter().map(|g| g.id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(hierarchy::add(conn, &caller.account_id, &parent.id, &ids, now())?)
    })
}

fn unknown_groups(unknown: &[GroupIdentifier]) -> ApiError {
    let shown: Vec<String> = unknown
        .iter()
        .map(|g| match g {
            GroupIdentifier::Id(id) => id.to_string(),
            GroupIdentifier::Name(n) => n.clone(),
        })
        .collect();
    ApiError::new(ErrorKind::UnknownGroups, "Some groups do not exist in this account")
        .developer(format!("Unknown groups: {}", shown.join(", ")))
        .detail("groupIds", shown.into())
}

/// Takes the child out of the parent; 404 when it was not a child.
pub fn remove_child(conn: &mut Conn, caller: &Caller, parent: &GroupIdentifier, child: &GroupIdentifier) -> Result<(), ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let parent = find_group(conn, &caller.account_id, parent)?;
        // Un-nesting from System Administrators demotes administrators.
        if parent.is_system {
            caller.require_admin(conn)?;
        }
        let child = find_group(conn, &caller.account_id, child)?;
        if !hierarchy::remove(conn, &parent.id, &child.id)? {
            return Err(ApiError::new(ErrorKind::NotAChild, "Group not in group")
                .developer(format!("'{}' is not a child of '{}'", child.name, parent.name)));
        }
        Ok(())
    })
}

/// The group ids whose members count as members of `group`: itself, and
/// with `inherited` every group below it except the `excluded` subtrees.
pub fn member_groups(
    conn: &mut Conn,
    account_id: &str,
    group: &Group,
    inherited: bool,
    excluded: &HashSet<String>,
) -> Result<Vec<String>, ApiError> {
    let mut ids = vec![group.id.clone()];
    if inherited && hierarchy::any(conn, account_id)? {
        ids.extend(Tree::load(conn, account_id)?.descendants_except(&group.id, excluded));
    }
    Ok(ids)
}

/// Ids of groups the given ids name, for `excludedGroups`.
pub fn resolve_ids(conn: &mut Conn, account_id: &str, idents: &[GroupIdentifier]) -> Result<HashSet<String>, ApiError> {
    let mut out = HashSet::new();
    for ident in idents {
        out.insert(find_group(conn, account_id, ident)?.id);
    }
    Ok(out)
}

/// Groups a user belongs to: directly, or with `inherited` also every group
/// above those.
pub fn groups_of_user(conn: &mut Conn, account_id: &str, user_id: &str, inherited: bool) -> Result<Vec<String>, ApiError> {
    let mut ids = crate::db::memberships::groups_of(conn, user_id)?;
    if inherited && hierarchy::any(conn, account_id)? {
        let above = Tree::load(conn, account_id)?.ancestors(&ids);
        ids.extend(above);
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(ids)
}

/// The groups below `group` (direct children, or with `inherited` all
/// descendants), with `include_self` the group too, as views in name order.
pub fn list_children(
    conn: &mut Conn,
    caller: &Caller,
    group: &GroupIdentifier,
    inherited: bool,
    include_self: bool,
) -> Result<Vec<super::groups::GroupView>, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let group = find_group(conn, &caller.account_id, group)?;
    let tree = Tree::load(conn, &caller.account_id)?;
    let mut ids = if inherited { tree.descendants(&group.id) } else { tree.children_of(&group.id) };
    if include_self {
        ids.push(group.id.clone());
    }
    super::groups::views_by_ids(conn, &caller.account_id, &ids)
}
