//! Creating and reading users.

use uuid::Uuid;

use super::groups::GroupView;
use super::now;
use crate::auth::Caller;
use crate::db::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::db::Conn;
use crate::domain::{Email, GroupIdentifier, Page, Permission, PersonName, Sort, UserIdentifier, UserSort, Username};
use crate::error::ApiError;

/// A user as a client asked for it, already parsed.
pub struct UserDraft {
    pub email: Email,
    pub username: Option<Username>,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

pub fn create_user(conn: &mut Conn, account_id: &str, draft: UserDraft) -> Result<User, ApiError> {
    let at = now();
    let row = NewUser::new(
        Uuid::new_v4().to_string(),
        account_id.to_owned(),
        draft.email.as_str().to_owned(),
        draft.username.as_ref().map(|u| u.as_str().to_owned()),
        draft.first_name.into_inner(),
        draft.last_name.into_inner(),
        at,
    );
    conn.write(|conn| {
        if let Some(field) = users::taken(conn, account_id, &row.email_key, row.username_key.as_deref())? {
            return Err(ApiError::name_taken(field));
        }
        users::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into_user())
}

/// The user an identifier names, live unless `include_deleted`.
pub fn find_user(conn: &mut Conn, account_id: &str, ident: &UserIdentifier, include_deleted: bool) -> Result<User, ApiError> {
    let found = match ident {
        UserIdentifier::Id(id) => users::get(conn, account_id, &id.to_string(), include_deleted)?,
        other => users::find(conn, account_id, other)?,
    };
    found.ok_or_else(ApiError::user_not_found)
}

/// A user the caller may read: anyone with `user_read`, and oneself without.
/// A caller without `user_read` gets 403 whether or not the user exists, so
/// learns nothing about who exists.
pub fn get(conn: &mut Conn, caller: &Caller, ident: &UserIdentifier, include_deleted: bool) -> Result<User, ApiError> {
    let user = find_user(conn, &caller.account_id, ident, include_deleted);
    match &user {
        Ok(u) if caller.is(&u.id) => {}
        _ => caller.require(conn, Permission::UserRead)?,
    }
    user
}

pub struct UserPage {
    pub items: Vec<User>,
    pub total: i64,
}

pub fn list(conn: &mut Conn, caller: &Caller, filter: &UserFilter, sort: Sort<UserSort>, page: Page) -> Result<UserPage, ApiError> {
    caller.require(conn, Permission::UserRead)?;
    let items = users::list(conn, &caller.account_id, filter, sort, page)?;
    let total = users::count(conn, &caller.account_id, filter)?;
    Ok(UserPage { items, total })
}

/// What an update changes; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub username: Option<Option<Username>>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

pub fn update(conn: &mut Conn, caller: &Caller, ident: &UserIdentifier, patch: UserPatch) -> Result<User, ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::UserUpdate)?;
        let user = find_user(conn, &caller.account_id, ident, false)?;
        super::access::require_covers_user(conn, caller, &user.id)?;
        let email_key = patch.email.as_ref().map(Email::key);
        let username_key = patch.username.as_ref().map(|u| u.as_ref().map(Username::key));
        if let Some(field) =
            users::taken_by_other(conn, &caller.account_id, &user.id, email_key.as_deref(), username_key.clone().flatten().as_deref())?
        {
            return Err(ApiError::name_taken(field));
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
            updated_at: now(),
        };
        users::update(conn, &user.id, &changes)?;
        // The row as written, without reading it back.
        let mut updated = user;
        updated.email = changes.email.unwrap_or(updated.email);
        updated.username = changes.username.unwrap_or(updated.username);
        updated.first_name = changes.first_name.unwrap_or(updated.first_name);
        updated.last_name = changes.last_name.unwrap_or(updated.last_name);
        updated.updated_at = changes.updated_at;
        Ok(updated)
    })
}

/// Soft delete: the user keeps their row (and their email and username stay
/// taken) but leaves every listing and can no longer be added anywhere.
pub fn delete(conn: &mut Conn, caller: &Caller, ident: &UserIdentifier) -> Result<(), ApiError> {
    conn.write(|conn| {
        caller.require(conn, Permission::UserDelete)?;
        let user = find_user(conn, &caller.account_id, ident, false)?;
        super::access::require_covers_user(conn, caller, &user.id)?;
        super::members::keep_an_administrator(conn, &caller.account_id, &[user.id.clone()])?;
        Ok(users::soft_delete(conn, &user.id, now())?)
    })
}

/// The groups of a user (directly, or with `inherited` also through child
/// groups), as views in name order. A user may list their own.
pub fn groups_of(conn: &mut Conn, caller: &Caller, ident: &UserIdentifier, inherited: bool) -> Result<Vec<GroupView>, ApiError> {
    let user = get(conn, caller, ident, false)?;
    let ids = super::hierarchy::groups_of_user(conn, &caller.account_id, &user.id, inherited)?;
    super::groups::views_by_ids(conn, &caller.account_id, &ids)
}

/// Whether the user belongs to any of the groups, directly or through a child group.
pub fn in_any_group(conn: &mut Conn, caller: &Caller, ident: &UserIdentifier, groups: &[GroupIdentifier]) -> Result<bool, ApiError> {
    let user = get(conn, caller, ident, false)?;
    let mut wanted = Vec::new();
    for g in groups {
        if let Some(found) = crate::db::groups::find(conn, &caller.account_id, g)? {
            wanted.push(found.id);
        }
    }
    if wanted.is_empty() {
        return Ok(false);
    }
    let mine = super::hierarchy::groups_of_user(conn, &caller.account_id, &user.id, true)?;
    Ok(mine.iter().any(|g| wanted.contains(g)))
}
