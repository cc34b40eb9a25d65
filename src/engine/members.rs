//! Putting users into groups — the core job — taking them out, and listing
//! members. Each use case checks the principal's permission itself.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::access::{grants_of_user_in, grants_through_each, lacks, may_grant, require, require_admin, require_may_grant_through, Grants};
use super::groups::find_group;
use super::now;
use super::users::find_user;
use crate::db::groups::Group;
use crate::db::hierarchy::Snapshot;
use crate::db::memberships::Counted;
use crate::db::users::{User, UserFilter};
use crate::db::{groups, member_pages, memberships, users, Read, Write};
use crate::domain::{
    AccountId, GroupId, GroupIdentifier, Page, Permission, Principal, Search, Sort, UserId, UserIdList, UserIdentifier, UserSort,
};
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

/// One single add of a batch ([`add_each`]).
#[derive(Debug, Clone)]
pub struct OneAdd {
    pub principal: Principal,
    pub group: GroupIdentifier,
    pub user: UserIdentifier,
}

/// What [`add_each`] decided for one add: the membership to write, or the
/// error [`add_user_to_group`] would have answered.
pub type AddVerdict = Result<(AccountId, GroupId, UserId), Error>;

/// Checks many single adds at once, each exactly as [`add_user_to_group`]
/// checks one (the permission, then the group, then what membership of it
/// grants, then the user; the same errors), with a handful of queries for
/// the whole batch instead of several per add: each distinct caller's
/// grants, each account's groups and users, and the groups' grants are read
/// once. Writes nothing; [`memberships::add_pairs`] writes the verdicts.
pub fn add_each(tx: &mut Read, adds: &[OneAdd]) -> Result<Vec<AddVerdict>, Error> {
    // Each account's hierarchy read once for the callers' grants and the
    // groups' grants alike.
    let mut hierarchies: HashMap<AccountId, Snapshot> = HashMap::new();
    let mut held: HashMap<(AccountId, UserId), Grants> = HashMap::new();
    for add in adds {
        let p = add.principal;
        if let Entry::Vacant(slot) = held.entry((p.account, p.user)) {
            let hierarchy = hierarchies.entry(p.account).or_insert_with(|| Snapshot::new(p.account));
            slot.insert(grants_of_user_in(tx, hierarchy, p.user)?);
        }
    }
    let permitted = |add: &OneAdd| held[&(add.principal.account, add.principal.user)].includes(Permission::GroupUpdate);

    // The groups, per account: ids in one query, names one by one.
    let mut found_groups: HashMap<(AccountId, GroupIdentifier), Group> = HashMap::new();
    let mut group_ids: BTreeMap<AccountId, Vec<GroupId>> = BTreeMap::new();
    for add in adds.iter().filter(|a| permitted(a)) {
        match &add.group {
            GroupIdentifier::Id(id) => group_ids.entry(add.principal.account).or_default().push(*id),
            named => {
                let key = (add.principal.account, named.clone());
                if let Entry::Vacant(slot) = found_groups.entry(key) {
                    if let Some(g) = groups::find(tx, add.principal.account, named)? {
                        slot.insert(g);
                    }
                }
            }
        }
    }
    for (account, ids) in &group_ids {
        for g in groups::by_ids(tx, *account, ids)? {
            found_groups.insert((*account, GroupIdentifier::Id(g.id)), g);
        }
    }
    let mut granted: HashMap<GroupId, Grants> = HashMap::new();
    let mut by_account: BTreeMap<AccountId, Vec<&Group>> = BTreeMap::new();
    for ((account, _), g) in &found_groups {
        by_account.entry(*account).or_default().push(g);
    }
    for (account, of) in by_account {
        let hierarchy = hierarchies.entry(account).or_insert_with(|| Snapshot::new(account));
        granted.extend(grants_through_each(tx, hierarchy, &of)?);
    }

    // The users, per account: ids in one query, emails and usernames one by one.
    let mut found_users: HashMap<(AccountId, UserIdentifier), UserId> = HashMap::new();
    let mut user_ids: BTreeMap<AccountId, Vec<UserId>> = BTreeMap::new();
    for add in adds.iter().filter(|a| permitted(a)) {
        match &add.user {
            UserIdentifier::Id(id) => user_ids.entry(add.principal.account).or_default().push(*id),
            other => {
                let key = (add.principal.account, other.clone());
                if let Entry::Vacant(slot) = found_users.entry(key) {
                    if let Some(u) = users::find(tx, add.principal.account, other)? {
                        slot.insert(u.id);
                    }
                }
            }
        }
    }
    for (account, ids) in &user_ids {
        for id in users::existing_ids(tx, *account, ids)? {
            found_users.insert((*account, UserIdentifier::Id(id)), id);
        }
    }

    Ok(adds
        .iter()
        .map(|add| {
            let account = add.principal.account;
            if !permitted(add) {
                return Err(lacks(Permission::GroupUpdate));
            }
            let group = found_groups.get(&(account, add.group.clone())).ok_or_else(Error::group_not_found)?;
            may_grant(&held[&(account, add.principal.user)], &granted[&group.id], group)?;
            let user = found_users.get(&(account, add.user.clone())).ok_or_else(Error::user_not_found)?;
            Ok((account, group.id, *user))
        })
        .collect())
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
    crate::db::hierarchy::is_member(tx, principal.account, group.id, user.id)
}

