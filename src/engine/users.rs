//! Creating, reading, changing and deleting users.

use chrono::NaiveDateTime;

use super::access::{require, require_covers_user};
use super::groups::GroupView;
use super::now;
use crate::db::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::db::{Conn, Read, Write, WriteContext};
use crate::domain::profile::UserProfile;
use crate::domain::user_query::Expr;
use crate::domain::{
    AccountId, Change, Email, GroupIdentifier, Page, Permission, PersonName, Principal, Sort, UserId, UserIdentifier, UserSort, Username,
};
use crate::error::Error;

/// A user as a client asked for it, already parsed.
#[derive(Debug, Clone)]
pub struct UserDraft {
    pub email: Email,
    pub username: Option<Username>,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// An Argon2id hash of the user's password, if they have one.
    pub password_hash: Option<String>,
    /// Created suspended (the vendor's `suspended=true` on create).
    pub suspended: bool,
    pub profile: UserProfile,
}

/// Inserts a user after checking that the email and username are free in the account.
pub fn insert_user(w: &mut Write, account: AccountId, draft: UserDraft) -> Result<User, Error> {
    let (password_hash, draft_suspended, profile) = (draft.password_hash, draft.suspended, draft.profile);
    let row = NewUser::new(
        UserId::new(),
        account,
        draft.email.as_str().to_owned(),
        draft.username.as_ref().map(|u| u.as_str().to_owned()),
        draft.first_name.into_inner(),
        draft.last_name.into_inner(),
        now(),
    )
    .with_profile(profile);
    if let Some(field) = users::taken(w, account, &row.email_key, row.username_key.as_deref())? {
        return Err(Error::name_taken(field));
    }
    users::insert(w, &row)?;
    if let Some(hash) = &password_hash {
        users::store_password_hash(w, row.id, hash, row.created_at)?;
    }
    let mut user = row.into_user();
    if draft_suspended {
        users::set_suspended(w, account, user.id, true, user.created_at)?;
        user.suspended = true;
    }
    if password_hash.is_some() {
        user.password_changed_at = Some(user.created_at);
    }
    Ok(user)
}

pub fn create(w: &mut Write, principal: &Principal, draft: UserDraft) -> Result<User, Error> {
    require(w, principal, Permission::UserCreate)?;
    insert_user(w, principal.account, draft)
}

/// A creation of a batch: who asks, what, and who and what request it is
/// recorded as.
pub type Creation<D> = (Principal, D, WriteContext);

/// What a creation of a batch gives: the new row and its changes (to be
/// recorded under the creation's context), or the creation's refusal.
pub type Created<T> = Result<(T, Vec<Change>), Error>;

