//! `column IN (…)` over a list of ids, as a statement the connection keeps
//! prepared.
//!
//! diesel's `eq_any` writes one bound value per element on SQLite and marks
//! the statement as not to be cached (its text changes with the length), so
//! every call prepares it anew: under single adds at c=64, preparing was
//! 10 % of the SQLite writer's samples (perf), mostly for the handful of
//! `IN` lists each batch reads (tokens' users, groups, users, grants); 2 %
//! with these.
//! [`in_ids`] pads the list to the next of a few lengths by repeating its
//! last element (the same set, so the same rows and the same plan), which
//! gives a few statement texts per query, each cached. Lists longer than
//! [`CACHED_UP_TO`] are written as they are and not cached. On PostgreSQL
//! it is `column = ANY($1)` with one array bound, as `eq_any` writes it.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, Bool, HasSqlType, SqlType};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// Longest list whose statement is cached (padded to a power of two).
pub const CACHED_UP_TO: usize = 256;

/// `column IN (ids)`; false for no ids.
#[derive(Debug, Clone)]
pub struct InIds<C, T> {
    column: C,
    ids: Vec<T>,
}

pub fn in_ids<C, T: Clone>(column: C, ids: &[T]) -> InIds<C, T> {
    InIds { column, ids: ids.to_vec() }
}

/// How many values a list of `n` is written with.
pub(crate) fn padded(n: usize) -> usize {
    if n <= CACHED_UP_TO {
        n.next_power_of_two()
    } else {
        n
    }
}

impl<C, T> Expression for InIds<C, T> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, T, QS> AppearsOnTable<QS> for InIds<C, T> {}

impl<C: SelectableExpression<QS>, T, QS> SelectableExpression<QS> for InIds<C, T> {}

impl<C: ValidGrouping<GB>, T, GB> ValidGrouping<GB> for InIds<C, T> {
    type IsAggregate = C::IsAggregate;
}

impl<C, T> QueryId for InIds<C, T> {
    type QueryId = ();
    // Cached by its text, which depends on the padded length.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, T> QueryFragment<Sqlite> for InIds<C, T>
where
    C: Expression + QueryFragment<Sqlite>,
    C::SqlType: SqlType,
    Sqlite: HasSqlType<C::SqlType>,
    T: ToSql<C::SqlType, Sqlite> + std::fmt::Debug,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let Some(last) = self.ids.last() else {
            out.push_sql("1 = 0");
            return Ok(());
        };
        if self.ids.len() > CACHED_UP_TO {
            out.unsafe_to_cache_prepared();
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for i in 0..padded(self.ids.len()) {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<C::SqlType, T>(self.ids.get(i).unwrap_or(last))?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<C, T> QueryFragment<Pg> for InIds<C, T>
where
    C: Expression + QueryFragment<Pg>,
    C::SqlType: SqlType,
    Pg: HasSqlType<C::SqlType>,
    Vec<T>: ToSql<Array<C::SqlType>, Pg>,
    T: std::fmt::Debug,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<C::SqlType>, Vec<T>>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn lists_are_padded_to_a_few_lengths_up_to_the_cached_limit() {
        assert_eq!([1, 2, 3, 5, 31, 33, 256].map(padded), [1, 2, 4, 8, 32, 64, 256]);
        assert_eq!(padded(257), 257);
        assert_eq!(padded(10_000), 10_000);
    }
}
