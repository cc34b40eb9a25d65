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
    crate::domain::check_account_name(name)?;
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

/// The group of the documents' examples.
pub const EXAMPLE_GROUP_ID: &str = "6254736c-70e1-43b0-b769-f8e0f6359862";
pub const EXAMPLE_GROUP_NAME: &str = "Paper Street Soap Company";
/// The user of the documents' single-add examples.
pub const EXAMPLE_USER_ID: &str = "3d063773-2ca9-4baf-90e1-ed674fa68640";
/// The ids of the documents' bulk examples (management, then v1).
pub const EXAMPLE_BULK_USER_IDS: [&str; 8] = [
    "75490b0f-56f7-4690-a20a-6f2a822f1d3f",
    "20b5e923-beb8-44ab-8bb4-34467582230f",
    "13f8cd48-7765-47b7-9fa3-2ad9c935a4be",
    "3c3d98a1-c80a-49d1-b602-f38ad2b01af8",
    "11f5ce76-ca86-45d8-9928-d7fd56863ec7",
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
];

/// Creates, in the account, the group and users that the documents' example
/// requests name (with the documents' ids), so that every example in the
/// spec and in Swagger UI works as written. Rows that exist are kept.
pub fn seed_document_examples(conn: &mut Conn, account_id: &str) -> Result<(), ApiError> {
    use crate::db::users::NewUser;
    let at = now();
    let user = |id: &str, email: String, username: Option<&str>| {
        let (first, last) = (Some("Tyler".to_owned()), Some("Durden".to_owned()));
        NewUser::new(id.to_owned(), account_id.to_owned(), email, username.map(str::to_owned), first, last, at)
    };
    let mut rows = vec![user(EXAMPLE_USER_ID, "t.durden@fightclub.com".to_owned(), Some("tdurden"))];
    rows.extend(EXAMPLE_BULK_USER_IDS.iter().map(|id| user(id, format!("{id}@example.com"), None)));
    let group = NewGroup {
        id: EXAMPLE_GROUP_ID.to_owned(),
        account_id: account_id.to_owned(),
        name: EXAMPLE_GROUP_NAME.to_owned(),
        name_key: normalize_key(EXAMPLE_GROUP_NAME),
        description: "The group of the documents' examples".to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    };
    conn.write(|conn| {
        let group_here = groups::find(conn, account_id, &crate::domain::GroupIdentifier::Name(group.name_key.clone()))?;
        if group_here.is_none() {
            groups::insert(conn, &group)?;
        }
        for row in &rows {
            let id = crate::domain::parse_uuid(&row.id).expect("example ids are UUIDs");
            if users::find(conn, account_id, &UserIdentifier::Id(id))?.is_none() {
                users::insert(conn, row)?;
            }
        }
        Ok(())
    })
}
