//! Timestamps read without chrono's format parser. SQLite keeps a
//! timestamp as text (`2026-12-06 12:13:50.995981636`, as diesel writes
//! it), and diesel reads it back by trying chrono format strings in turn:
//! a page of 1,000 users spent 7 % of the server's time there (perf, the
//! management member page). [`Stamp`] and [`MaybeStamp`] read that one
//! shape directly and hand anything else to diesel; PostgreSQL's binary
//! timestamps go to diesel as before. Use them as `deserialize_as` of a
//! loaded struct's `NaiveDateTime` fields.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};

/// A `NaiveDateTime` column.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Stamp(NaiveDateTime);

/// A nullable `NaiveDateTime` column.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> Self {
        s.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(s: MaybeStamp) -> Self {
        s.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits;
/// `None` for any other text (diesel then reads it).
pub fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => digits(20, b.len())? * 10u32.pow(9 - fraction.len() as u32),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(digits(0, 4)? as i32, digits(5, 7)?, digits(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(digits(11, 13)?, digits(14, 16)?, digits(17, 19)?, nanos)?;
    Some(date.and_time(time))
}

fn from_sqlite(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<NaiveDateTime> {
    if value.value_type() == Some(SqliteType::Text) {
        if let Some(at) = parse(value.read_text()) {
            return Ok(at);
        }
    }
    <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value)
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for MaybeStamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(|at| MaybeStamp(Some(at)))
    }

    fn from_nullable_sql(value: Option<SqliteValue<'_, '_, '_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(MaybeStamp(None)), <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql)
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for MaybeStamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|at| MaybeStamp(Some(at)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(MaybeStamp(None)), <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_what_diesel_writes_and_leaves_the_rest_to_it() {
        for text in ["2026-12-06 12:13:50.995981636", "2026-12-06 12:13:50.9959", "2026-12-06 12:13:50", "1999-02-28 00:00:00.1"] {
            let chrono = chrono::NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse(text), Some(chrono), "{text}");
        }
        for text in [
            "2026-12-06T12:13:50",
            "2026-02-30 00:00:00",
            "2026-12-06 12:13:50.",
            "2026-12-06 12:13:50.1234567890",
            "2026-12-06 12:13:5x",
            "",
            "2026-12-06 12:13:50Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
