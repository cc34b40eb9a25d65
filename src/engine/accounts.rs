//! Accounts and their first administrators: what `rollcall bootstrap` and the
//! first start of `rollcall serve` do. These run as the system, not as a
//! principal.

use super::now;
use super::users::{insert_user, UserDraft};
use crate::db::accounts::{self, Account};
use crate::db::groups::{self, NewGroup, SYSTEM_ADMINISTRATORS};
use crate::db::users::User;
use crate::db::{memberships, users, Read, Write};
use crate::domain::{normalize_key, AccountId, Email, GroupId, PersonName, UserId, UserIdentifier, Username};
use crate::error::Error;

pub const DEFAULT_ACCOUNT: &str = "default";
pub const DEFAULT_ADMIN: &str = "admin";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@example.com";

/// Creates an account with its built-in `System Administrators` group.
pub fn create_account(w: &mut Write, name: &str) -> Result<Account, Error> {
    crate::domain::check_account_name(name)?;
    let at = now();
    let account = Account { id: AccountId::new(), name: name.to_owned(), created_at: at };
    let admins = NewGroup {
        id: GroupId::new(),
        account_id: account.id,
        name: SYSTEM_ADMINISTRATORS.to_owned(),
        name_key: normalize_key(SYSTEM_ADMINISTRATORS),
        description: "Members may do everything in this account".to_owned(),
        is_system: true,
        created_at: at,
        updated_at: at,
    };
    accounts::insert(w, account.id, &account.name, at)?;
    groups::insert(w, &admins)?;
    Ok(account)
}

/// The account of that name, created when missing.
pub fn ensure_account(w: &mut Write, name: &str) -> Result<Account, Error> {
    match accounts::find_by_name(w, name)? {
        Some(account) => Ok(account),
        None => create_account(w, name),
    }
}

/// The user of that username, created when missing, and made a member of the
/// account's `System Administrators`.
pub fn ensure_admin(w: &mut Write, account: AccountId, username: &str, email: &str) -> Result<User, Error> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let user = match users::find(w, account, &UserIdentifier::Username(username.key()))? {
        Some(user) => user,
        None => insert_user(
            w,
            account,
            UserDraft {
                email,
                username: Some(username),
                first_name: PersonName::parse("firstName", None)?,
                last_name: PersonName::parse("lastName", None)?,
                password_hash: None,
                suspended: false,
                profile: Default::default(),
            },
        )?,
    };
    let admins =
        groups::find_system(w, account)?.ok_or_else(|| Error::internal(format!("account {account} has no System Administrators group")))?;
    memberships::add(w, account, admins.id, &[user.id], now())?;
    Ok(user)
}

/// Whether the database holds no account yet.
pub fn is_empty(tx: &mut Read) -> Result<bool, Error> {
    Ok(accounts::count(tx)? == 0)
}

/// The account with that id.
pub fn find_account(tx: &mut Read, id: AccountId) -> Result<Option<Account>, Error> {
    Ok(accounts::find_by_id(tx, id)?)
}

/// The live user an identifier names in the account.
pub fn find_user(tx: &mut Read, account: AccountId, ident: &UserIdentifier) -> Result<Option<User>, Error> {
    Ok(users::find(tx, account, ident)?)
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
pub fn seed_document_examples(w: &mut Write, account_id: AccountId) -> Result<(), Error> {
    use crate::db::users::NewUser;
    let at = now();
    let user = |id: &str, email: String, username: Option<&str>| {
        let (first, last) = (Some("Tyler".to_owned()), Some("Durden".to_owned()));
        let id: UserId = id.parse().expect("example ids are UUIDs");
        NewUser::new(id, account_id, email, username.map(str::to_owned), first, last, at)
    };
    let mut rows = vec![user(EXAMPLE_USER_ID, "t.durden@fightclub.com".to_owned(), Some("tdurden"))];
    rows.extend(EXAMPLE_BULK_USER_IDS.iter().map(|id| user(id, format!("{id}@example.com"), None)));
    let group = NewGroup {
        id: EXAMPLE_GROUP_ID.parse().expect("the example id is a UUID"),
        account_id,
        name: EXAMPLE_GROUP_NAME.to_owned(),
        name_key: normalize_key(EXAMPLE_GROUP_NAME),
        description: "The group of the documents' examples".to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    };
    let group_here = groups::find(w, account_id, &crate::domain::GroupIdentifier::Name(group.name_key.clone()))?;
    if group_here.is_none() {
        groups::insert(w, &group)?;
    }
    for row in &rows {
        if users::find(w, account_id, &UserIdentifier::Id(row.id))?.is_none() {
            users::insert(w, row)?;
        }
    }
    Ok(())
}