/// [`create`] for each draft of a batch, in one transaction that is open on
/// `conn`: one permission check a caller, one query for the names taken, one
/// insert for the lot. Each draft is answered as it would be alone, in
/// order: a draft whose email or username an earlier one of the batch took
/// is refused as it would be after it. A refused draft writes nothing.
pub fn create_each(conn: &mut Conn, jobs: &[&Creation<UserDraft>]) -> Result<Vec<Created<User>>, Error> {
    let at = now();
    let (mut verdicts, candidates) =
        allowed_rows(conn, jobs, Permission::UserCreate, |r: &NewUser| r.account_id, |account, draft| new_row(account, draft, at))?;
    let mut keep = Vec::with_capacity(candidates.len());
    for account_rows in candidates.chunk_by(|(_, a), (_, b)| a.account_id == b.account_id) {
        let emails: Vec<String> = account_rows.iter().map(|(_, r)| r.email_key.clone()).collect();
        let usernames: Vec<String> = account_rows.iter().filter_map(|(_, r)| r.username_key.clone()).collect();
        let (mut emails_taken, mut usernames_taken) = users::taken_keys(conn, account_rows[0].1.account_id, &emails, &usernames)?;
        for (i, row) in account_rows {
            let field = if emails_taken.contains(&row.email_key) {
                Some("email")
            } else if row.username_key.as_ref().is_some_and(|k| usernames_taken.contains(k)) {
                Some("username")
            } else {
                None
            };
            if let Some(field) = field {
                verdicts[*i] = Some(Err(Error::name_taken(field)));
            } else {
                emails_taken.insert(row.email_key.clone());
                usernames_taken.extend(row.username_key.clone());
            }
            keep.push(field.is_none());
        }
    }
    let (owners, rows): (Vec<usize>, Vec<NewUser>) = candidates.into_iter().zip(keep).filter(|(_, keep)| *keep).map(|(c, _)| c).unzip();
    let inserted = users::insert_batch(conn, &rows)?;
    for (row, i) in rows.into_iter().zip(owners) {
        let (_, draft, context) = &jobs[i];
        if !inserted.contains(&row.id) {
            // Taken by a concurrent transaction since the check (PostgreSQL).
            let field = users::taken(conn, row.account_id, &row.email_key, row.username_key.as_deref())?;
            verdicts[i] = Some(Err(match field {
                Some(field) => Error::name_taken(field),
                None => Error::unavailable("a concurrent write got in the way of creating the user").transient(),
            }));
            continue;
        }
        let mut w = Write::within_transaction(conn, context.clone());
        w.record(Change::UserCreated { account: row.account_id, user: row.id });
        let mut user = row.into_user();
        if let Some(hash) = &draft.password_hash {
            users::store_password_hash(&mut w, user.id, hash, user.created_at)?;
            user.password_changed_at = Some(user.created_at);
        }
        if draft.suspended {
            users::set_suspended(&mut w, user.account_id, user.id, true, user.created_at)?;
            user.suspended = true;
        }
        verdicts[i] = Some(Ok((user, w.into_changes())));
    }
    Ok(decided(verdicts))
}

/// The first step of a batch of creations: each caller's permission (one
/// check a distinct caller), and a row for each draft allowed. Gives the
/// verdicts so far (`None`: still open) and the rows with their draft's
/// place, one account after the other (in the usual batch there is one),
/// each account's in the order the drafts came.
pub(super) fn allowed_rows<D, R, T>(
    conn: &mut Conn,
    jobs: &[&Creation<D>],
    permission: Permission,
    account_of: impl Fn(&R) -> AccountId,
    row: impl Fn(AccountId, &D) -> R,
) -> Result<Allowed<T, R>, Error> {
    let principals: Vec<Principal> = jobs.iter().map(|(p, _, _)| *p).collect();
    let allowed = super::access::require_each(&mut Read::new(conn), &principals, permission)?;
    let mut verdicts = Vec::with_capacity(jobs.len());
    let mut rows = Vec::with_capacity(jobs.len());
    for (i, ((p, draft, _), allowed)) in jobs.iter().zip(allowed).enumerate() {
        match allowed {
            Ok(()) => {
                rows.push((i, row(p.account, draft)));
                verdicts.push(None);
            }
            Err(e) => verdicts.push(Some(Err(e))),
        }
    }
    rows.sort_by_key(|(_, r)| account_of(r));
    Ok((verdicts, rows))
}

/// The verdicts of a batch of creations so far, a draft each (`None`: open).
pub(super) type Verdicts<T> = Vec<Option<Created<T>>>;

/// What [`allowed_rows`] gives: the verdicts so far, and the rows to check
/// with their draft's place.
pub(super) type Allowed<T, R> = (Verdicts<T>, Vec<(usize, R)>);

/// The verdicts of a batch of creations, every one decided.
pub(super) fn decided<T>(verdicts: Verdicts<T>) -> Vec<Created<T>> {
    verdicts.into_iter().map(|v| v.unwrap_or_else(|| Err(Error::internal("a creation got no verdict")))).collect()
}

