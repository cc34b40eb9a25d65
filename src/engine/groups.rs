//! Creating, reading, changing and deleting groups.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::access::{require, require_admin};
use super::now;
use super::users::{allowed_rows, decided, Created, Creation};
use crate::db::groups::{self, Group, NewGroup};
use crate::db::{Conn, Read, Write};
use crate::domain::{
    normalize_key, AccountId, Change, GroupDescription, GroupId, GroupIdentifier, GroupName, GroupSort, Page, Permission, Principal,
    Search, Sort,
};
use crate::error::{Error, ErrorKind};

/// Inserts a group after checking that its name is free in the account.
pub fn insert_group(w: &mut Write, account: AccountId, name: GroupName, description: GroupDescription) -> Result<Group, Error> {
    let row = new_row(account, &name, &description, now());
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

/// A group as a client asked for it, without permissions (granting them is
/// an administrator's call, made in a transaction of its own: [`create`]).
#[derive(Debug, Clone)]
pub struct GroupDraft {
    pub name: GroupName,
    pub description: GroupDescription,
    pub custom: Option<String>,
}

/// [`create`] for each draft of a batch, in one transaction that is open on
/// `conn`, as [`super::users::create_each`] does for users: one permission
/// check a caller, one query for the names taken, one insert; each draft
/// answered as alone, in order.
pub fn create_each(conn: &mut Conn, jobs: &[&Creation<GroupDraft>]) -> Result<Vec<Created<GroupView>>, Error> {
    let at = now();
    let (mut verdicts, candidates) = allowed_rows(
        conn,
        jobs,
        Permission::GroupCreate,
        |r: &NewGroup| r.account_id,
        |account, draft| new_row(account, &draft.name, &draft.description, at),
    )?;
    let mut keep = Vec::with_capacity(candidates.len());
    for account_rows in candidates.chunk_by(|(_, a), (_, b)| a.account_id == b.account_id) {
        let keys: Vec<String> = account_rows.iter().map(|(_, r)| r.name_key.clone()).collect();
        let mut taken = groups::taken_names(conn, account_rows[0].1.account_id, &keys)?;
        for (i, row) in account_rows {
            let free = taken.insert(row.name_key.clone());
            if !free {
                verdicts[*i] = Some(Err(Error::name_taken("name")));
            }
            keep.push(free);
        }
    }
    let (owners, rows): (Vec<usize>, Vec<NewGroup>) = candidates.into_iter().zip(keep).filter(|(_, keep)| *keep).map(|(c, _)| c).unzip();
    let inserted = groups::insert_batch(conn, &rows)?;
    for (row, i) in rows.into_iter().zip(owners) {
        let draft = &jobs[i].1;
        if !inserted.contains(&row.id) {
            // Taken by a concurrent transaction since the check (PostgreSQL).
            let taken = groups::find(conn, row.account_id, &GroupIdentifier::Name(row.name_key.clone()))?.is_some();
            verdicts[i] = Some(Err(if taken {
                Error::name_taken("name")
            } else {
                Error::unavailable("a concurrent write got in the way of creating the group").transient()
            }));
            continue;
        }
        let changes = vec![Change::GroupCreated { account: row.account_id, group: row.id }];
        let mut group = row.into_group();
        if let Some(custom) = &draft.custom {
            groups::set_custom(conn, group.id, custom)?;
            group.custom = Some(custom.clone());
        }
        verdicts[i] = Some(Ok((GroupView { group, permissions: Vec::new() }, changes)));
    }
    Ok(decided(verdicts))
}

/// The row of a new group, with a new id.
fn new_row(account: AccountId, name: &GroupName, description: &GroupDescription, at: NaiveDateTime) -> NewGroup {
    NewGroup {
        id: GroupId::new(),
        account_id: account,
        name_key: name.key(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    }
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

/// Which page of a group listing to show: the groups whose name key holds
/// `search`, without the `excluded` ones, in `sort` order (ties by id).
#[derive(Debug, Clone)]
pub struct Selection {
    pub search: Option<String>,
    pub excluded: Vec<GroupIdentifier>,
    pub sort: Sort<GroupSort>,
    pub offset: usize,
    /// None: every group from the offset on.
    pub limit: Option<usize>,
}

impl Selection {
    /// Every group, in name order.
    pub fn all() -> Self {
        Selection {
            search: None,
            excluded: Vec::new(),
            sort: Sort { key: GroupSort::Name, descending: false, then: Vec::new() },
            offset: 0,
            limit: None,
        }
    }

    fn keeps(&self, key: &str, id: GroupId) -> bool {
        self.search.as_ref().is_none_or(|q| key.contains(q.as_str()))
            && !self.excluded.iter().any(|e| match e {
                GroupIdentifier::Id(e) => *e == id,
                GroupIdentifier::Name(name) => name == key,
            })
    }

    /// Whether the order needs nothing but the name key and the id.
    pub fn by_name_only(&self) -> bool {
        self.sort.keys().all(|(k, _)| k == GroupSort::Name)
    }

    /// The order of two groups given their name keys and ids; `by` compares
    /// them on any other key of the sort.
    fn compare(
        &self,
        (ka, a): (&str, GroupId),
        (kb, b): (&str, GroupId),
        by: impl Fn(GroupSort) -> std::cmp::Ordering,
    ) -> std::cmp::Ordering {
        let mut order = std::cmp::Ordering::Equal;
        for (key, descending) in self.sort.keys() {
            let o = if key == GroupSort::Name { ka.cmp(kb) } else { by(key) };
            order = order.then(if descending { o.reverse() } else { o });
        }
        let ids = a.cmp(&b);
        order.then(if self.sort.descending { ids.reverse() } else { ids })
    }

    fn page<T>(&self, all: Vec<T>) -> (i64, Vec<T>) {
        let total = all.len() as i64;
        (total, all.into_iter().skip(self.offset).take(self.limit.unwrap_or(usize::MAX)).collect())
    }

    /// The total of the groups kept and the page of them.
    pub fn apply(&self, groups: Vec<Group>) -> (i64, Vec<Group>) {
        let mut keyed: Vec<(String, Group)> =
            groups.into_iter().map(|g| (normalize_key(&g.name), g)).filter(|(key, g)| self.keeps(key, g.id)).collect();
        keyed.sort_by(|(ka, a), (kb, b)| {
            self.compare((ka, a.id), (kb, b.id), |key| match key {
                GroupSort::Name => std::cmp::Ordering::Equal,
                GroupSort::CreatedAt => a.created_at.cmp(&b.created_at),
                GroupSort::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            })
        });
        let (total, page) = self.page(keyed);
        (total, page.into_iter().map(|(_, g)| g).collect())
    }

    /// [`Self::apply`] on the name keys and ids alone, for an order
    /// [`Self::by_name_only`]: the total and the page's ids, in order.
    pub fn apply_to_keys(&self, keyed: Vec<(&str, GroupId)>) -> (i64, Vec<GroupId>) {
        debug_assert!(self.by_name_only());
        let mut keyed: Vec<(&str, GroupId)> = keyed.into_iter().filter(|(key, id)| self.keeps(key, *id)).collect();
        let total = keyed.len() as i64;
        // Only the groups up to the page's end are put in order (the ids
        // break every tie: the order is total, an unstable sort is exact).
        let order = |a: &(&str, GroupId), b: &(&str, GroupId)| self.compare(*a, *b, |_| std::cmp::Ordering::Equal);
        let end = self.offset.saturating_add(self.limit.unwrap_or(usize::MAX)).min(keyed.len());
        if end == 0 {
            return (total, Vec::new());
        }
        if end < keyed.len() {
            keyed.select_nth_unstable_by(end - 1, order);
            keyed.truncate(end);
        }
        keyed.sort_unstable_by(order);
        (total, keyed.into_iter().skip(self.offset).map(|(_, id)| id).collect())
    }
}

/// [`views_by_ids`] of the page `selection` picks: the permissions of the
/// page's groups only (a user's inherited groups may be thousands).
pub fn page_by_ids(tx: &mut Read, account: AccountId, ids: &[GroupId], selection: &Selection) -> Result<(i64, Vec<GroupView>), Error> {
    let (total, page) = selection.apply(groups::by_ids(tx, account, ids)?);
    Ok((total, with_permissions(tx, page)?))
}

/// The views of the groups `ids` names, in that order.
pub fn views_in_order(tx: &mut Read, account: AccountId, ids: &[GroupId]) -> Result<Vec<GroupView>, Error> {
    let mut found: HashMap<GroupId, Group> = groups::by_ids(tx, account, ids)?.into_iter().map(|g| (g.id, g)).collect();
    let ordered = ids.iter().filter_map(|id| found.remove(id)).collect();
    with_permissions(tx, ordered)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A page picked from the keys alone (only up to the page's end put in
    /// order) is the page of the whole list sorted, in either direction,
    /// with a search and an excluded group, past the end too.
    #[test]
    fn a_page_of_keys_is_the_page_of_the_whole_sorted_list() {
        // Repeated keys, so ids break ties.
        let keys: Vec<String> = (0..300).map(|i| format!("g{}", (i * 7919) % 97)).collect();
        let keyed: Vec<(&str, GroupId)> = keys.iter().map(|k| (k.as_str(), GroupId::new())).collect();
        let excluded = keyed[5].1;
        for descending in [false, true] {
            for search in [None, Some("1".to_owned())] {
                let mut whole: Vec<(&str, GroupId)> =
                    keyed.iter().copied().filter(|(k, id)| search.as_deref().is_none_or(|s| k.contains(s)) && *id != excluded).collect();
                whole.sort();
                if descending {
                    whole.reverse();
                }
                let whole: Vec<GroupId> = whole.into_iter().map(|(_, id)| id).collect();
                for (offset, limit) in
                    [(0, Some(1)), (0, Some(100)), (17, Some(25)), (250, Some(100)), (0, None), (40, None), (400, Some(5))]
                {
                    let selection = Selection {
                        search: search.clone(),
                        excluded: vec![GroupIdentifier::Id(excluded)],
                        sort: Sort { key: GroupSort::Name, descending, then: Vec::new() },
                        offset,
                        limit,
                    };
                    let (total, page) = selection.apply_to_keys(keyed.clone());
                    let expected: Vec<GroupId> = whole.iter().copied().skip(offset).take(limit.unwrap_or(usize::MAX)).collect();
                    assert_eq!(total, whole.len() as i64);
                    assert_eq!(page, expected, "descending {descending}, search {search:?}, offset {offset}, limit {limit:?}");
                }
            }
        }
    }
}
