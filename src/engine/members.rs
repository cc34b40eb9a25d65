//! Putting users into groups — the core job — taking them out, and listing
//! members. Each use case checks the caller's permission inside its
//! transaction.

use std::collections::HashSet;

use uuid::Uuid;

use super::access::require_may_grant_through;
use super::groups::find_group;
use super::now;
use super::users::find_user;
use crate::auth::Caller;
use crate::db::groups::Group;
use crate::db::users::{User, UserFilter};
use crate::db::{groups, memberships, users, Conn};
use crate::domain::{GroupIdentifier, Page, Permission, Search, Sort, UserIdList, UserIdentifier, UserSort};
use crate::error::{ApiError, ErrorKind};

/// Taking members out of System Administrators demotes administrators, so
/// only administrators do it. (Adding members anywhere follows
/// [`require_may_grant_through`].)
fn require_admin_for_system(conn: &mut Conn, caller: &Caller, group: &Group) -> Result<(), ApiError> {
    if group.is_system {
        caller.require_admin(conn)
    } else {
        Ok(())
    }
}

/// Adds one user; succeeds also when the user is already a member.
pub fn add_user_to_group(conn: &mut Conn, caller: &Caller, group: &GroupIdentifier, user: &UserIdentifier) -> Result<(), ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let group = find_group(conn, &caller.account_id, group)?;
        require_may_grant_through(conn, caller, &group)?;
        let user = users::find(conn, &caller.account_id, user)?.ok_or_else(ApiError::user_not_found)?;
        memberships::add(conn, &group.id, &[user.id], now())?;
        Ok(())
    })
}

/// Checks that every id names a live user of the account; else 400 listing
/// all that do not (a user of another account is reported like a missing one).
fn check_users(conn: &mut Conn, account_id: &str, user_ids: &UserIdList) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = user_ids.as_slice().iter().map(Uuid::to_string).collect();
    let existing: HashSet<String> = users::existing_ids(conn, account_id, &ids)?.into_iter().collect();
    if existing.len() != ids.len() {
        let unknown: Vec<Uuid> = user_ids.as_slice().iter().filter(|id| !existing.contains(&id.to_string())).copied().collect();
        return Err(ApiError::unknown_users(&unknown));
    }
    Ok(ids)
}

/// Adds all users or none: every id is checked inside the transaction before
/// anything is written. Returns how many memberships are new.
pub fn add_users_to_group(conn: &mut Conn, caller: &Caller, group: &GroupIdentifier, user_ids: &UserIdList) -> Result<usize, ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let group = find_group(conn, &caller.account_id, group)?;
        require_may_grant_through(conn, caller, &group)?;
        let ids = check_users(conn, &caller.account_id, user_ids)?;
        Ok(memberships::add(conn, &group.id, &ids, now())?)
    })
}

/// Fails when removing `leaving` would leave System Administrators without a
/// live member. Every path that can take a live member out of System
/// Administrators (membership removal, user deletion, and whatever comes
/// later) calls this before writing: it takes the account's administrators
/// lock, so two such removals cannot both pass on what the other is removing.
pub fn keep_an_administrator(conn: &mut Conn, account_id: &str, leaving: &[String]) -> Result<(), ApiError> {
    crate::db::lock_account(conn, "administrators", account_id)?;
    let Some(system) = groups::find_system(conn, account_id)? else { return Ok(()) };
    let filter = UserFilter { email: None, name: None, any: None, include_deleted: false, member_of: Some(vec![system.id]) };
    let staying = Page { offset: 0, limit: leaving.len() as i64 + 1 };
    let admins = users::list(conn, account_id, &filter, Sort { key: UserSort::CreatedAt, descending: false }, staying)?;
    if !admins.is_empty() && admins.iter().all(|u| leaving.contains(&u.id)) {
        return Err(ApiError::new(ErrorKind::LastAdministrator, "System Administrators must keep at least one member")
            .developer("Add another administrator first"));
    }
    Ok(())
}