/// The row a draft makes, with a new id.
fn new_row(account: AccountId, draft: &UserDraft, at: NaiveDateTime) -> NewUser {
    NewUser::new(
        UserId::new(),
        account,
        draft.email.as_str().to_owned(),
        draft.username.as_ref().map(|u| u.as_str().to_owned()),
        draft.first_name.clone().into_inner(),
        draft.last_name.clone().into_inner(),
        at,
    )
    .with_profile(draft.profile.clone())
}

/// The user an identifier names, live unless `include_deleted`.
pub fn find_user(tx: &mut Read, account: AccountId, ident: &UserIdentifier, include_deleted: bool) -> Result<User, Error> {
    let found = match ident {
        UserIdentifier::Id(id) => users::get(tx, account, *id, include_deleted)?,
        other => users::find(tx, account, other)?,
    };
    found.ok_or_else(Error::user_not_found)
}

/// A user the principal may read: anyone with `user_read`, and oneself
/// without. A caller without `user_read` gets 403 whether or not the user
/// exists, so learns nothing about who exists.
pub fn get(tx: &mut Read, principal: &Principal, ident: &UserIdentifier, include_deleted: bool) -> Result<User, Error> {
    let user = find_user(tx, principal.account, ident, include_deleted);
    match &user {
        Ok(u) if principal.is(u.id) => {}
        _ => require(tx, principal, Permission::UserRead)?,
    }
    user
}

pub struct UserPage<T = User> {
    pub items: Vec<T>,
    pub total: i64,
}

pub fn list(tx: &mut Read, principal: &Principal, filter: &UserFilter, sort: Sort<UserSort>, page: Page) -> Result<UserPage, Error> {
    require(tx, principal, Permission::UserRead)?;
    let items = users::list(tx, principal.account, filter, &sort, page)?;
    let total = users::count(tx, principal.account, filter)?;
    Ok(UserPage { items, total })
}

/// The live users of the principal's account a search expression matches.
pub fn search(tx: &mut Read, principal: &Principal, expr: &Expr, sort: &Sort<UserSort>, page: Page) -> Result<UserPage, Error> {
    require(tx, principal, Permission::UserRead)?;
    let (items, total) = users::search(tx, principal.account, expr, sort, page)?;
    Ok(UserPage { items, total })
}

/// What an update changes; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub username: Option<Option<Username>>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub timezone: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    /// JSON text of an object.
    pub custom: Option<Option<String>>,
    pub opt_out_of_notifications: Option<bool>,
}

impl From<UserDraft> for UserPatch {
    /// Every field set: a replacement.
    fn from(d: UserDraft) -> Self {
        Self {
            email: Some(d.email),
            username: Some(d.username),
            first_name: Some(d.first_name),
            last_name: Some(d.last_name),
            timezone: Some(d.profile.timezone),
            language: Some(d.profile.language),
            avatar_url: Some(d.profile.avatar_url),
            custom: Some(d.profile.custom),
            opt_out_of_notifications: Some(d.profile.opt_out_of_notifications),
        }
    }
}

