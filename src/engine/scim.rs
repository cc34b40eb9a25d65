//! The SCIM surface's use cases over the same engine as every other surface:
//! a SCIM user or group is the same row the other surfaces see, created,
//! changed and deleted by the same use cases and permission rules. A PATCH is
//! one transaction: read, apply every operation, check, write (or nothing).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::access::{require, require_admin, require_may_grant_through};
use super::groups::{self as group_cases, find_group, GroupPatch};
use super::members::keep_an_administrator;
use super::now;
use super::user_status::{self, UserAction};
use super::users::{self as user_cases, UserDraft, UserPatch};
use crate::db::groups::Group;
use crate::db::scim::{self as rows, UserAttributes, Window};
use crate::db::users::User;
use crate::db::{memberships, users, Read, Write};
use crate::domain::profile::UserProfile;
use crate::domain::scim::filter::{AttrPath, Filter};
use crate::domain::scim::patch::{self, MemberChange, Operation};
use crate::domain::scim::{scim_error, Kind, ScimGroup, ScimUser};
use crate::domain::{
    normalize_key, parse_uuid, Email, GroupDescription, GroupId, GroupIdentifier, Permission, PersonName, Principal, UserId, UserIdentifier,
};
use crate::error::{Error, ErrorKind};

/// A user as SCIM shows it: the row and its direct groups `(id, name)`.
#[derive(Debug, Clone)]
pub struct UserResource {
    pub user: User,
    pub groups: Vec<(GroupId, String)>,
}

/// A group as SCIM shows it: the row and its live direct members.
#[derive(Debug, Clone)]
pub struct GroupResource {
    pub group: Group,
    pub members: Vec<UserId>,
}

/// What a listing asks for: the filter, `sortBy` with `sortOrder`, the window.
#[derive(Debug, Clone)]
pub struct Listing {
    pub filter: Option<Filter>,
    pub sort: Option<(AttrPath, bool)>,
    pub window: Window,
}

/// `If-Match`: the version the client last read (`*` matches any).
pub type Precondition = Option<String>;

impl UserResource {
    pub fn scim(&self) -> ScimUser {
        scim_user(&self.user)
    }

    /// `meta.version`: changes whenever anything SCIM shows of the user does.
    pub fn version(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(|(id, name)| format!("{id}:{name}")).collect();
        version(&self.scim().attributes(), &groups, self.user.updated_at)
    }
}

impl GroupResource {
    pub fn scim(&self) -> ScimGroup {
        scim_group(&self.group)
    }

    pub fn version(&self) -> String {
        let members: Vec<String> = self.members.iter().map(ToString::to_string).collect();
        version(&self.scim().attributes(), &members, self.group.updated_at)
    }
}

