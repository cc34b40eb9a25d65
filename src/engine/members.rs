//! Putting users into groups — the core job — and listing members.

use std::collections::HashSet;

use uuid::Uuid;

use super::groups::find_group;
use super::now;
use crate::db::users::User;
use crate::db::{memberships, users, Conn};
use crate::domain::{GroupIdentifier, UserIdList, UserIdentifier};
use crate::error::ApiError;

/// Adds one user; succeeds also when the user is already a member.
pub fn add_user_to_group(
    conn: &mut Conn,
    account_id: &str,
    group: &GroupIdentifier,
    user: &UserIdentifier,
) -> Result<(), ApiError> {
    conn.write(|conn| {
        let group = find_group(conn, account_id, group)?;
        let user = users::find(conn, account_id, user)?.ok_or_else(ApiError::user_not_found)?;
        memberships::add(conn, &group.id, &[user.id], now())?;
        Ok(())
    })
}

/// Adds all users or none: every id must name a live user of the group's
/// account (a user of another account is reported like a missing one), checked
/// inside the transaction before anything is written. Returns how many
/// memberships are new.
pub fn add_users_to_group(
    conn: &mut Conn,
    account_id: &str,
    group: &GroupIdentifier,
    user_ids: &UserIdList,
) -> Result<usize, ApiError> {
    let ids: Vec<String> = user_ids.as_slice().iter().map(Uuid::to_string).collect();
    conn.write(|conn| {
        let group = find_group(conn, account_id, group)?;
        let existing: HashSet<String> = users::existing_ids(conn, account_id, &ids)?.into_iter().collect();
        if existing.len() != ids.len() {
            let unknown: Vec<Uuid> = user_ids
                .as_slice()
                .iter()
                .filter(|id| !existing.contains(&id.to_string()))
                .copied()
                .collect();
            return Err(ApiError::unknown_users(&unknown));
        }
        Ok(memberships::add(conn, &group.id, &ids, now())?)
    })
}

pub struct MemberPage {
    pub items: Vec<User>,
    pub total: i64,
    /// The cursor for the next page, when there may be one.
    pub next_cursor: Option<String>,
}

pub fn list_members(
    conn: &mut Conn,
    account_id: &str,
    group: &GroupIdentifier,
    after: Option<Uuid>,
    limit: i64,
) -> Result<MemberPage, ApiError> {
    let group = find_group(conn, account_id, group)?;
    let after = after.map(|id| id.to_string());
    let items = memberships::list_members(conn, &group.id, after.as_deref(), limit)?;
    let total = memberships::count_members(conn, &group.id)?;
    let next_cursor = if items.len() as i64 == limit { items.last().map(|u| u.id.clone()) } else { None };
    Ok(MemberPage { items, total, next_cursor })
}