pub fn update(w: &mut Write, principal: &Principal, ident: &UserIdentifier, patch: &UserPatch) -> Result<User, Error> {
    require(w, principal, Permission::UserUpdate)?;
    let user = find_user(w, principal.account, ident, false)?;
    require_covers_user(w, principal, user.id)?;
    let email_key = patch.email.as_ref().map(Email::key);
    let username_key = patch.username.as_ref().map(|u| u.as_ref().map(Username::key));
    if let Some(field) =
        users::taken_by_other(w, principal.account, Some(user.id), email_key.as_deref(), username_key.clone().flatten().as_deref())?
    {
        return Err(Error::name_taken(field));
    }
    let changes = UserChanges {
        email: patch.email.as_ref().map(|e| e.as_str().to_owned()),
        email_key,
        username: patch.username.as_ref().map(|u| u.as_ref().map(|u| u.as_str().to_owned())),
        username_key,
        first_name: patch.first_name.clone().map(PersonName::into_inner),
        first_name_key: patch.first_name.as_ref().map(PersonName::key),
        last_name: patch.last_name.clone().map(PersonName::into_inner),
        last_name_key: patch.last_name.as_ref().map(PersonName::key),
        timezone: patch.timezone.clone(),
        language: patch.language.clone(),
        avatar_url: patch.avatar_url.clone(),
        custom: patch.custom.clone(),
        opt_out_of_notifications: patch.opt_out_of_notifications,
        updated_at: now(),
    };
    users::update(w, principal.account, user.id, &changes)?;
    // The row as written, without reading it back.
    let mut updated = user;
    updated.email = changes.email.unwrap_or(updated.email);
    updated.username = changes.username.unwrap_or(updated.username);
    updated.first_name = changes.first_name.unwrap_or(updated.first_name);
    updated.last_name = changes.last_name.unwrap_or(updated.last_name);
    updated.timezone = changes.timezone.unwrap_or(updated.timezone);
    updated.language = changes.language.unwrap_or(updated.language);
    updated.avatar_url = changes.avatar_url.unwrap_or(updated.avatar_url);
    updated.custom = changes.custom.unwrap_or(updated.custom);
    updated.opt_out_of_notifications = changes.opt_out_of_notifications.unwrap_or(updated.opt_out_of_notifications);
    updated.updated_at = changes.updated_at;
    Ok(updated)
}

/// Soft delete: the user keeps their row (and their email and username stay
/// taken) but leaves every listing and can no longer be added anywhere.
pub fn delete(w: &mut Write, principal: &Principal, ident: &UserIdentifier) -> Result<(), Error> {
    require(w, principal, Permission::UserDelete)?;
    let user = find_user(w, principal.account, ident, false)?;
    require_covers_user(w, principal, user.id)?;
    super::members::keep_an_administrator(w, principal.account, &[user.id])?;
    Ok(users::soft_delete(w, principal.account, user.id, now())?)
}

/// The groups of a user (directly, or with `inherited` also through child
/// groups), the page `selection` picks of them, as views. A user may list
/// their own.
pub fn groups_of(
    tx: &mut Read,
    principal: &Principal,
    ident: &UserIdentifier,
    inherited: bool,
    selection: &super::groups::Selection,
) -> Result<(i64, Vec<GroupView>), Error> {
    let user = get(tx, principal, ident, false)?;
    if inherited && selection.by_name_only() {
        // In name order, the page is picked from the name keys the
        // hierarchy in memory holds: only the page's groups are read (a
        // user's inherited groups may be thousands).
        let direct = crate::db::memberships::groups_of(tx, user.id)?;
        let page = crate::db::hierarchy::with_groups_above(tx, principal.account, &direct, |keyed| selection.apply_to_keys(keyed))?;
        if let Some((total, ids)) = page {
            return Ok((total, super::groups::views_in_order(tx, principal.account, &ids)?));
        }
    }
    let ids = super::hierarchy::groups_of_user(tx, principal.account, user.id, inherited)?;
    super::groups::page_by_ids(tx, principal.account, &ids, selection)
}

/// Whether the user belongs to any of the groups, directly or through a child group.
pub fn in_any_group(tx: &mut Read, principal: &Principal, ident: &UserIdentifier, groups: &[GroupIdentifier]) -> Result<bool, Error> {
    let user = get(tx, principal, ident, false)?;
    let mut wanted = Vec::new();
    for g in groups {
        if let Some(found) = crate::db::groups::find(tx, principal.account, g)? {
            wanted.push(found.id);
        }
    }
    if wanted.is_empty() {
        return Ok(false);
    }
    let mine = super::hierarchy::groups_of_user(tx, principal.account, user.id, true)?;
    Ok(mine.iter().any(|g| wanted.contains(g)))
}