fn version(attrs: &Map<String, Value>, related: &[String], updated: chrono::NaiveDateTime) -> String {
    let mut h = Sha256::new();
    h.update(Value::Object(attrs.clone()).to_string());
    for r in related {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
    h.update(updated.and_utc().timestamp_micros().to_le_bytes());
    let hex: String = h.finalize().iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// The user as SCIM attributes; `userName` is the identity provider's, else
/// the Rollcall username, else the email.
pub fn scim_user(u: &User) -> ScimUser {
    ScimUser {
        user_name: u.scim_user_name.clone().or_else(|| u.username.clone()).unwrap_or_else(|| u.email.clone()),
        given_name: u.first_name.clone(),
        family_name: u.last_name.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        email_type: u.email_type.clone(),
        email_primary: u.email_primary,
        active: !u.suspended,
        external_id: u.external_id.clone(),
    }
}

fn scim_group(g: &Group) -> ScimGroup {
    ScimGroup { display_name: g.scim_display_name.clone().unwrap_or_else(|| g.name.clone()), external_id: g.external_id.clone() }
}

fn not_found(kind: Kind) -> Error {
    match kind {
        Kind::User => Error::user_not_found(),
        Kind::Group => Error::new(ErrorKind::GroupNotFound, "Group not found"),
    }
}

/// The id in a SCIM path: anything that is not a Rollcall id names nothing (404).
fn id_of(kind: Kind, raw: &str) -> Result<uuid::Uuid, Error> {
    parse_uuid(raw).filter(|u| u.hyphenated().to_string() == raw).ok_or_else(|| not_found(kind))
}

/// `If-Match` (RFC 9110 §13.1.1): `*`, or a list of entity tags of which one
/// must be the current version (weak comparison: `W/` and quotes aside).
fn check_precondition(expected: &Precondition, current: &str) -> Result<(), Error> {
    let Some(list) = expected else { return Ok(()) };
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    let current = bare(current);
    if list.trim() == "*" || list.split(',').any(|tag| bare(tag) == current) {
        return Ok(());
    }
    Err(Error::new(ErrorKind::PreconditionFailed, "The resource changed since the version in If-Match"))
}

fn user_name_free(tx: &mut Read, p: &Principal, user_name: &str, except: Option<UserId>) -> Result<(), Error> {
    if rows::user_name_taken(tx, p.account, &normalize_key(user_name), except)? {
        return Err(Error::name_taken("userName"));
    }
    Ok(())
}

fn display_name_free(tx: &mut Read, p: &Principal, display_name: &str, except: Option<GroupId>) -> Result<(), Error> {
    if rows::display_name_taken(tx, p.account, &normalize_key(display_name), except)? {
        return Err(Error::name_taken("displayName"));
    }
    Ok(())
}

fn attributes(s: &ScimUser) -> UserAttributes {
    UserAttributes {
        scim_user_name: Some(s.user_name.clone()),
        display_name: s.display_name.clone(),
        external_id: s.external_id.clone(),
        email_type: s.email_type.clone(),
        email_primary: s.email_primary,
    }
}

fn load_user(tx: &mut Read, p: &Principal, id: UserId) -> Result<UserResource, Error> {
    let user = users::get(tx, p.account, id, false)?.ok_or_else(Error::user_not_found)?;
    let groups = rows::groups_of_users(tx, &[id])?.into_iter().map(|(_, g, name)| (g, name)).collect();
    Ok(UserResource { user, groups })
}

pub fn get_user(tx: &mut Read, p: &Principal, raw_id: &str) -> Result<UserResource, Error> {
    let id = UserId::from(id_of(Kind::User, raw_id)?);
    let user = user_cases::get(tx, p, &UserIdentifier::Id(id), false)?;
    let groups = rows::groups_of_users(tx, &[id])?.into_iter().map(|(_, g, name)| (g, name)).collect();
    Ok(UserResource { user, groups })
}

pub fn list_users(tx: &mut Read, p: &Principal, listing: &Listing) -> Result<(Vec<UserResource>, i64), Error> {
    require(tx, p, Permission::UserRead)?;
    let sort = listing.sort.as_ref().map(|(a, d)| rows::sort_column(Kind::User, a).map(|c| (c, *d))).transpose()?;
    let (found, total) = rows::users_page(tx, p.account, listing.filter.as_ref(), sort, listing.window)?;
    let ids: Vec<UserId> = found.iter().map(|u| u.id).collect();
    let mut groups: HashMap<UserId, Vec<(GroupId, String)>> = HashMap::new();
    for (user, group, name) in rows::groups_of_users(tx, &ids)? {
        groups.entry(user).or_default().push((group, name));
    }
    let items = found.into_iter().map(|user| UserResource { groups: groups.remove(&user.id).unwrap_or_default(), user }).collect();
    Ok((items, total))
}

pub fn create_user(w: &mut Write, p: &Principal, s: ScimUser) -> Result<UserResource, Error> {
    require(w, p, Permission::UserCreate)?;
    user_name_free(w, p, &s.user_name, None)?;
    let draft = UserDraft {
        email: Email::parse(&s.email)?,
        username: None,
        first_name: PersonName::parse("name.givenName", s.given_name.as_deref())?,
        last_name: PersonName::parse("name.familyName", s.family_name.as_deref())?,
        password_hash: None,
        suspended: !s.active,
        profile: UserProfile::default(),
    };
    let user = user_cases::create(w, p, draft)?;
    rows::set_user_attributes(w, p.account, user.id, &attributes(&s))?;
    load_user(w, p, user.id)
}

/// Writes `s` over the user (a PUT, or a PATCH's result), through the same
/// use cases as the other surfaces' updates and user actions.
fn write_user(w: &mut Write, p: &Principal, current: &UserResource, s: &ScimUser) -> Result<UserResource, Error> {
    let id = current.user.id;
    let ident = UserIdentifier::Id(id);
    // The same permission as any change of a user, even when nothing changes,
    // and before the uniqueness check (a 409 would tell who has a userName).
    require(w, p, Permission::UserUpdate)?;
    super::access::require_covers_user(w, p, id)?;
    if *s == current.scim() {
        return Ok(current.clone());
    }
    user_name_free(w, p, &s.user_name, Some(id))?;
    let patch = UserPatch {
        email: Some(Email::parse(&s.email)?),
        first_name: Some(PersonName::parse("name.givenName", s.given_name.as_deref())?),
        last_name: Some(PersonName::parse("name.familyName", s.family_name.as_deref())?),
        ..UserPatch::default()
    };
    user_cases::update(w, p, &ident, &patch)?;
    rows::set_user_attributes(w, p.account, id, &attributes(s))?;
    if s.active == current.user.suspended {
        let action = if s.active { UserAction::Unsuspend } else { UserAction::Suspend };
        user_status::act(w, p, &ident, action, now())?;
    }
    load_user(w, p, id)
}

pub fn replace_user(
    w: &mut Write,
    p: &Principal,
    raw_id: &str,
    attrs: &Map<String, Value>,
    expected: &Precondition,
) -> Result<UserResource, Error> {
    let current = get_user(w, p, raw_id)?;
    check_precondition(expected, &current.version())?;
    // `active` left out of a PUT is not asserted: the user stays as they are.
    let mut attrs = attrs.clone();
    attrs.entry("active").or_insert(Value::Bool(!current.user.suspended));
    let s = ScimUser::from_attributes(&attrs)?;
    write_user(w, p, &current, &s)
}

pub fn patch_user(w: &mut Write, p: &Principal, raw_id: &str, ops: &[Operation], expected: &Precondition) -> Result<UserResource, Error> {
    let current = get_user(w, p, raw_id)?;
    check_precondition(expected, &current.version())?;
    let mut doc = current.scim().attributes();
    let members = patch::apply(Kind::User, &mut doc, ops)?;
    debug_assert!(members.is_empty(), "users have no members");
    let s = ScimUser::from_attributes(&doc)?;
    write_user(w, p, &current, &s)
}

pub fn delete_user(w: &mut Write, p: &Principal, raw_id: &str) -> Result<(), Error> {
    let id = UserId::from(id_of(Kind::User, raw_id)?);
    user_cases::delete(w, p, &UserIdentifier::Id(id))
}

fn load_group(tx: &mut Read, p: &Principal, id: GroupId) -> Result<GroupResource, Error> {
    let group = find_group(tx, p.account, &GroupIdentifier::Id(id))?;
    let members = rows::members_of_groups(tx, &[id])?.into_iter().map(|(_, u)| u).collect();
    Ok(GroupResource { group, members })
}

pub fn get_group(tx: &mut Read, p: &Principal, raw_id: &str) -> Result<GroupResource, Error> {
    let id = GroupId::from(id_of(Kind::Group, raw_id)?);
    require(tx, p, Permission::GroupRead)?;
    load_group(tx, p, id)
}

/// A page of groups; `with_members` false when the client excluded them
/// (Entra's `excludedAttributes=members`), so none are read.
pub fn list_groups(tx: &mut Read, p: &Principal, listing: &Listing, with_members: bool) -> Result<(Vec<GroupResource>, i64), Error> {
    require(tx, p, Permission::GroupRead)?;
    let sort = listing.sort.as_ref().map(|(a, d)| rows::sort_column(Kind::Group, a).map(|c| (c, *d))).transpose()?;
    let (found, total) = rows::groups_page(tx, p.account, listing.filter.as_ref(), sort, listing.window)?;
    let ids: Vec<GroupId> = found.iter().map(|g| g.id).collect();
    let mut members: HashMap<GroupId, Vec<UserId>> = HashMap::new();
    if with_members {
        for (group, user) in rows::members_of_groups(tx, &ids)? {
            members.entry(group).or_default().push(user);
        }
    }
    let items = found.into_iter().map(|group| GroupResource { members: members.remove(&group.id).unwrap_or_default(), group }).collect();
    Ok((items, total))
}

/// The member values that name live users of the account; others are
/// ignored (identity providers push memberships independently of users).
fn known_users(tx: &mut Read, p: &Principal, values: &[String]) -> Result<Vec<UserId>, Error> {
    let ids: Vec<UserId> = values.iter().filter_map(|v| parse_uuid(v)).map(UserId::from).collect::<BTreeSet<_>>().into_iter().collect();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        out.extend(users::existing_ids(tx, p.account, chunk)?);
    }
    Ok(out)
}

/// Applies member changes as one net set of additions and removals, under
/// the rules of every other membership change.
fn change_members(w: &mut Write, p: &Principal, group: &Group, changes: Vec<MemberChange>) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    require(w, p, Permission::GroupUpdate)?;
    // Net effect: either (add, remove) on top of the current members, or a replacement.
    let mut replace: Option<HashSet<UserId>> = None;
    let (mut add, mut remove): (HashSet<UserId>, HashSet<UserId>) = (HashSet::new(), HashSet::new());
    for change in changes {
        match change {
            MemberChange::Add(values) => {
                for id in known_users(w, p, &values)? {
                    remove.remove(&id);
                    match &mut replace {
                        Some(set) => {
                            set.insert(id);
                        }
                        None => {
                            add.insert(id);
                        }
                    }
                }
            }
            MemberChange::Remove(values) => {
                for id in values.iter().filter_map(|v| parse_uuid(v)).map(UserId::from) {
                    add.remove(&id);
                    match &mut replace {
                        Some(set) => {
                            set.remove(&id);
                        }
                        None => {
                            remove.insert(id);
                        }
                    }
                }
            }
            MemberChange::Replace(values) => {
                add.clear();
                remove.clear();
                replace = Some(known_users(w, p, &values)?.into_iter().collect());
            }
        }
    }
    if let Some(wanted) = replace {
        let current: HashSet<UserId> = memberships::all_member_ids(w, group.id)?.into_iter().collect();
        add = wanted.difference(&current).copied().collect();
        remove = current.difference(&wanted).copied().collect();
    }
    if !add.is_empty() {
        require_may_grant_through(w, p, group)?;
        let add: Vec<UserId> = add.into_iter().collect();
        memberships::add(w, p.account, group.id, &add, now())?;
    }
    if !remove.is_empty() {
        let remove: Vec<UserId> = remove.into_iter().collect();
        if group.is_system {
            require_admin(w, p)?;
            keep_an_administrator(w, p.account, &remove)?;
        }
        for chunk in remove.chunks(1000) {
            memberships::remove(w, p.account, group.id, chunk)?;
        }
    }
    Ok(())
}

