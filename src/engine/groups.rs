//! Creating and reading groups.

use uuid::Uuid;

use super::now;
use crate::db::groups::{self, Group, NewGroup};
use crate::db::Conn;
use crate::domain::{GroupDescription, GroupIdentifier, GroupName};
use crate::error::ApiError;

pub fn create_group(
    conn: &mut Conn,
    account_id: &str,
    name: GroupName,
    description: GroupDescription,
) -> Result<Group, ApiError> {
    let at = now();
    let row = NewGroup {
        id: Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        name_key: name.key(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        is_system: false,
        created_at: at,
        updated_at: at,
    };
    conn.write(|conn| {
        if groups::find(conn, account_id, &GroupIdentifier::Name(row.name_key.clone()))?.is_some() {
            return Err(ApiError::name_taken("name"));
        }
        groups::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into_group())
}

pub fn find_group(conn: &mut Conn, account_id: &str, ident: &GroupIdentifier) -> Result<Group, ApiError> {
    groups::find(conn, account_id, ident)?.ok_or_else(ApiError::group_not_found)
}
