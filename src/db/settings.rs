//! Server-wide settings kept in the database (e.g. the generated JWT secret),
//! so that every instance on one database agrees on them.

use diesel::prelude::*;

use super::schema::settings;
use super::Conn;
use crate::with_conn;

pub fn get(conn: &mut Conn, key: &str) -> QueryResult<Option<String>> {
    let query = settings::table.find(key).select(settings::value);
    with_conn!(conn, |c| query.first(c).optional())
}

/// Stores `value` unless the key already has one, and returns the stored
/// value: the first instance to write wins, the others adopt its value.
pub fn get_or_insert(conn: &mut Conn, key: &str, value: &str) -> QueryResult<String> {
    let row = (settings::key.eq(key), settings::value.eq(value));
    with_conn!(conn, |c| diesel::insert_into(settings::table).values(row).on_conflict_do_nothing().execute(c))?;
    get(conn, key)?.ok_or(diesel::result::Error::NotFound)
}

/// Stores `value` under `key`, replacing any value.
pub fn set(conn: &mut Conn, key: &str, value: &str) -> QueryResult<()> {
    let row = (settings::key.eq(key), settings::value.eq(value));
    with_conn!(conn, |c| diesel::insert_into(settings::table)
        .values(row)
        .on_conflict(settings::key)
        .do_update()
        .set(settings::value.eq(value))
        .execute(c))
    .map(drop)
}