pub fn create_group(w: &mut Write, p: &Principal, g: ScimGroup, members: Option<Vec<String>>) -> Result<GroupResource, Error> {
    require(w, p, Permission::GroupCreate)?;
    display_name_free(w, p, &g.display_name, None)?;
    let (name, apart) = g.group_name()?;
    let view = group_cases::create(w, p, name, GroupDescription::parse(None)?, None, None)?;
    let group = view.group;
    if g.external_id.is_some() || apart.is_some() {
        rows::set_group_attributes(w, p.account, group.id, g.external_id.as_deref(), apart.as_deref())?;
    }
    if let Some(values) = members.filter(|m| !m.is_empty()) {
        change_members(w, p, &group, vec![MemberChange::Add(values)])?;
    }
    load_group(w, p, group.id)
}

fn write_group(
    w: &mut Write,
    p: &Principal,
    current: &GroupResource,
    g: &ScimGroup,
    members: Vec<MemberChange>,
) -> Result<GroupResource, Error> {
    require(w, p, Permission::GroupUpdate)?;
    let before = current.scim();
    let id = current.group.id;
    if g.display_name != before.display_name || g.external_id != before.external_id {
        display_name_free(w, p, &g.display_name, Some(id))?;
        let (name, apart) = g.group_name()?;
        if name.as_str() != current.group.name {
            let patch = GroupPatch { name: Some(name), ..GroupPatch::default() };
            group_cases::update(w, p, &GroupIdentifier::Id(id), &patch)?;
        }
        rows::set_group_attributes(w, p.account, id, g.external_id.as_deref(), apart.as_deref())?;
    }
    change_members(w, p, &current.group, members)?;
    load_group(w, p, id)
}