/// Takes the users out of the group, all in one transaction; ids that are not
/// members (or name no user) are ignored. Returns how many left.
pub fn remove_users_from_group(
    conn: &mut Conn,
    caller: &Caller,
    group: &GroupIdentifier,
    user_ids: &UserIdList,
) -> Result<usize, ApiError> {
    let ids: Vec<String> = user_ids.as_slice().iter().map(Uuid::to_string).collect();
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let group = find_group(conn, &caller.account_id, group)?;
        require_admin_for_system(conn, caller, &group)?;
        if group.is_system {
            keep_an_administrator(conn, &caller.account_id, &ids)?;
        }
        Ok(memberships::remove(conn, &group.id, &ids)?)
    })
}

/// Takes one user out of the group; 404 when they were not a direct member.
pub fn remove_user_from_group(conn: &mut Conn, caller: &Caller, group: &GroupIdentifier, user: &UserIdentifier) -> Result<(), ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::GroupUpdate)?;
        let group = find_group(conn, &caller.account_id, group)?;
        require_admin_for_system(conn, caller, &group)?;
        let user = find_user(conn, &caller.account_id, user, false)?;
        if group.is_system {
            keep_an_administrator(conn, &caller.account_id, &[user.id.clone()])?;
        }
        if memberships::remove(conn, &group.id, &[user.id])? == 0 {
            return Err(ApiError::new(ErrorKind::NotAMember, "User not in group"));
        }
        Ok(())
    })
}

/// Whether the user belongs to the group, directly or through a child group.
pub fn is_member(conn: &mut Conn, caller: &Caller, group: &GroupIdentifier, user: &UserIdentifier) -> Result<bool, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let group = find_group(conn, &caller.account_id, group)?;
    let user = find_user(conn, &caller.account_id, user, false)?;
    let groups = super::hierarchy::member_groups(conn, &caller.account_id, &group, true, &HashSet::new())?;
    Ok(memberships::is_member_of_any(conn, &user.id, &groups)?)
}

pub struct MemberPage {
    pub items: Vec<User>,
    pub total: i64,
    /// The cursor for the next page, when there may be one.
    pub next_cursor: Option<String>,
}

/// Direct members in id order, a keyset page after `after` (v1).
pub fn list_members(
    conn: &mut Conn,
    caller: &Caller,
    group: &GroupIdentifier,
    after: Option<Uuid>,
    limit: i64,
) -> Result<MemberPage, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let group = find_group(conn, &caller.account_id, group)?;
    let after = after.map(|id| id.to_string());
    // Two primary-key walks, whatever the planner thinks: the page of member
    // ids, then those users. A page holds fewer than `limit` items when some
    // members were deleted; only the last page has no cursor.
    let ids = memberships::member_ids(conn, &group.id, after.as_deref(), limit)?;
    let next_cursor = if ids.len() as i64 == limit { ids.last().cloned() } else { None };
    let items = users::live_by_ids(conn, &ids)?;
    let total = memberships::count_members(conn, &group.id)?;
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
    conn: &mut Conn,
    caller: &Caller,
    group: &GroupIdentifier,
    query: &MemberQuery,
) -> Result<super::users::UserPage, ApiError> {
    caller.require(conn, Permission::GroupRead)?;
    let group = find_group(conn, &caller.account_id, group)?;
    let excluded = super::hierarchy::resolve_ids(conn, &caller.account_id, &query.excluded)?;
    let groups = super::hierarchy::member_groups(conn, &caller.account_id, &group, query.inherited, &excluded)?;
    let filter = UserFilter { email: None, name: None, any: query.search.clone(), include_deleted: false, member_of: Some(groups) };
    let items = users::list(conn, &caller.account_id, &filter, query.sort, query.page)?;
    let total = users::count(conn, &caller.account_id, &filter)?;
    Ok(super::users::UserPage { items, total })
}
