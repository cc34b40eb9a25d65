//! Accounts and their first administrators: what `rollcall bootstrap` and the
//! first start of `rollcall serve` do.

use uuid::Uuid;

use super::now;
use super::users::{create_user, UserDraft};
use crate::db::accounts::{self, Account};
use crate::db::groups::{self, NewGroup, SYSTEM_ADMINISTRATORS};
use crate::db::users::User;
use crate::db::{memberships, users, Conn};
use crate::domain::{normalize_key, Email, PersonName, UserIdentifier, Username};
use crate::error::{ApiError, ErrorKind};

pub const DEFAULT_ACCOUNT: &str = "default";
pub const DEFAULT_ADMIN: &str = "admin";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@example.com";

/// Creates an account with its built-in `System Administrators` group.
pub fn create_account(conn: &mut Conn, name: &str) -> Result<Account, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::validation("The account name must have 1 to 255 characters"));
    }
    let at = now();
    let account = Account { id: Uuid::new_v4().to_string(), name: name.to_owned(), created_at: at };
    let admins = NewGroup {
        id: Uuid::new_v4().to_string(),
        account_id: account.id.clone(),
        name: SYSTEM_ADMINISTRATORS.to_owned(),
        name_key: normalize_key(SYSTEM_ADMINISTRATORS),
        description: "Members may do everything in this account".to_owned(),
        is_system: true,
        created_at: at,
        updated_at: at,
    };
    conn.write(|conn| {
        accounts::insert(conn, &account.id, &account.name, at)?;
        groups::insert(conn, &admins)?;
        Ok(())
    })?;
    Ok(account)
}

/// The account of that name, created when missing.
pub fn ensure_account(conn: &mut Conn, name: &str) -> Result<Account, ApiError> {
    match accounts::find_by_name(conn, name)? {
        Some(account) => Ok(account),
        None => create_account(conn, name),
    }
}

/// The user of that username, created when missing, and made a member of the
/// account's `System Administrators`.
pub fn ensure_admin(conn: &mut Conn, account_id: &str, username: &str, email: &str) -> Result<User, ApiError> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let user = match users::find(conn, account_id, &UserIdentifier::Username(username.key()))? {
        Some(user) => user,
        None => create_user(
            conn,
            account_id,
            UserDraft {
                email,
                username: Some(username),
                first_name: PersonName::parse("firstName", None)?,
                last_name: PersonName::parse("lastName", None)?,
            },
        )?,
    };
    let admins = groups::find_system(conn, account_id)?
        .ok_or_else(|| ApiError::internal(format!("account {account_id} has no System Administrators group")))?;
    conn.write(|conn| Ok(memberships::add(conn, &admins.id, std::slice::from_ref(&user.id), now())?))?;
    Ok(user)
}

/// On an empty database, creates the default account and its `admin` user.
/// Returns them when this call created them.
pub fn bootstrap_empty_database(conn: &mut Conn) -> Result<Option<(Account, User)>, ApiError> {
    if accounts::count(conn)? > 0 {
        return Ok(None);
    }
    let account = match create_account(conn, DEFAULT_ACCOUNT) {
        Ok(account) => account,
        // Another instance started at the same moment and won.
        Err(e) if e.kind == ErrorKind::NameTaken => return Ok(None),
        Err(e) => return Err(e),
    };
    let admin = ensure_admin(conn, &account.id, DEFAULT_ADMIN, DEFAULT_ADMIN_EMAIL)?;
    Ok(Some((account, admin)))
}
