//! Who may do what. A principal holds a permission through a group it
//! belongs to or any group above one; members of System Administrators (or
//! of a group below it) hold everything. And the rule that keeps delegated
//! rights from growing themselves (PRODUCT.md, "Access"): a caller may make
//! someone a member of a group (directly, or by nesting their group under
//! it) only if the caller already holds everything that membership grants;
//! and may change or delete a user only if the caller holds everything that
//! user holds.

use std::collections::{BTreeSet, HashMap};

use crate::db::groups::Group;
use crate::db::hierarchy::{self, Snapshot};
use crate::db::{groups, memberships, Read};
use crate::domain::{AccountId, GroupId, Permission, Principal, UserId};
use crate::error::Error;

/// Whether the principal is an administrator or, with `Some(permission)`,
/// holds it.
pub fn holds(tx: &mut Read, principal: &Principal, permission: Option<Permission>) -> Result<bool, Error> {
    // No group is granted the empty permission: only the system group counts.
    let name = permission.map_or("", |p| p.as_str());
    // The common case, one query: a direct membership grants it.
    if memberships::has_permission(tx, principal.account, principal.user, name)? {
        return Ok(true);
    }
    // Then through the groups above the user's.
    hierarchy::user_holds_through_nesting(tx, principal.account, principal.user, permission)
}

/// 403 unless the principal holds `permission` in their account.
pub fn require(tx: &mut Read, principal: &Principal, permission: Permission) -> Result<(), Error> {
    if holds(tx, principal, Some(permission))? {
        Ok(())
    } else {
        Err(lacks(permission))
    }
}

/// [`require`] for each caller of a batch, a distinct caller checked once:
/// a verdict each, in order (an error of the database fails them all).
pub fn require_each(tx: &mut Read, principals: &[Principal], permission: Permission) -> Result<Vec<Result<(), Error>>, Error> {
    let mut known: Vec<((UserId, AccountId), bool)> = Vec::new();
    let mut verdicts = Vec::with_capacity(principals.len());
    for p in principals {
        let key = (p.user, p.account);
        let held = match known.iter().find(|(k, _)| *k == key) {
            Some((_, held)) => *held,
            None => {
                let held = holds(tx, p, Some(permission))?;
                known.push((key, held));
                held
            }
        };
        verdicts.push(if held { Ok(()) } else { Err(lacks(permission)) });
    }
    Ok(verdicts)
}

/// The 403 of [`require`].
pub fn lacks(permission: Permission) -> Error {
    Error::forbidden().developer(format!("This call needs the '{permission}' permission"))
}

/// 403 unless the principal is one of the account's administrators.
pub fn require_admin(tx: &mut Read, principal: &Principal) -> Result<(), Error> {
    if holds(tx, principal, None)? {
        Ok(())
    } else {
        Err(Error::forbidden().developer("This call needs membership of System Administrators"))
    }
}

/// What membership of some groups grants: everything (a group at or below
/// System Administrators), or a set of permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub admin: bool,
    pub permissions: BTreeSet<Permission>,
}

impl Grants {
    pub fn is_empty(&self) -> bool {
        !self.admin && self.permissions.is_empty()
    }

    /// Whether a holder of `self` holds everything `other` grants.
    pub fn covers(&self, other: &Grants) -> bool {
        self.admin || (!other.admin && other.permissions.is_subset(&self.permissions))
    }

    /// Whether `self` includes `permission` (administrators hold everything).
    pub fn includes(&self, permission: Permission) -> bool {
        self.admin || self.permissions.contains(&permission)
    }

    /// What `other` grants beyond `self`, for messages.
    fn beyond(&self, other: &Grants) -> String {
        if other.admin && !self.admin {
            return "administrator rights (System Administrators is above it)".to_owned();
        }
        let missing: Vec<&str> = other.permissions.difference(&self.permissions).map(|p| p.as_str()).collect();
        missing.join(", ")
    }
}

/// What members of `direct` hold: those groups' grants and the grants of
/// every group above them.
pub fn grants_of_groups(tx: &mut Read, account: AccountId, direct: Vec<GroupId>) -> Result<Grants, Error> {
    grants_of_groups_in(tx, &mut Snapshot::new(account), direct)
}

