//! A user's sign-in status, as the management surface's user actions and
//! password change set it: suspension (which also refuses every token
//! issued so far), the lock after failed sign-ins, and the password.

use chrono::NaiveDateTime;

use super::access::{require, require_covers_user};
use super::members::keep_an_administrator;
use super::users::find_user;
use crate::db::{sessions, users, Read, Write};
use crate::domain::{Permission, Principal, SessionId, UserId, UserIdentifier};
use crate::error::Error;

/// The vendor's user actions (`POST {mgmt}/users/{u}/actions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Refuses the user's sign-ins and every token issued to them so far.
    Suspend,
    Unsuspend,
    /// Lifts the lock that failed password sign-ins put on the user.
    Unlock,
    /// Marks the user's password as subject to expiry.
    SetPasswordToExpirable,
}

impl UserAction {
    pub const ALL: [(&'static str, UserAction); 4] = [
        ("suspend", UserAction::Suspend),
        ("unsuspend", UserAction::Unsuspend),
        ("unlock", UserAction::Unlock),
        ("setPasswordToExpirable", UserAction::SetPasswordToExpirable),
    ];

    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::ALL.iter().find(|(name, _)| *name == raw).map(|(_, a)| *a).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            Error::validation(format!("type must be one of {}", names.join(", "))).detail("field", "type".into())
        })
    }
}

/// The user whose status the principal may change: `user_update`, and
/// holding everything that user holds (as for any other change of a user).
fn changeable(tx: &mut Read, principal: &Principal, ident: &UserIdentifier) -> Result<UserId, Error> {
    require(tx, principal, Permission::UserUpdate)?;
    let user = find_user(tx, principal.account, ident, false)?;
    require_covers_user(tx, principal, user.id)?;
    Ok(user.id)
}

pub fn act(w: &mut Write, principal: &Principal, ident: &UserIdentifier, action: UserAction, now: NaiveDateTime) -> Result<(), Error> {
    let user = changeable(w, principal, ident)?;
    let account = principal.account;
    match action {
        UserAction::Suspend => {
            // A suspended administrator administers nothing.
            keep_an_administrator(w, account, &[user])?;
            users::set_suspended(w, account, user, true, now)?;
            sessions::revoke_all_of(w, user, None, now)?;
        }
        UserAction::Unsuspend => {
            users::set_suspended(w, account, user, false, now)?;
        }
        UserAction::Unlock => {
            users::unlock(w, account, user)?;
        }
        UserAction::SetPasswordToExpirable => users::set_password_expirable(w, account, user, now)?,
    }
    Ok(())
}

/// Whose password a change names, and the hash it must be checked against
/// first: changing one's own password needs the existing one (when there is
/// one); changing another's needs `user_update` and holding all they hold.
pub fn password_change_target(tx: &mut Read, principal: &Principal, ident: &UserIdentifier) -> Result<(UserId, Option<String>), Error> {
    let own = match ident {
        UserIdentifier::Id(id) => *id == principal.user,
        other => find_user(tx, principal.account, other, false).is_ok_and(|u| u.id == principal.user),
    };
    if !own {
        return Ok((changeable(tx, principal, ident)?, None));
    }
    let state = users::sign_in_state(tx, principal.account, principal.user)?.ok_or_else(Error::user_not_found)?;
    Ok((principal.user, state.password_hash))
}

/// Stores the new password and ends the user's password sign-ins (their
/// refresh tokens and the tokens issued from them), but `keep`: the
/// caller's own, when they change their own password.
pub fn set_password(
    w: &mut Write,
    principal: &Principal,
    user: UserId,
    hash: &str,
    keep: Option<SessionId>,
    now: NaiveDateTime,
) -> Result<(), Error> {
    if user != principal.user {
        changeable(w, principal, &UserIdentifier::Id(user))?;
    }
    users::set_password(w, principal.account, user, hash, user != principal.user, now)?;
    let keep = keep.filter(|_| user == principal.user);
    sessions::revoke_all_of(w, user, keep, now)?;
    Ok(())
}
