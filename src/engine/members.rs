//! Putting users into groups — the core job — taking them out, and listing
//! members. Each use case checks the principal's permission itself.

use std::collections::HashSet;

use super::access::{require, require_admin, require_may_grant_through};
use super::groups::find_group;
use super::now;
use super::users::find_user;
use crate::db::groups::Group;
use crate::db::users::{User, UserFilter};
use crate::db::{groups, memberships, users, Read, Write};
use crate::domain::{AccountId, GroupIdentifier, Page, Permission, Principal, Search, Sort, UserId, UserIdList, UserIdentifier, UserSort};
use crate::error::{Error, ErrorKind};

/// Taking members out of System Administrators demotes administrators, so
/// only administrators do it. (Adding members anywhere follows
/// [`require_may_grant_through`].)
fn require_admin_for_system(tx: &mut Read, principal: &Principal, group: &Group) -> Result<(), Error> {
    if group.is_system {
        require_admin(tx, principal)
    } else {
        Ok(())
    }
}

/// Adds one user; succeeds also when the user is already a member.
pub fn add_user_to_group(w: &mut Write, principal: &Principal, group: &GroupIdentifier, user: &UserIdentifier) -> Result<(), Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let group = find_group(w, principal.account, group)?;
    require_may_grant_through(w, principal, &group)?;
    let user = users::find(w, principal.account, user)?.ok_or_else(Error::user_not_found)?;
    memberships::add(w, principal.account, group.id, &[user.id], now())?;
    Ok(())
}

/// Checks that every id names a live user of the account; else 400 listing
/// all that do not (a user of another account is reported like a missing one).
fn check_users(tx: &mut Read, account: AccountId, user_ids: &UserIdList) -> Result<(), Error> {
    let ids = user_ids.as_slice();
    let existing: HashSet<UserId> = users::existing_ids(tx, account, ids)?.into_iter().collect();
    if existing.len() != ids.len() {
        let unknown: Vec<UserId> = ids.iter().filter(|id| !existing.contains(id)).copied().collect();
        return Err(Error::unknown_users(&unknown));
    }
    Ok(())
}

/// Adds all users or none: every id is checked inside the transaction before
/// anything is written. Returns how many memberships are new.
pub fn add_users_to_group(w: &mut Write, principal: &Principal, group: &GroupIdentifier, user_ids: &UserIdList) -> Result<usize, Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let group = find_group(w, principal.account, group)?;
    require_may_grant_through(w, principal, &group)?;
    check_users(w, principal.account, user_ids)?;
    Ok(memberships::add(w, principal.account, group.id, user_ids.as_slice(), now())?.len())
}

/// Fails when removing `leaving` would leave System Administrators without a
/// live member. Every path that can take a live member out of System
/// Administrators (membership removal, user deletion, and whatever comes
/// later) calls this before writing: it takes the account's administrators
/// lock, so two such removals cannot both pass on what the other is removing.
pub fn keep_an_administrator(w: &mut Write, account: AccountId, leaving: &[UserId]) -> Result<(), Error> {
    crate::db::lock_account(w, "administrators", account)?;
    let Some(system) = groups::find_system(w, account)? else { return Ok(()) };
    // A suspended administrator can do nothing: they do not count.
    let filter = UserFilter { member_of: Some(vec![system.id]), exclude_suspended: true, ..UserFilter::default() };
    let staying = Page { offset: 0, limit: leaving.len() as i64 + 1 };
    let admins = users::list(w, account, &filter, &Sort::default(), staying)?;
    if !admins.is_empty() && admins.iter().all(|u| leaving.contains(&u.id)) {
        return Err(Error::new(ErrorKind::LastAdministrator, "System Administrators must keep at least one member")
            .developer("Add another administrator first"));
    }
    Ok(())
}

/// Takes the users out of the group, all in one transaction; ids that are not
/// members (or name no user) are ignored. Returns how many left.
pub fn remove_users_from_group(
    w: &mut Write,
    principal: &Principal,
    group: &GroupIdentifier,
    user_ids: &UserIdList,
) -> Result<usize, Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let group = find_group(w, principal.account, group)?;
    require_admin_for_system(w, principal, &group)?;
    if group.is_system {
        keep_an_administrator(w, principal.account, user_ids.as_slice())?;
    }
    Ok(memberships::remove(w, principal.account, group.id, user_ids.as_slice())?.len())
}

/// Takes one user out of the group; 404 when they were not a direct member.
pub fn remove_user_from_group(w: &mut Write, principal: &Principal, group: &GroupIdentifier, user: &UserIdentifier) -> Result<(), Error> {
    require(w, principal, Permission::GroupUpdate)?;
    let group = find_group(w, principal.account, group)?;
    require_admin_for_system(w, principal, &group)?;
    let user = find_user(w, principal.account, user, false)?;
    if group.is_system {
        keep_an_administrator(w, principal.account, &[user.id])?;
    }
    if memberships::remove(w, principal.account, group.id, &[user.id])?.is_empty() {
        return Err(Error::new(ErrorKind::NotAMember, "User not in group"));
    }
    Ok(())
}

/// Whether the user belongs to the group, directly or through a child group.
pub fn is_member(tx: &mut Read, principal: &Principal, group: &GroupIdentifier, user: &UserIdentifier) -> Result<bool, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    let user = find_user(tx, principal.account, user, false)?;
    let groups = super::hierarchy::member_groups(tx, principal.account, &group, true, &HashSet::new())?;
    Ok(memberships::is_member_of_any(tx, user.id, &groups)?)
}

pub struct MemberPage {
    pub items: Vec<User>,
    pub total: i64,
    /// The cursor for the next page, when there may be one.
    pub next_cursor: Option<UserId>,
}

/// Direct members in id order, a keyset page after `after` (v1).
pub fn list_members(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    after: Option<UserId>,
    limit: i64,
) -> Result<MemberPage, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    // Two primary-key walks, whatever the planner thinks: the page of member
    // ids, then those users. A page holds fewer than `limit` items when some
    // members were deleted; only the last page has no cursor.
    let ids = memberships::member_ids(tx, group.id, after, limit)?;
    let next_cursor = if ids.len() as i64 == limit { ids.last().copied() } else { None };
    let items = users::live_by_ids(tx, &ids)?;
    let total = memberships::count_members(tx, group.id)?;
    Ok(MemberPage { items, total, next_cursor })
}

/// How the management surface lists members.
pub struct MemberQuery {
    pub inherited: bool,
    pub excluded: Vec<GroupIdentifier>,
    pub search: Option<Search>,
    pub sort: Sort<UserSort>,
    pub page: Page,
}

/// Members (with `inherited`, also of every group below, except the
/// `excluded` subtrees), an offset page of them.
pub fn list_members_paged(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    query: &MemberQuery,
) -> Result<super::users::UserPage, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    let excluded = super::hierarchy::resolve_ids(tx, principal.account, &query.excluded)?;
    let groups = super::hierarchy::member_groups(tx, principal.account, &group, query.inherited, &excluded)?;
    let filter = UserFilter { any: query.search.clone(), member_of: Some(groups), ..UserFilter::default() };
    let items = users::list(tx, principal.account, &filter, &query.sort, query.page)?;
    let total = users::count(tx, principal.account, &filter)?;
    Ok(super::users::UserPage { items, total })
}
