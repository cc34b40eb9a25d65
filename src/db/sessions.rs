//! Password sign-ins: each is a session whose tokens carry its id, continued
//! by a refresh token that is stored as a hash and replaced at every use.

use super::in_list::in_ids;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::{Conn, Write};
use crate::domain::{AccountId, SessionId, UserId};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub refresh_hash: String,
    pub created_at: NaiveDateTime,
    pub refreshed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(w: &mut Write, session: &Session) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(sessions::table).values(session).execute(c)).map(drop)
}

pub fn get(conn: &mut Conn, id: SessionId) -> QueryResult<Option<Session>> {
    let query = sessions::table.find(id);
    with_conn!(conn, |c| query.select(Session::as_select()).first(c).optional())
}

/// Sessions by id, in no order.
pub fn get_many(conn: &mut Conn, ids: &[SessionId]) -> QueryResult<Vec<Session>> {
    let query = sessions::table.filter(in_ids(sessions::id, ids));
    with_conn!(conn, |c| query.select(Session::as_select()).load(c))
}

/// Replaces the refresh token if `old_hash` is still the current one (two
/// uses of one token: only the first wins); whether it did.
pub fn rotate(
    w: &mut Write,
    id: SessionId,
    old_hash: &str,
    new_hash: &str,
    at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    let query = diesel::update(
        sessions::table.find(id).filter(sessions::refresh_hash.eq(old_hash.to_owned())).filter(sessions::revoked_at.is_null()),
    )
    .set((sessions::refresh_hash.eq(new_hash.to_owned()), sessions::refreshed_at.eq(at), sessions::expires_at.eq(expires_at)));
    let conn: &mut Conn = w;
    Ok(with_conn!(conn, |c| query.execute(c))? == 1)
}

pub fn revoke(w: &mut Write, id: SessionId, at: NaiveDateTime) -> QueryResult<()> {
    let query = diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null())).set(sessions::revoked_at.eq(Some(at)));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| query.execute(c)).map(drop)
}

/// Ends every live session of a user but `keep` (a new password, a suspension).
pub fn revoke_all_of(w: &mut Write, user: UserId, keep: Option<SessionId>, at: NaiveDateTime) -> QueryResult<usize> {
    let live = sessions::table.filter(sessions::user_id.eq(user)).filter(sessions::revoked_at.is_null());
    let conn: &mut Conn = w;
    match keep {
        Some(keep) => {
            let query = diesel::update(live.filter(sessions::id.ne(keep))).set(sessions::revoked_at.eq(Some(at)));
            with_conn!(conn, |c| query.execute(c))
        }
        None => {
            let query = diesel::update(live).set(sessions::revoked_at.eq(Some(at)));
            with_conn!(conn, |c| query.execute(c))
        }
    }
}
