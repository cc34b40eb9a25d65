//! Users of an account. Deleted users (`deleted_at`) are invisible here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::Conn;
use crate::domain::UserIdentifier;
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub email_key: String,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewUser {
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            account_id: self.account_id,
            email: self.email,
            username: self.username,
            first_name: self.first_name,
            last_name: self.last_name,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub fn insert(conn: &mut Conn, user: &NewUser) -> QueryResult<()> {
    with_conn!(conn, |c| diesel::insert_into(users::table).values(user).execute(c)).map(drop)
}

pub fn find(conn: &mut Conn, account_id: &str, ident: &UserIdentifier) -> QueryResult<Option<User>> {
    let live = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::deleted_at.is_null());
    match ident {
        UserIdentifier::Id(id) => {
            let query = live.filter(users::id.eq(id.to_string()));
            with_conn!(conn, |c| query.select(User::as_select()).first(c).optional())
        }
        UserIdentifier::Email(key) => {
            let query = live.filter(users::email_key.eq(key));
            with_conn!(conn, |c| query.select(User::as_select()).first(c).optional())
        }
        UserIdentifier::Username(key) => {
            let query = live.filter(users::username_key.eq(key));
            with_conn!(conn, |c| query.select(User::as_select()).first(c).optional())
        }
    }
}

/// Whether the email or the username is used by any user of the account,
/// deleted ones included (their rows still hold the unique keys).
pub fn taken(conn: &mut Conn, account_id: &str, email_key: &str, username_key: Option<&str>) -> QueryResult<Option<&'static str>> {
    let email = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::email_key.eq(email_key))
        .select(users::id);
    if with_conn!(conn, |c| email.first::<String>(c).optional())?.is_some() {
        return Ok(Some("email"));
    }
    if let Some(key) = username_key {
        let username = users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::username_key.eq(key))
            .select(users::id);
        if with_conn!(conn, |c| username.first::<String>(c).optional())?.is_some() {
            return Ok(Some("username"));
        }
    }
    Ok(None)
}

/// Which of `ids` name live users of the account.
pub fn existing_ids(conn: &mut Conn, account_id: &str, ids: &[String]) -> QueryResult<Vec<String>> {
    let query = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::deleted_at.is_null())
        .filter(users::id.eq_any(ids))
        .select(users::id);
    with_conn!(conn, |c| query.load(c))
}

/// Inserts many users in one statement per chunk (for seeding and imports;
/// no uniqueness pre-checks). Run inside a transaction for speed.
pub fn insert_many(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<usize> {
    // 10 bound values a row; SQLite allows 32,766 per statement.
    let mut inserted = 0;
    for chunk in rows.chunks(3000) {
        inserted += with_conn!(conn, |c| diesel::insert_into(users::table).values(chunk).execute(c))?;
    }
    Ok(inserted)
}
