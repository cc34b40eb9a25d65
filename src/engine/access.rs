//! What groups grant, and the rule that keeps delegated rights from growing
//! themselves (PRODUCT.md, "Access"): a caller may make someone a member of a
//! group (directly, or by nesting their group under it) only if the caller
//! already holds everything that membership grants; and may change or delete
//! a user only if the caller holds everything that user holds.

use std::collections::BTreeSet;

use crate::auth::Caller;
use crate::db::groups::Group;
use crate::db::{groups, hierarchy, memberships, users, Conn};
use crate::domain::Permission;
use crate::error::ApiError;

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
pub fn grants_of_groups(conn: &mut Conn, account_id: &str, direct: Vec<String>) -> Result<Grants, ApiError> {
    if direct.is_empty() {
        return Ok(Grants::default());
    }
    let mut all = direct;
    if hierarchy::any(conn, account_id)? {
        let above = super::hierarchy::Tree::load(conn, account_id)?.ancestors(&all);
        all.extend(above);
        all.sort_unstable();
        all.dedup();
    }
    if groups::system_among(conn, &all)? {
        return Ok(Grants { admin: true, permissions: BTreeSet::new() });
    }
    let permissions = groups::permissions_of(conn, &all)?.into_iter().filter_map(|(_, p)| p.parse().ok()).collect();
    Ok(Grants { admin: false, permissions })
}

/// What a member of `group` holds through it.
pub fn grants_through(conn: &mut Conn, group: &Group) -> Result<Grants, ApiError> {
    if group.is_system {
        return Ok(Grants { admin: true, permissions: BTreeSet::new() });
    }
    grants_of_groups(conn, &group.account_id, vec![group.id.clone()])
}

/// What a user of the account holds (nothing once deleted).
pub fn grants_of_user(conn: &mut Conn, account_id: &str, user_id: &str) -> Result<Grants, ApiError> {
    if users::get(conn, account_id, user_id, false)?.is_none() {
        return Ok(Grants::default());
    }
    let direct = memberships::groups_of(conn, user_id)?;
    grants_of_groups(conn, account_id, direct)
}

/// 403 unless the caller already holds everything that membership of
/// `group` grants: adding a member to it, or nesting a group under it, hands
/// those grants on.
pub fn require_may_grant_through(conn: &mut Conn, caller: &Caller, group: &Group) -> Result<(), ApiError> {
    let granted = grants_through(conn, group)?;
    if granted.is_empty() {
        return Ok(());
    }
    let held = grants_of_user(conn, &caller.account_id, &caller.user_id)?;
    if held.covers(&granted) {
        return Ok(());
    }
    Err(ApiError::forbidden().developer(format!(
        "Members of '{}' hold what you do not: {}; only a caller who holds all of it may add members or nest groups there",
        group.name,
        held.beyond(&granted)
    )))
}

/// 403 unless the caller holds everything the user holds: changing or
/// deleting a more privileged user is acting with their rights.
pub fn require_covers_user(conn: &mut Conn, caller: &Caller, user_id: &str) -> Result<(), ApiError> {
    if caller.is(user_id) {
        return Ok(());
    }
    let theirs = grants_of_user(conn, &caller.account_id, user_id)?;
    if theirs.is_empty() {
        return Ok(());
    }
    let held = grants_of_user(conn, &caller.account_id, &caller.user_id)?;
    if held.covers(&theirs) {
        return Ok(());
    }
    Err(ApiError::forbidden().developer(format!("The user holds what you do not: {}", held.beyond(&theirs))))
}
