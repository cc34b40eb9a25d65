//! Loading a long result (a page of 1,000 users) as it arrives.
//!
//! PostgreSQL's default loading mode waits for the statement's last row
//! before the first is decoded; read row by row, the server decodes each
//! row while PostgreSQL produces the next (a page's rows take it 2–5 ms to
//! produce). SQLite steps rows one at a time in either mode.

use diesel::connection::{Connection, DefaultLoadingMode};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::query_dsl::LoadQuery;
use diesel::{PgConnection, QueryResult, SqliteConnection};

/// A connection's loading mode for long results.
pub trait ByRow: Connection {
    type Mode;
}

impl ByRow for SqliteConnection {
    type Mode = DefaultLoadingMode;
}

impl ByRow for PgConnection {
    type Mode = PgRowByRowLoadingMode;
}

/// `query.load(c)`, each row decoded as it arrives.
pub fn load<'c, 'q: 'c, C, Q, U>(query: Q, c: &'c mut C) -> QueryResult<Vec<U>>
where
    C: ByRow,
    Q: LoadQuery<'q, C, U, C::Mode> + 'c,
    U: 'c,
{
    load_map(query, c, &mut |u| u)
}

/// [`load`], each row also handed to `f` as it arrives (to build a
/// response's item while the database produces the next row).
pub fn load_map<'c, 'q: 'c, C, Q, U, T>(query: Q, c: &'c mut C, f: &mut dyn FnMut(U) -> T) -> QueryResult<Vec<T>>
where
    C: ByRow,
    Q: LoadQuery<'q, C, U, C::Mode> + 'c,
    U: 'c,
{
    query.load_iter::<U, C::Mode>(c)?.map(|row| row.map(&mut *f)).collect()
}