/// PUT: `members` replaces the members when given; left out, they are not
/// asserted and stay (a rename never empties a group by accident).
pub fn replace_group(
    w: &mut Write,
    p: &Principal,
    raw_id: &str,
    g: ScimGroup,
    members: Option<Vec<String>>,
    expected: &Precondition,
) -> Result<GroupResource, Error> {
    let current = get_group(w, p, raw_id)?;
    check_precondition(expected, &current.version())?;
    let changes = members.map(|m| vec![MemberChange::Replace(m)]).unwrap_or_default();
    write_group(w, p, &current, &g, changes)
}

pub fn patch_group(w: &mut Write, p: &Principal, raw_id: &str, ops: &[Operation], expected: &Precondition) -> Result<GroupResource, Error> {
    let current = get_group(w, p, raw_id)?;
    check_precondition(expected, &current.version())?;
    let mut doc = current.scim().attributes();
    let members = patch::apply(Kind::Group, &mut doc, ops)?;
    if doc.get("displayName").is_none_or(Value::is_null) {
        return Err(scim_error("mutability", "displayName is required and cannot be removed"));
    }
    let g = ScimGroup::from_attributes(&doc)?;
    write_group(w, p, &current, &g, members)
}

pub fn delete_group(w: &mut Write, p: &Principal, raw_id: &str) -> Result<(), Error> {
    let id = GroupId::from(id_of(Kind::Group, raw_id)?);
    group_cases::delete(w, p, &GroupIdentifier::Id(id))
}
