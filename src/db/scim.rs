//! SCIM listings: a parsed filter compiled to one SQL query per backend
//! (conditions with bound values, never spliced text), sorted and paged in
//! the database, and the SCIM attributes of users and groups written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::groups::Group;
use super::schema::{groups, users};
use super::users::User;
use super::{Conn, Write};
use crate::domain::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::domain::scim::Kind;
use crate::domain::{normalize_key, AccountId, Change, GroupId, UserId};
use crate::error::Error;
use crate::with_conn;

/// SQL text and the values bound between its pieces.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Str(String),
    Bool(bool),
    Time(NaiveDateTime),
    Int(i64),
}

impl Sql {
    fn text(mut self, s: &str) -> Self {
        self.parts.push(Part::Text(s.to_owned()));
        self
    }
    fn push(mut self, p: Part) -> Self {
        self.parts.push(p);
        self
    }
    fn append(mut self, other: Sql) -> Self {
        self.parts.extend(other.parts);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

fn dialect(conn: &Conn) -> Dialect {
    match conn {
        Conn::Sqlite(_) => Dialect::Sqlite,
        Conn::Postgres(_) => Dialect::Postgres,
    }
}

/// The detail set on a filter error that names an attribute the resource type lacks.
pub const UNKNOWN_ATTRIBUTE: &str = "unknownAttribute";

fn invalid(why: impl Into<String>) -> Error {
    Error::validation(why.into()).detail("scimType", "invalidFilter".into())
}

/// What a filter attribute is in SQL.
#[derive(Debug, Clone, Copy)]
enum Col {
    /// Compared as stored (case-exact).
    Exact(&'static str),
    /// Compared by its name key ([`normalize_key`]): case-insensitive.
    Key(&'static str),
    /// Compared lowercased.
    Lower(&'static str),
    /// A key read from the first of these columns that is not null (`userName`,
    /// a group's `displayName`); `eq` is written so that each column's index serves it.
    FirstKey(&'static str, &'static [&'static str]),
    Bool(&'static str, bool),
    Time(&'static str),
    /// A multi-valued attribute in another table: `EXISTS (<from> AND <column> …)`.
    Related {
        from: &'static str,
        column: RelatedColumn,
    },
}

/// The column of a related row (an `Exact` or `Key` one).
#[derive(Debug, Clone, Copy)]
enum RelatedColumn {
    Exact(&'static str),
    Key(&'static str),
}

const USER_NAME: &str = "COALESCE(users.scim_user_name_key, users.username_key, users.email_key)";
const GROUP_NAME: &str = "COALESCE(groups.scim_display_name_key, groups.name_key)";
const USER_GROUPS: &str = "SELECT 1 FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id = users.id";
const GROUP_MEMBERS: &str =
    "SELECT 1 FROM memberships m JOIN users mu ON mu.id = m.user_id AND mu.deleted_at IS NULL WHERE m.group_id = groups.id";

fn column(kind: Kind, parent: Option<&str>, attr: &AttrPath) -> Result<Col, Error> {
    // Marked, so that `/.search` can tell "not an attribute of this type" from a bad filter.
    let unknown = || invalid(format!("The attribute {attr} cannot be filtered on")).detail(UNKNOWN_ATTRIBUTE, true.into());
    if attr.schema.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case(kind.schema())) {
        return Err(unknown());
    }
    let (name, sub) = match parent {
        Some(p) => (p.to_owned(), Some(attr.name.clone())),
        None => (attr.name.clone(), attr.sub.clone()),
    };
    let name = kind.attribute(&name).ok_or_else(unknown)?;
    let sub = match sub {
        Some(s) => Some(kind.sub_attribute(name, &s).ok_or_else(unknown)?),
        None => None,
    };
    use Col as C;
    Ok(match (kind, name, sub) {
        (Kind::User, "id", None) => C::Exact("users.id"),
        (Kind::User, "externalId", None) => C::Exact("users.external_id"),
        (Kind::User, "userName", None) => C::FirstKey(USER_NAME, &["users.scim_user_name_key", "users.username_key", "users.email_key"]),
        (Kind::User, "displayName", None) => C::Key("users.display_name_key"),
        (Kind::User, "name", Some("givenName")) => C::Key("users.first_name_key"),
        (Kind::User, "name", Some("familyName")) => C::Key("users.last_name_key"),
        (Kind::User, "emails", None | Some("value")) => C::Key("users.email_key"),
        (Kind::User, "emails", Some("type")) => C::Lower("users.email_type"),
        (Kind::User, "emails", Some("primary")) => C::Bool("users.email_primary", false),
        (Kind::User, "active", None) => C::Bool("users.suspended", true),
        (Kind::User, "groups", None | Some("value")) => C::Related { from: USER_GROUPS, column: RelatedColumn::Exact("m.group_id") },
        (Kind::User, "groups", Some("display")) => C::Related { from: USER_GROUPS, column: RelatedColumn::Key("g.name_key") },
        (Kind::User, "meta", Some("created")) => C::Time("users.created_at"),
        (Kind::User, "meta", Some("lastModified")) => C::Time("users.updated_at"),
        (Kind::Group, "id", None) => C::Exact("groups.id"),
        (Kind::Group, "externalId", None) => C::Exact("groups.external_id"),
        (Kind::Group, "displayName", None) => C::FirstKey(GROUP_NAME, &["groups.scim_display_name_key", "groups.name_key"]),
        (Kind::Group, "members", None | Some("value")) => C::Related { from: GROUP_MEMBERS, column: RelatedColumn::Exact("m.user_id") },
        (Kind::Group, "meta", Some("created")) => C::Time("groups.created_at"),
        (Kind::Group, "meta", Some("lastModified")) => C::Time("groups.updated_at"),
        _ => return Err(unknown()),
    })
}

fn text_compare(d: Dialect, col: &str, op: CompareOp, value: String) -> Result<Sql, Error> {
    let guard = Sql::default().text(&format!("({col} IS NOT NULL AND "));
    let sql = match op {
        CompareOp::Eq | CompareOp::Ne => guard.text(&format!("{col} = ")).push(Part::Str(value)),
        CompareOp::Co => match d {
            Dialect::Sqlite => guard.text(&format!("instr({col}, ")).push(Part::Str(value)).text(") > 0"),
            Dialect::Postgres => guard.text(&format!("strpos({col}, ")).push(Part::Str(value)).text(") > 0"),
        },
        CompareOp::Sw => {
            guard.text(&format!("substr({col}, 1, length(")).push(Part::Str(value.clone())).text(")) = ").push(Part::Str(value))
        }
        CompareOp::Ew => guard
            .text(&format!("substr({col}, length({col}) - length("))
            .push(Part::Str(value.clone()))
            .text(") + 1) = ")
            .push(Part::Str(value)),
        CompareOp::Gt => guard.text(&format!("{col} > ")).push(Part::Str(value)),
        CompareOp::Ge => guard.text(&format!("{col} >= ")).push(Part::Str(value)),
        CompareOp::Lt => guard.text(&format!("{col} < ")).push(Part::Str(value)),
        CompareOp::Le => guard.text(&format!("{col} <= ")).push(Part::Str(value)),
    }
    .text(")");
    Ok(if op == CompareOp::Ne { Sql::default().text("NOT ").append(sql) } else { sql })
}

fn compare(d: Dialect, col: Col, attr: &AttrPath, op: CompareOp, value: &CompValue) -> Result<Sql, Error> {
    let mismatch = || invalid(format!("{attr} cannot be compared with {value:?} by {op:?}"));
    let null_check = |expr: &str| -> Option<Sql> {
        match (value, op) {
            (CompValue::Null, CompareOp::Eq) => Some(Sql::default().text(&format!("({expr} IS NULL)"))),
            (CompValue::Null, CompareOp::Ne) => Some(Sql::default().text(&format!("({expr} IS NOT NULL)"))),
            _ => None,
        }
    };
    match col {
        Col::FirstKey(_, columns) if op == CompareOp::Eq && matches!(value, CompValue::Str(_)) => {
            // (a = v) OR (a IS NULL AND b = v) OR …: one index probe per column.
            let CompValue::Str(v) = value else { unreachable!("matched above") };
            let key = normalize_key(v);
            let mut sql = Sql::default().text("(");
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    sql = sql.text(" OR ");
                }
                sql = sql.text("(");
                for earlier in &columns[..i] {
                    sql = sql.text(&format!("{earlier} IS NULL AND "));
                }
                sql = sql.text(&format!("{c} = ")).push(Part::Str(key.clone())).text(")");
            }
            Ok(sql.text(")"))
        }
        Col::FirstKey(expr, _) => compare(d, Col::Key(expr), attr, op, value),
        Col::Exact(c) | Col::Key(c) | Col::Lower(c) => {
            if let Some(sql) = null_check(c) {
                return Ok(sql);
            }
            let CompValue::Str(v) = value else { return Err(mismatch()) };
            match col {
                Col::Exact(c) => text_compare(d, c, op, v.clone()),
                Col::Key(c) => text_compare(d, c, op, normalize_key(v)),
                _ => text_compare(d, &format!("LOWER({c})"), op, v.to_lowercase()),
            }
        }
        Col::Bool(c, negated) => {
            if let Some(sql) = null_check(c) {
                return Ok(sql);
            }
            let b = match value {
                CompValue::Bool(b) => *b,
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(mismatch()),
            };
            let sql = Sql::default().text(&format!("({c} IS NOT NULL AND {c} = ")).push(Part::Bool(b != negated)).text(")");
            match op {
                CompareOp::Eq => Ok(sql),
                CompareOp::Ne => Ok(Sql::default().text("NOT ").append(sql)),
                _ => Err(mismatch()),
            }
        }
        Col::Time(c) => {
            let CompValue::Str(v) = value else { return Err(mismatch()) };
            let at = chrono::DateTime::parse_from_rfc3339(v)
                .map_err(|_| invalid(format!("{attr} must be compared with an RFC 3339 date-time")))?
                .naive_utc();
            let sign = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                _ => return Err(mismatch()),
            };
            Ok(Sql::default().text(&format!("({c} {sign} ")).push(Part::Time(at)).text(")"))
        }
        Col::Related { from, column } => {
            let inner = match column {
                RelatedColumn::Exact(c) => compare(d, Col::Exact(c), attr, op, value)?,
                RelatedColumn::Key(c) => compare(d, Col::Key(c), attr, op, value)?,
            };
            Ok(Sql::default().text(&format!("EXISTS ({from} AND ")).append(inner).text(")"))
        }
    }
}

fn present(col: Col) -> Sql {
    match col {
        Col::Exact(c) | Col::Key(c) | Col::Lower(c) | Col::FirstKey(c, _) => {
            Sql::default().text(&format!("({c} IS NOT NULL AND {c} <> '')"))
        }
        Col::Bool(c, _) | Col::Time(c) => Sql::default().text(&format!("({c} IS NOT NULL)")),
        Col::Related { from, .. } => Sql::default().text(&format!("EXISTS ({from})")),
    }
}

/// The filter as an SQL condition on the resource's table.
fn condition(d: Dialect, kind: Kind, parent: Option<&str>, f: &Filter) -> Result<Sql, Error> {
    let wrap = |sql: Sql| Sql::default().text("(").append(sql).text(")");
    Ok(match f {
        Filter::And(a, b) => wrap(condition(d, kind, parent, a)?.text(" AND ").append(condition(d, kind, parent, b)?)),
        Filter::Or(a, b) => wrap(condition(d, kind, parent, a)?.text(" OR ").append(condition(d, kind, parent, b)?)),
        Filter::Not(inner) => Sql::default().text("NOT ").append(wrap(condition(d, kind, parent, inner)?)),
        Filter::Present(attr) => {
            let c = match (kind, parent, attr.sub.as_deref()) {
                // `name pr`: either part of the name.
                (Kind::User, None, None) if attr.is("name") => {
                    return Ok(Sql::default().text("(users.first_name IS NOT NULL OR users.last_name IS NOT NULL)"));
                }
                _ => column(kind, parent, attr)?,
            };
            present(c)
        }
        Filter::Compare(attr, op, value) => compare(d, column(kind, parent, attr)?, attr, *op, value)?,
        Filter::ValuePath(attr, inner) => {
            if parent.is_some() || attr.sub.is_some() {
                return Err(invalid("A value filter cannot hold another"));
            }
            let name = kind
                .attribute(&attr.name)
                .filter(|n| kind.is_multi_valued(n))
                .ok_or_else(|| invalid(format!("{attr} is not multi-valued")))?;
            // One email per user: its sub-attributes are columns of the user's row.
            // Groups and members: each leaf is its own EXISTS (several values may each match a part).
            condition(d, kind, Some(name), inner)?
        }
    })
}

/// How a listing is sorted: `sortBy` (canonical) and `sortOrder`.
pub fn sort_column(kind: Kind, attr: &AttrPath) -> Result<&'static str, Error> {
    let bad = || Error::validation(format!("sortBy {attr} is not supported")).detail("scimType", "invalidValue".into());
    match column(kind, None, attr).map_err(|_| bad())? {
        Col::Exact(c) | Col::Key(c) | Col::Time(c) | Col::FirstKey(c, _) => Ok(c),
        _ => Err(bad()),
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Rows skipped (`startIndex - 1`).
    pub offset: i64,
    pub limit: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The query with its values bound: `sql_query` takes the placeholders as
/// written (`?` on SQLite, `$n` on PostgreSQL) and the values in order.
fn bind<'f, DB>(parts: Vec<Part>, placeholder: fn(usize) -> String) -> BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<Bool>
        + diesel::sql_types::HasSqlType<Timestamp>
        + diesel::sql_types::HasSqlType<BigInt>,
    String: diesel::serialize::ToSql<Text, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    let mut text = String::new();
    let mut n = 0;
    for p in &parts {
        match p {
            Part::Text(t) => text.push_str(t),
            _ => {
                n += 1;
                text.push_str(&placeholder(n));
            }
        }
    }
    let mut q = diesel::sql_query(text).into_boxed::<DB>();
    for p in parts {
        q = match p {
            Part::Text(_) => q,
            Part::Str(s) => q.bind::<Text, _>(s),
            Part::Bool(b) => q.bind::<Bool, _>(b),
            Part::Time(t) => q.bind::<Timestamp, _>(t),
            Part::Int(i) => q.bind::<BigInt, _>(i),
        };
    }
    q
}

/// Runs `SELECT <what> FROM <table> WHERE <account> [AND <filter>] <tail>` on the connection's backend.
macro_rules! run {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let parts = $sql.parts;
        match $conn {
            Conn::Sqlite(c) => bind::<diesel::sqlite::Sqlite>(parts, |_| "?".to_owned()).load::<$row>(&mut **c),
            Conn::Postgres(c) => bind::<diesel::pg::Pg>(parts, |n| format!("${n}")).load::<$row>(&mut **c),
        }
    }};
}

fn where_clause(conn: &Conn, kind: Kind, account: AccountId, filter: Option<&Filter>) -> Result<Sql, Error> {
    let table = kind_table(kind);
    let mut sql = Sql::default().text(&format!(" WHERE {table}.account_id = ")).push(Part::Str(account.to_string()));
    if kind == Kind::User {
        sql = sql.text(" AND users.deleted_at IS NULL");
    }
    if let Some(f) = filter {
        sql = sql.text(" AND ").append(condition(dialect(conn), kind, None, f)?);
    }
    Ok(sql)
}

fn kind_table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
    }
}

fn order(kind: Kind, sort: Option<(&'static str, bool)>) -> String {
    let table = kind_table(kind);
    match sort {
        Some((col, descending)) => {
            let dir = if descending { "DESC" } else { "ASC" };
            // Resources without the value come last either way, on both backends.
            format!(" ORDER BY ({col} IS NULL) ASC, {col} {dir}, {table}.id {dir}")
        }
        None => format!(" ORDER BY {table}.created_at ASC, {table}.id ASC"),
    }
}

/// How many resources of the account match, and the window of them in order.
fn page<R>(
    conn: &mut Conn,
    kind: Kind,
    account: AccountId,
    filter: Option<&Filter>,
    sort: Option<(&'static str, bool)>,
    window: Window,
    load: impl FnOnce(&mut Conn, Sql) -> QueryResult<Vec<R>>,
) -> Result<(Vec<R>, i64), Error> {
    let table = kind_table(kind);
    let condition = where_clause(conn, kind, account, filter)?;
    let count_sql = Sql::default().text(&format!("SELECT COUNT(*) AS n FROM {table}")).append(condition.clone());
    let total = run!(conn, count_sql, Count)?.first().map_or(0, |c| c.n);
    if window.limit == 0 || window.offset >= total {
        return Ok((vec![], total));
    }
    let rows_sql = Sql::default()
        .text(&format!("SELECT {table}.* FROM {table}"))
        .append(condition)
        .text(&order(kind, sort))
        .text(" LIMIT ")
        .push(Part::Int(window.limit))
        .text(" OFFSET ")
        .push(Part::Int(window.offset));
    Ok((load(conn, rows_sql)?, total))
}

pub fn users_page(
    conn: &mut Conn,
    account: AccountId,
    filter: Option<&Filter>,
    sort: Option<(&'static str, bool)>,
    window: Window,
) -> Result<(Vec<User>, i64), Error> {
    page(conn, Kind::User, account, filter, sort, window, |conn, sql| run!(conn, sql, User))
}

pub fn groups_page(
    conn: &mut Conn,
    account: AccountId,
    filter: Option<&Filter>,
    sort: Option<(&'static str, bool)>,
    window: Window,
) -> Result<(Vec<Group>, i64), Error> {
    page(conn, Kind::Group, account, filter, sort, window, |conn, sql| run!(conn, sql, Group))
}

/// The direct groups of each user: `(user, group, group name)`, by group name.
pub fn groups_of_users(conn: &mut Conn, user_ids: &[UserId]) -> QueryResult<Vec<(UserId, GroupId, String)>> {
    use super::schema::memberships;
    let mut out = Vec::new();
    for chunk in user_ids.chunks(1000) {
        let q = memberships::table
            .inner_join(groups::table)
            .filter(memberships::user_id.eq_any(chunk))
            .order((groups::name_key.asc(), groups::id.asc()))
            .select((memberships::user_id, groups::id, groups::name));
        out.extend(with_conn!(conn, |c| q.load::<(UserId, GroupId, String)>(c))?);
    }
    Ok(out)
}

/// The live direct members of each group: `(group, user)`, in user id order.
pub fn members_of_groups(conn: &mut Conn, group_ids: &[GroupId]) -> QueryResult<Vec<(GroupId, UserId)>> {
    use super::schema::memberships;
    let mut out = Vec::new();
    for chunk in group_ids.chunks(1000) {
        let q = memberships::table
            .inner_join(users::table)
            .filter(memberships::group_id.eq_any(chunk))
            .filter(users::deleted_at.is_null())
            .order((memberships::group_id.asc(), memberships::user_id.asc()))
            .select((memberships::group_id, memberships::user_id));
        out.extend(with_conn!(conn, |c| q.load::<(GroupId, UserId)>(c))?);
    }
    Ok(out)
}

/// The SCIM attributes of a user that Rollcall's own columns do not hold.
#[derive(Debug, Clone, Default)]
pub struct UserAttributes {
    pub scim_user_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub email_type: Option<String>,
    pub email_primary: Option<bool>,
}

pub fn set_user_attributes(w: &mut Write, account: AccountId, id: UserId, a: &UserAttributes) -> QueryResult<()> {
    let q = diesel::update(users::table.find(id).filter(users::account_id.eq(account))).set((
        users::scim_user_name_key.eq(a.scim_user_name.as_deref().map(normalize_key)),
        users::scim_user_name.eq(&a.scim_user_name),
        users::display_name_key.eq(a.display_name.as_deref().map(normalize_key)),
        users::display_name.eq(&a.display_name),
        users::external_id.eq(&a.external_id),
        users::email_type.eq(&a.email_type),
        users::email_primary.eq(a.email_primary),
    ));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| q.execute(c))?;
    w.record(Change::UserUpdated {
        account,
        user: id,
        fields: vec!["scim_user_name", "display_name", "external_id", "email_type", "email_primary"],
    });
    Ok(())
}

/// Whether a user of the account other than `except` answers to this SCIM
/// userName (its own, or else its username, or else its email), deleted ones included.
pub fn user_name_taken(conn: &mut Conn, account: AccountId, key: &str, except: Option<UserId>) -> QueryResult<bool> {
    let key = key.to_owned();
    let q = users::table
        .filter(users::account_id.eq(account))
        .filter(
            users::scim_user_name_key
                .eq(key.clone())
                .or(users::scim_user_name_key.is_null().and(users::username_key.eq(key.clone())))
                .or(users::scim_user_name_key.is_null().and(users::username_key.is_null()).and(users::email_key.nullable().eq(key))),
        )
        .select(users::id);
    let found: Vec<UserId> = with_conn!(conn, |c| q.limit(2).load(c))?;
    Ok(found.iter().any(|id| Some(*id) != except))
}

pub fn set_group_attributes(
    w: &mut Write,
    account: AccountId,
    id: GroupId,
    external_id: Option<&str>,
    display_name: Option<&str>,
) -> QueryResult<()> {
    let q = diesel::update(groups::table.find(id).filter(groups::account_id.eq(account))).set((
        groups::external_id.eq(external_id),
        groups::scim_display_name.eq(display_name),
        groups::scim_display_name_key.eq(display_name.map(normalize_key)),
    ));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| q.execute(c))?;
    w.record(Change::GroupUpdated { account, group: id, fields: vec!["external_id", "scim_display_name"] });
    Ok(())
}

/// Whether a group of the account other than `except` answers to this SCIM displayName.
pub fn display_name_taken(conn: &mut Conn, account: AccountId, key: &str, except: Option<GroupId>) -> QueryResult<bool> {
    let key = key.to_owned();
    let q = groups::table
        .filter(groups::account_id.eq(account))
        .filter(groups::scim_display_name_key.eq(key.clone()).or(groups::scim_display_name_key.is_null().and(groups::name_key.eq(key))))
        .select(groups::id);
    let found: Vec<GroupId> = with_conn!(conn, |c| q.limit(2).load(c))?;
    Ok(found.iter().any(|id| Some(*id) != except))
}