pub struct MemberPage<T = User> {
    pub items: Vec<T>,
    pub total: i64,
    /// The cursor for the next page, when there may be one.
    pub next_cursor: Option<UserId>,
}

/// Direct members in id order, a keyset page after `after` (v1), each live
/// member handed to `f` as its row arrives.
pub fn list_members<T>(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    after: Option<UserId>,
    limit: i64,
    f: &mut dyn FnMut(User) -> T,
) -> Result<MemberPage<T>, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    // A page holds fewer than `limit` items when some members were deleted;
    // only the last page has no cursor.
    let members = memberships::member_users(tx, group.id, after, limit, &mut |u| (u.id, u.deleted_at.is_none().then(|| f(u))))?;
    let next_cursor = if members.len() as i64 == limit { members.last().map(|(id, _)| *id) } else { None };
    let items = members.into_iter().filter_map(|(_, item)| item).collect();
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
pub fn list_members_paged<T>(
    tx: &mut Read,
    principal: &Principal,
    group: &GroupIdentifier,
    query: &MemberQuery,
    f: &mut dyn FnMut(User) -> T,
) -> Result<super::users::UserPage<T>, Error> {
    require(tx, principal, Permission::GroupRead)?;
    let group = find_group(tx, principal.account, group)?;
    let excluded = super::hierarchy::resolve_ids(tx, principal.account, &query.excluded)?;
    let groups = super::hierarchy::member_groups(tx, principal.account, &group, query.inherited, &excluded)?;
    // The direct members without a search: the group's counter, not a count.
    let direct = match (&query.search, groups.as_slice()) {
        (None, [only]) if *only == group.id => Some(*only),
        _ => None,
    };
    let mut filter = UserFilter { any: query.search.clone(), member_of: Some(groups), ..UserFilter::default() };
    let counted = match direct {
        Some(group) => Some(memberships::counted(tx, group)?),
        None => None,
    };
    let total = match counted {
        Some(counted) => counted.total,
        None => users::count(tx, principal.account, &filter)?,
    };
    let page = query.page;
    if let (Some(group), Some(counted)) = (direct, counted) {
        if let Some(items) = page_from_anchors(tx, principal.account, group, counted, &query.sort, page, &filter, f)? {
            return Ok(super::users::UserPage { items, total });
        }
    }
    // An offset page costs its offset: a page in the back half of an exact
    // total is read from the end, in the reverse order, and turned round.
    let from_end = total - page.offset - page.limit;
    let backwards = direct.is_some() && page.offset > total / 2 && page.offset < total;
    let depth = if backwards { from_end.max(0) } else { page.offset } + page.limit;
    filter.members_in_order = direct.is_some() && users::walk_in_order_pays(tx, total, depth)?;
    let items = if backwards {
        let back = Page { offset: from_end.max(0), limit: page.limit + from_end.min(0) };
        let mut items = users::list_map(tx, principal.account, &filter, &query.sort.reversed(), back, f)?;
        items.reverse();
        items
    } else {
        users::list_map(tx, principal.account, &filter, &query.sort, page, f)?
    };
    Ok(super::users::UserPage { items, total })
}

/// A page of a group's direct members in email order (the default; either
/// way), of a group of more than a stride, read from where its stride
/// begins ([`member_pages`]): every page costs the same. `None`: no anchors
/// at hand (or not such a page), read it the usual way.
#[allow(clippy::too_many_arguments)]
fn page_from_anchors<T>(
    tx: &mut Read,
    account: AccountId,
    group: GroupId,
    counted: Counted,
    sort: &Sort<UserSort>,
    page: Page,
    filter: &UserFilter,
    f: &mut dyn FnMut(User) -> T,
) -> Result<Option<Vec<T>>, Error> {
    if sort.key != UserSort::Email || !sort.then.is_empty() {
        return Ok(None);
    }
    let total = counted.total;
    // The page as positions [start, end) of the ascending order.
    let (start, end) = match sort.descending {
        false => (page.offset, page.offset.saturating_add(page.limit).min(total)),
        true => ((total - page.offset - page.limit).max(0), total - page.offset),
    };
    // A group of one stride is read whole as cheaply.
    if start >= end || total <= member_pages::STRIDE {
        return Ok(None);
    }
    let Some(anchors) = member_pages::anchors(tx, account, group, counted)? else { return Ok(None) };
    // Read forward from the kept member at or before the page in the front
    // half, backward from the one after it in the back half: either way a
    // wide range of keys (a narrow one near the end was planned as a hash of
    // every membership of the group on PostgreSQL) and under a stride to skip.
    let limit = end - start;
    let forward = start < total / 2;
    let (from, before, skip) = if forward {
        let (from, skip) = anchors.start(start);
        (from, None, skip)
    } else {
        let (before, skip) = anchors.end(end, total);
        (None, before, skip)
    };
    let filter = UserFilter {
        email_from: from.map(str::to_owned),
        email_before: before.map(str::to_owned),
        members_in_order: users::walk_in_order_pays(tx, total, skip + limit)?,
        ..filter.clone()
    };
    let order = Sort { key: UserSort::Email, descending: !forward, then: Vec::new() };
    let mut items = users::list_map(tx, account, &filter, &order, Page { offset: skip, limit }, f)?;
    if sort.descending == forward {
        items.reverse();
    }
    Ok(Some(items))
}
