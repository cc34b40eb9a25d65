//! Creating and reading users.

use uuid::Uuid;

use super::now;
use crate::db::users::{self, NewUser, User};
use crate::db::Conn;
use crate::domain::{Email, PersonName, Username};
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
    let row = NewUser {
        id: Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        email_key: draft.email.key(),
        email: draft.email.as_str().to_owned(),
        username_key: draft.username.as_ref().map(Username::key),
        username: draft.username.as_ref().map(|u| u.as_str().to_owned()),
        first_name: draft.first_name.into_inner(),
        last_name: draft.last_name.into_inner(),
        created_at: at,
        updated_at: at,
    };
    conn.write(|conn| {
        if let Some(field) = users::taken(conn, account_id, &row.email_key, row.username_key.as_deref())? {
            return Err(ApiError::name_taken(field));
        }
        users::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into_user())
}