/// [`grants_of_groups`] as `hierarchy` sees the account.
fn grants_of_groups_in(tx: &mut Read, hierarchy: &mut Snapshot, direct: Vec<GroupId>) -> Result<Grants, Error> {
    if direct.is_empty() {
        return Ok(Grants::default());
    }
    let mut all = direct;
    {
        let above = hierarchy.ancestors(tx, &all)?;
        all.extend(above);
        all.sort_unstable();
        all.dedup();
    }
    if groups::system_among(tx, &all)? {
        return Ok(Grants { admin: true, permissions: BTreeSet::new() });
    }
    let permissions = groups::permissions_of(tx, &all)?.into_iter().map(|(_, p)| p).collect();
    Ok(Grants { admin: false, permissions })
}

/// What a member of `group` holds through it.
pub fn grants_through(tx: &mut Read, group: &Group) -> Result<Grants, Error> {
    if group.is_system {
        return Ok(Grants { admin: true, permissions: BTreeSet::new() });
    }
    grants_of_groups(tx, group.account_id, vec![group.id])
}

/// What a user of the account holds (nothing once deleted).
pub fn grants_of_user(tx: &mut Read, account: AccountId, user: UserId) -> Result<Grants, Error> {
    grants_of_user_in(tx, &mut Snapshot::new(account), user)
}

/// [`grants_of_user`] as `hierarchy` sees the user's account.
pub fn grants_of_user_in(tx: &mut Read, hierarchy: &mut Snapshot, user: UserId) -> Result<Grants, Error> {
    let direct = memberships::groups_of_live_user(tx, hierarchy.account(), user)?;
    grants_of_groups_in(tx, hierarchy, direct)
}

/// 403 unless the principal already holds everything that membership of
/// `group` grants: adding a member to it, or nesting a group under it, hands
/// those grants on.
pub fn require_may_grant_through(tx: &mut Read, principal: &Principal, group: &Group) -> Result<(), Error> {
    let granted = grants_through(tx, group)?;
    if granted.is_empty() {
        return Ok(());
    }
    let held = grants_of_user(tx, principal.account, principal.user)?;
    may_grant(&held, &granted, group)
}

/// The rule of [`require_may_grant_through`], on grants already known.
pub fn may_grant(held: &Grants, granted: &Grants, group: &Group) -> Result<(), Error> {
    if granted.is_empty() || held.covers(granted) {
        return Ok(());
    }
    Err(Error::forbidden().developer(format!(
        "Members of '{}' hold what you do not: {}; only a caller who holds all of it may add members or nest groups there",
        group.name,
        held.beyond(granted)
    )))
}

/// [`grants_through`] for several groups of one account at once: a few
/// queries for the lot, whatever their number.
pub fn grants_through_each(tx: &mut Read, hierarchy: &mut Snapshot, of: &[&Group]) -> Result<HashMap<GroupId, Grants>, Error> {
    let account = hierarchy.account();
    let mut all: Vec<GroupId> = of.iter().map(|g| g.id).collect();
    let mut above: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
    let mut system = of.iter().find(|g| g.is_system).map(|g| g.id);
    if hierarchy.any(tx)? {
        for g in of {
            let ancestors = hierarchy.ancestors(tx, &[g.id])?;
            all.extend(ancestors.iter().copied());
            above.insert(g.id, ancestors);
        }
        system = groups::find_system(tx, account)?.map(|g| g.id);
    }
    all.sort_unstable();
    all.dedup();
    let mut permissions: HashMap<GroupId, Vec<Permission>> = HashMap::new();
    for (group, permission) in groups::permissions_of(tx, &all)? {
        permissions.entry(group).or_default().push(permission);
    }
    let mut each = HashMap::new();
    for g in of {
        let lineage: Vec<GroupId> = std::iter::once(g.id).chain(above.get(&g.id).into_iter().flatten().copied()).collect();
        let grants = if g.is_system || lineage.iter().any(|id| Some(*id) == system) {
            Grants { admin: true, permissions: BTreeSet::new() }
        } else {
            Grants { admin: false, permissions: lineage.iter().flat_map(|id| permissions.get(id).into_iter().flatten().copied()).collect() }
        };
        each.insert(g.id, grants);
    }
    Ok(each)
}

/// 403 unless the principal holds everything the user holds: changing or
/// deleting a more privileged user is acting with their rights.
pub fn require_covers_user(tx: &mut Read, principal: &Principal, user: UserId) -> Result<(), Error> {
    if principal.is(user) {
        return Ok(());
    }
    let theirs = grants_of_user(tx, principal.account, user)?;
    if theirs.is_empty() {
        return Ok(());
    }
    let held = grants_of_user(tx, principal.account, principal.user)?;
    if held.covers(&theirs) {
        return Ok(());
    }
    Err(Error::forbidden().developer(format!("The user holds what you do not: {}", held.beyond(&theirs))))
}
