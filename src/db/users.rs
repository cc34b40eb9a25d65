//! Users of an account. Deleted users (`deleted_at`) are invisible here.

use super::in_list::in_ids;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{memberships, users};
use super::{Conn, Write};
use diesel::expression::BoxableExpression;
use diesel::sql_types::{Bool, Nullable};

use crate::domain::profile::UserProfile;
use crate::domain::user_query::{Compare, Expr, Field, Scalar};
use crate::domain::{normalize_key, AccountId, Change, GroupId, Page, Search, Sort, UserId, UserIdentifier, UserSort};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[diesel(deserialize_as = super::stamps::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = super::stamps::Stamp)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = super::stamps::MaybeStamp)]
    pub deleted_at: Option<NaiveDateTime>,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub avatar_url: Option<String>,
    /// JSON text of an object.
    pub custom: Option<String>,
    pub opt_out_of_notifications: bool,
    pub suspended: bool,
    #[diesel(deserialize_as = super::stamps::MaybeStamp)]
    pub locked_until: Option<NaiveDateTime>,
    pub password_reset_required: bool,
    #[diesel(deserialize_as = super::stamps::MaybeStamp)]
    pub last_sign_in_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = super::stamps::MaybeStamp)]
    pub password_changed_at: Option<NaiveDateTime>,
    /// SCIM's `userName`, when an identity provider set one.
    pub scim_user_name: Option<String>,
    /// SCIM's `displayName`, `externalId`, and its one email's `type` and `primary`.
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub email_type: Option<String>,
    pub email_primary: Option<bool>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub email_key: String,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub first_name_key: Option<String>,
    pub last_name_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub avatar_url: Option<String>,
    pub custom: Option<String>,
    pub opt_out_of_notifications: bool,
}

impl NewUser {
    /// A row with its name keys computed ([`normalize_key`]).
    pub fn new(
        id: UserId,
        account_id: AccountId,
        email: String,
        username: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id,
            account_id,
            email_key: normalize_key(&email),
            email,
            username_key: username.as_deref().map(normalize_key),
            username,
            first_name_key: first_name.as_deref().map(normalize_key),
            first_name,
            last_name_key: last_name.as_deref().map(normalize_key),
            last_name,
            created_at: at,
            updated_at: at,
            timezone: None,
            language: None,
            avatar_url: None,
            custom: None,
            opt_out_of_notifications: false,
        }
    }

    pub fn with_profile(mut self, profile: UserProfile) -> Self {
        self.timezone = profile.timezone;
        self.language = profile.language;
        self.avatar_url = profile.avatar_url;
        self.custom = profile.custom;
        self.opt_out_of_notifications = profile.opt_out_of_notifications;
        self
    }

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
            deleted_at: None,
            timezone: self.timezone,
            language: self.language,
            avatar_url: self.avatar_url,
            custom: self.custom,
            opt_out_of_notifications: self.opt_out_of_notifications,
            suspended: false,
            locked_until: None,
            password_reset_required: false,
            last_sign_in_at: None,
            password_changed_at: None,
            scim_user_name: None,
            display_name: None,
            external_id: None,
            email_type: None,
            email_primary: None,
        }
    }
}

pub fn insert(w: &mut Write, user: &NewUser) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(users::table).values(user).execute(c))?;
    w.record(Change::UserCreated { account: user.account_id, user: user.id });
    Ok(())
}

/// Inserts the rows of a batch of creations in one statement, without
/// recording them (the batch records each its own change); the ids
/// inserted. On PostgreSQL a row whose email or username a concurrent
/// transaction took after the batch's check is left out (`ON CONFLICT DO
/// NOTHING`, after waiting for that transaction), not an error that would
/// fail the whole batch; SQLite's writes are serial, so its checks hold.
pub fn insert_batch(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<std::collections::HashSet<UserId>> {
    if rows.is_empty() {
        return Ok(Default::default());
    }
    match conn {
        Conn::Postgres(c) => {
            let q = diesel::insert_into(users::table).values(rows).on_conflict_do_nothing().returning(users::id);
            Ok(q.get_results::<UserId>(&mut **c)?.into_iter().collect())
        }
        Conn::Sqlite(c) => {
            diesel::insert_into(users::table).values(rows).execute(&mut **c)?;
            Ok(rows.iter().map(|r| r.id).collect())
        }
    }
}

/// Which of the email and username keys are used by a user of the account,
/// deleted ones included (their rows still hold the unique keys).
pub fn taken_keys(
    conn: &mut Conn,
    account_id: AccountId,
    email_keys: &[String],
    username_keys: &[String],
) -> QueryResult<(std::collections::HashSet<String>, std::collections::HashSet<String>)> {
    let q = users::table.filter(users::account_id.eq(account_id)).filter(in_ids(users::email_key, email_keys)).select(users::email_key);
    let emails: Vec<String> = if email_keys.is_empty() { Vec::new() } else { with_conn!(conn, |c| q.load(c))? };
    let q = users::table
        .filter(users::account_id.eq(account_id))
        .filter(in_ids(users::username_key.assume_not_null(), username_keys))
        .select(users::username_key.assume_not_null());
    let usernames: Vec<String> = if username_keys.is_empty() { Vec::new() } else { with_conn!(conn, |c| q.load(c))? };
    Ok((emails.into_iter().collect(), usernames.into_iter().collect()))
}

pub fn find(conn: &mut Conn, account_id: AccountId, ident: &UserIdentifier) -> QueryResult<Option<User>> {
    let live = users::table.filter(users::account_id.eq(account_id)).filter(users::deleted_at.is_null());
    match ident {
        UserIdentifier::Id(id) => {
            let query = live.filter(users::id.eq(*id));
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
pub fn taken(conn: &mut Conn, account_id: AccountId, email_key: &str, username_key: Option<&str>) -> QueryResult<Option<&'static str>> {
    taken_by_other(conn, account_id, None, Some(email_key), username_key)
}

/// Which of `ids` name live users of the account.
pub fn existing_ids(conn: &mut Conn, account_id: AccountId, ids: &[UserId]) -> QueryResult<Vec<UserId>> {
    // Filtered by primary key only, and the rest here: with the account in
    // the WHERE clause, SQLite's planner may walk the account's index (every
    // user of the account) instead of probing the ids.
    let query = users::table.filter(in_ids(users::id, ids)).select((users::id, users::account_id, users::deleted_at));
    let rows: Vec<(UserId, AccountId, Option<NaiveDateTime>)> = with_conn!(conn, |c| query.load(c))?;
    Ok(rows.into_iter().filter(|(_, account, deleted)| *account == account_id && deleted.is_none()).map(|(id, _, _)| id).collect())
}

/// Inserts many users in one statement per chunk (for seeding and imports;
/// no uniqueness pre-checks). Run inside a transaction for speed.
pub fn insert_many(w: &mut Write, rows: &[NewUser]) -> QueryResult<usize> {
    // 12 bound values a row; SQLite allows 32,766 per statement.
    let mut inserted = 0;
    for chunk in rows.chunks(2500) {
        let conn: &mut Conn = w;
        inserted += with_conn!(conn, |c| diesel::insert_into(users::table).values(chunk).execute(c))?;
    }
    for row in rows {
        w.record(Change::UserCreated { account: row.account_id, user: row.id });
    }
    Ok(inserted)
}

/// A user of the account by id, deleted ones too when asked.
pub fn get(conn: &mut Conn, account_id: AccountId, id: UserId, include_deleted: bool) -> QueryResult<Option<User>> {
    let query = users::table.filter(users::account_id.eq(account_id)).filter(users::id.eq(id));
    let user: Option<User> = with_conn!(conn, |c| query.select(User::as_select()).first(c).optional())?;
    Ok(user.filter(|u| include_deleted || u.deleted_at.is_none()))
}

/// Which users a listing shows (by default: every live user).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Substring of the email.
    pub email: Option<Search>,
    /// Substring of the username, first or last name.
    pub name: Option<Search>,
    /// Substring of any of the above.
    pub any: Option<Search>,
    pub include_deleted: bool,
    /// Only members of any of these groups (ids).
    pub member_of: Option<Vec<GroupId>>,
    /// Find the members by walking the users in the page's order and
    /// probing each one's membership (a page of a group that holds much of
    /// the account), instead of reading every member and sorting them (a
    /// small group): see [`walk_in_order_pays`].
    pub members_in_order: bool,
    /// Leave suspended users out.
    pub exclude_suspended: bool,
    /// Only users whose email key is this one or sorts after it: where a
    /// page of [`super::member_pages`] begins.
    pub email_from: Option<String>,
    /// Only users whose email key sorts before this one: where a page of
    /// [`super::member_pages`] read backward begins.
    pub email_before: Option<String>,
}

/// Whether a page `rows_to_skip_and_take` deep of a group with `members`
/// members is cheaper found by walking the account's users in the page's
/// order (about `rows × users / members` steps) than by reading every
/// member and sorting them (`members`). PostgreSQL's planner weighs that
/// itself from its statistics, so the walk is only offered; SQLite's would
/// walk the whole account for a group of ten, so the choice is made here,
/// against an upper bound of the account's users (the table's last rowid,
/// every account's users: a cheap read that errs toward sorting).
pub fn walk_in_order_pays(conn: &mut Conn, members: i64, rows_to_skip_and_take: i64) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    match conn {
        Conn::Postgres(_) => Ok(true),
        Conn::Sqlite(c) => {
            let users: Last = diesel::sql_query("SELECT coalesce(max(rowid), 0) AS n FROM users").get_result(&mut **c)?;
            Ok((rows_to_skip_and_take.max(1) as i128) * (users.n as i128) < (members as i128) * (members as i128))
        }
    }
}

/// The filtered users of an account as a boxed query of the connection's backend.
macro_rules! filtered {
    ($account_id:expr, $filter:expr) => {{
        let f: &UserFilter = $filter;
        let mut q = users::table.filter(users::account_id.eq($account_id)).into_boxed();
        if let Some(groups) = &f.member_of {
            if f.members_in_order {
                let member =
                    memberships::table.filter(memberships::group_id.eq_any(groups.clone())).filter(memberships::user_id.eq(users::id));
                q = q.filter(diesel::dsl::exists(member));
            } else {
                let members = memberships::table.filter(memberships::group_id.eq_any(groups.clone())).select(memberships::user_id);
                q = q.filter(users::id.eq_any(members));
            }
        }
        if !f.include_deleted {
            q = q.filter(users::deleted_at.is_null());
        }
        if f.exclude_suspended {
            q = q.filter(users::suspended.eq(false));
        }
        if let Some(key) = &f.email_from {
            q = q.filter(users::email_key.ge(key.clone()));
        }
        if let Some(key) = &f.email_before {
            q = q.filter(users::email_key.lt(key.clone()));
        }
        if let Some(s) = &f.email {
            q = q.filter(users::email_key.like(s.pattern().to_owned()).escape('\\'));
        }
        if let Some(s) = &f.name {
            let p = s.pattern().to_owned();
            q = q.filter(
                users::username_key
                    .like(p.clone())
                    .escape('\\')
                    .or(users::first_name_key.like(p.clone()).escape('\\'))
                    .or(users::last_name_key.like(p).escape('\\')),
            );
        }
        if let Some(s) = &f.any {
            let p = s.pattern().to_owned();
            q = q.filter(
                users::email_key
                    .like(p.clone())
                    .escape('\\')
                    .nullable()
                    .or(users::username_key.like(p.clone()).escape('\\'))
                    .or(users::first_name_key.like(p.clone()).escape('\\'))
                    .or(users::last_name_key.like(p).escape('\\')),
            );
        }
        q
    }};
}

/// Orders (first) or further orders a boxed user query by one field
/// (a macro: the boxed query's backend is the connection's).
macro_rules! order_users {
    ($q:expr, $key:expr, $descending:expr, $first:expr) => {{
        match $key {
            UserSort::CreatedAt => super::order_by_column!($q, users::created_at, $descending, $first),
            UserSort::UpdatedAt => super::order_by_column!($q, users::updated_at, $descending, $first),
            UserSort::Email => super::order_by_column!($q, users::email_key, $descending, $first),
            UserSort::Username => super::order_by_column!($q, users::username_key, $descending, $first),
            UserSort::FirstName => super::order_by_column!($q, users::first_name_key, $descending, $first),
            UserSort::LastName => super::order_by_column!($q, users::last_name_key, $descending, $first),
        }
    }};
}

/// The sort's keys up to the first email, and whether that ends it: email
/// keys are unique in an account (deleted users keep theirs), so the keys
/// after it, and the id that otherwise breaks ties, order nothing more.
/// Leaving them out spares PostgreSQL a sort of each run of equal emails
/// (an incremental sort over a walk in email order).
fn sort_keys(sort: &Sort<UserSort>) -> (Vec<(UserSort, bool)>, bool) {
    let mut keys = Vec::new();
    for (key, descending) in sort.keys() {
        keys.push((key, descending));
        if key == UserSort::Email {
            return (keys, true);
        }
    }
    (keys, false)
}

/// A boxed user query in the sort's order, made total: by the id after the
/// sort's keys, unless an email ([`sort_keys`]) already is.
macro_rules! sorted_users {
    ($q:expr, $sort:expr) => {{
        let sort: &Sort<UserSort> = $sort;
        let mut q = $q;
        let (keys, unique) = sort_keys(sort);
        for (n, &(key, descending)) in keys.iter().enumerate() {
            q = order_users!(q, key, descending, n == 0);
        }
        match (unique, sort.descending) {
            (true, _) => q,
            (false, true) => q.then_order_by(users::id.desc()),
            (false, false) => q.then_order_by(users::id.asc()),
        }
    }};
}

pub fn list(conn: &mut Conn, account_id: AccountId, filter: &UserFilter, sort: &Sort<UserSort>, page: Page) -> QueryResult<Vec<User>> {
    list_map(conn, account_id, filter, sort, page, &mut |u| u)
}

/// [`list`], each user handed to `f` as its row arrives.
pub fn list_map<T>(
    conn: &mut Conn,
    account_id: AccountId,
    filter: &UserFilter,
    sort: &Sort<UserSort>,
    page: Page,
    f: &mut dyn FnMut(User) -> T,
) -> QueryResult<Vec<T>> {
    with_conn!(conn, |c| {
        let q = filtered!(account_id, filter);
        let q = sorted_users!(q, sort);
        super::rows::load_map(q.offset(page.offset).limit(page.limit).select(User::as_select()), c, f)
    })
}

/// Every filtered user's email key, in order.
pub fn email_keys_in_order(conn: &mut Conn, account_id: AccountId, filter: &UserFilter) -> QueryResult<Vec<String>> {
    with_conn!(conn, |c| filtered!(account_id, filter).order((users::email_key.asc(), users::id.asc())).select(users::email_key).load(c))
}

pub fn count(conn: &mut Conn, account_id: AccountId, filter: &UserFilter) -> QueryResult<i64> {
    with_conn!(conn, |c| filtered!(account_id, filter).count().get_result(c))
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub username: Option<Option<String>>,
    pub username_key: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub first_name_key: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub last_name_key: Option<Option<String>>,
    pub timezone: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub custom: Option<Option<String>>,
    pub opt_out_of_notifications: Option<bool>,
    pub updated_at: NaiveDateTime,
}

pub fn update(w: &mut Write, account: AccountId, id: UserId, changes: &UserChanges) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::update(users::table.find(id)).set(changes).execute(c))?;
    let set = [
        ("email", changes.email.is_some()),
        ("username", changes.username.is_some()),
        ("first_name", changes.first_name.is_some()),
        ("last_name", changes.last_name.is_some()),
        ("timezone", changes.timezone.is_some()),
        ("language", changes.language.is_some()),
        ("avatar_url", changes.avatar_url.is_some()),
        ("custom", changes.custom.is_some()),
        ("opt_out_of_notifications", changes.opt_out_of_notifications.is_some()),
    ];
    let fields = set.into_iter().filter(|(_, is_set)| *is_set).map(|(name, _)| name).collect();
    w.record(Change::UserUpdated { account, user: id, fields });
    Ok(())
}

/// Marks the user deleted and ends their memberships (each one recorded
/// as removed).
pub fn soft_delete(w: &mut Write, account: AccountId, id: UserId, at: NaiveDateTime) -> QueryResult<()> {
    let groups = super::memberships::groups_of(w, id)?;
    let q = diesel::update(users::table.find(id)).set((users::deleted_at.eq(Some(at)), users::updated_at.eq(at)));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| q.execute(c))?;
    let gone = super::schema::memberships::table.filter(super::schema::memberships::user_id.eq(id));
    with_conn!(conn, |c| diesel::delete(gone).execute(c))?;
    for group in groups {
        w.record(Change::MembershipRemoved { account, group, user: id });
    }
    w.record(Change::UserDeleted { account, user: id });
    Ok(())
}

/// Whether the email or username key is held by another user of the account
/// (deleted users keep theirs).
pub fn taken_by_other(
    conn: &mut Conn,
    account_id: AccountId,
    except_id: Option<UserId>,
    email_key: Option<&str>,
    username_key: Option<&str>,
) -> QueryResult<Option<&'static str>> {
    if let Some(key) = email_key {
        let q = users::table.filter(users::account_id.eq(account_id)).filter(users::email_key.eq(key)).select(users::id);
        if with_conn!(conn, |c| q.load::<UserId>(c))?.into_iter().any(|id| Some(id) != except_id) {
            return Ok(Some("email"));
        }
    }
    if let Some(key) = username_key {
        let q = users::table.filter(users::account_id.eq(account_id)).filter(users::username_key.eq(key)).select(users::id);
        if with_conn!(conn, |c| q.load::<UserId>(c))?.into_iter().any(|id| Some(id) != except_id) {
            return Ok(Some("username"));
        }
    }
    Ok(None)
}

/// What signing in and checking a token need to know of a user.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct SignInState {
    pub id: UserId,
    pub account_id: AccountId,
    pub deleted_at: Option<NaiveDateTime>,
    pub password_hash: Option<String>,
    pub suspended: bool,
    pub failed_sign_ins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub auth_epoch: i32,
}

impl SignInState {
    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Whether the user may act at all now: live, not suspended, not locked.
    pub fn may_act(&self, now: NaiveDateTime) -> bool {
        self.deleted_at.is_none() && !self.suspended && !self.is_locked(now)
    }
}

/// A user's sign-in state by id, deleted users included.
pub fn sign_in_state(conn: &mut Conn, account_id: AccountId, id: UserId) -> QueryResult<Option<SignInState>> {
    let query = users::table.find(id);
    let state: Option<SignInState> = with_conn!(conn, |c| query.select(SignInState::as_select()).first(c).optional())?;
    Ok(state.filter(|s| s.account_id == account_id))
}

/// The sign-in states of users by id, deleted users included, in no order
/// (at most a batch's worth: SQLite binds each id).
pub fn sign_in_states(conn: &mut Conn, ids: &[UserId]) -> QueryResult<Vec<SignInState>> {
    let query = users::table.filter(in_ids(users::id, ids));
    with_conn!(conn, |c| query.select(SignInState::as_select()).load(c))
}

/// A live user's sign-in state by the key of their username.
pub fn sign_in_state_by_username(conn: &mut Conn, account_id: AccountId, username_key: &str) -> QueryResult<Option<SignInState>> {
    let query = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::username_key.eq(username_key))
        .filter(users::deleted_at.is_null());
    with_conn!(conn, |c| query.select(SignInState::as_select()).first(c).optional())
}

/// Stores a password hash for a user being created (their `user.created` says so).
pub fn store_password_hash(conn: &mut Conn, id: UserId, hash: &str, at: NaiveDateTime) -> QueryResult<()> {
    let query = diesel::update(users::table.find(id))
        .set((users::password_hash.eq(Some(hash.to_owned())), users::password_changed_at.eq(Some(at))));
    with_conn!(conn, |c| query.execute(c)).map(drop)
}

/// A new password for an existing user; `reset_required` when someone else
/// set it (the user is asked to choose their own).
pub fn set_password(w: &mut Write, account: AccountId, id: UserId, hash: &str, reset_required: bool, at: NaiveDateTime) -> QueryResult<()> {
    store_password_hash(w, id, hash, at)?;
    let query = diesel::update(users::table.find(id)).set((users::updated_at.eq(at), users::password_reset_required.eq(reset_required)));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| query.execute(c))?;
    w.record(Change::PasswordChanged { account, user: id });
    Ok(())
}

/// Counts a failed password sign-in; at `threshold` consecutive failures the
/// user is locked until `lock_until` (and the count starts again). Whether
/// this failure locked them.
pub fn record_failed_sign_in(
    w: &mut Write,
    account: AccountId,
    id: UserId,
    threshold: i32,
    lock_until: NaiveDateTime,
) -> QueryResult<bool> {
    let conn: &mut Conn = w;
    let count = diesel::update(users::table.find(id)).set(users::failed_sign_ins.eq(users::failed_sign_ins + 1));
    with_conn!(conn, |c| count.execute(c))?;
    let lock = diesel::update(users::table.find(id).filter(users::failed_sign_ins.ge(threshold)))
        .set((users::failed_sign_ins.eq(0), users::locked_until.eq(Some(lock_until))));
    let locked = with_conn!(conn, |c| lock.execute(c))? == 1;
    if locked {
        w.record(Change::UserLocked { account, user: id });
    }
    Ok(locked)
}

/// A successful sign-in: the failure count starts again.
pub fn record_sign_in(w: &mut Write, id: UserId, at: NaiveDateTime) -> QueryResult<()> {
    let query = diesel::update(users::table.find(id)).set((users::failed_sign_ins.eq(0), users::last_sign_in_at.eq(Some(at))));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| query.execute(c)).map(drop)
}

/// Suspends (which also refuses every token issued so far, by moving the
/// credential epoch on) or reinstates a user; whether anything changed.
pub fn set_suspended(w: &mut Write, account: AccountId, id: UserId, suspended: bool, at: NaiveDateTime) -> QueryResult<bool> {
    let target = users::table.find(id).filter(users::suspended.eq(!suspended));
    let conn: &mut Conn = w;
    let changed = if suspended {
        let q =
            diesel::update(target).set((users::suspended.eq(true), users::auth_epoch.eq(users::auth_epoch + 1), users::updated_at.eq(at)));
        with_conn!(conn, |c| q.execute(c))?
    } else {
        let q = diesel::update(target).set((users::suspended.eq(false), users::updated_at.eq(at)));
        with_conn!(conn, |c| q.execute(c))?
    } == 1;
    if changed {
        w.record(if suspended { Change::UserSuspended { account, user: id } } else { Change::UserUnsuspended { account, user: id } });
    }
    Ok(changed)
}

/// Lifts a lock from failed sign-ins; whether there was one.
pub fn unlock(w: &mut Write, account: AccountId, id: UserId) -> QueryResult<bool> {
    let query = diesel::update(users::table.find(id)).set((users::failed_sign_ins.eq(0), users::locked_until.eq(None::<NaiveDateTime>)));
    let conn: &mut Conn = w;
    let was_locked: Option<NaiveDateTime> =
        with_conn!(conn, |c| users::table.find(id).select(users::locked_until).first::<Option<NaiveDateTime>>(c))?;
    with_conn!(conn, |c| query.execute(c))?;
    if was_locked.is_some() {
        w.record(Change::UserUnlocked { account, user: id });
    }
    Ok(was_locked.is_some())
}

/// Marks the user's password as subject to expiry.
pub fn set_password_expirable(w: &mut Write, account: AccountId, id: UserId, at: NaiveDateTime) -> QueryResult<()> {
    let query = diesel::update(users::table.find(id)).set((users::password_expirable.eq(true), users::updated_at.eq(at)));
    let conn: &mut Conn = w;
    with_conn!(conn, |c| query.execute(c))?;
    w.record(Change::UserUpdated { account, user: id, fields: vec!["password_expirable"] });
    Ok(())
}

/// The users of an account a search expression matches (live only), as a
/// boxed condition of each backend (a macro: one function per backend).
macro_rules! search_condition {
    ($name:ident, $db:ty) => {
        fn $name(e: &Expr) -> Box<dyn BoxableExpression<users::table, $db, SqlType = Nullable<Bool>>> {
            type Cond = Box<dyn BoxableExpression<users::table, $db, SqlType = Nullable<Bool>>>;
            let always = |yes: bool| -> Cond { Box::new(diesel::dsl::sql::<Bool>(if yes { "1 = 1" } else { "1 = 0" }).nullable()) };
            macro_rules! compare {
                ($column:expr, $op:expr, $value:expr) => {
                    match $op {
                        Compare::Eq => Box::new($column.eq($value).nullable()) as Cond,
                        Compare::Gt => Box::new($column.gt($value).nullable()),
                        Compare::Ge => Box::new($column.ge($value).nullable()),
                        Compare::Lt => Box::new($column.lt($value).nullable()),
                        Compare::Le => Box::new($column.le($value).nullable()),
                    }
                };
            }
            macro_rules! text_column {
                ($field:expr, |$c:ident| $body:expr) => {
                    match $field {
                        Field::Username => {
                            let $c = users::username_key;
                            $body
                        }
                        Field::Email => {
                            let $c = users::email_key.nullable();
                            $body
                        }
                        Field::FirstName => {
                            let $c = users::first_name_key;
                            $body
                        }
                        Field::LastName => {
                            let $c = users::last_name_key;
                            $body
                        }
                        Field::Timezone => {
                            let $c = users::timezone;
                            $body
                        }
                        _ => {
                            let $c = users::language;
                            $body
                        }
                    }
                };
            }
            match e {
                Expr::And(items) => items.iter().fold(always(true), |acc, item| Box::new(acc.and($name(item)))),
                Expr::Or(items) => items.iter().fold(always(false), |acc, item| Box::new(acc.or($name(item)))),
                Expr::Not(inner) => Box::new(diesel::dsl::not($name(inner))),
                Expr::Compare(field, op, value) => match (field, value) {
                    (Field::Id, Scalar::Id(id)) => compare!(users::id.nullable(), op, Some(*id)),
                    (Field::Created, Scalar::Time(t)) => compare!(users::created_at, op, *t),
                    (Field::Modified, Scalar::Time(t)) => compare!(users::updated_at, op, *t),
                    (Field::OptOutOfNotifications, Scalar::Bool(b)) => compare!(users::opt_out_of_notifications, op, *b),
                    (text, Scalar::Text(v)) => text_column!(text, |c| compare!(c, op, v.clone())),
                    _ => always(false),
                },
                Expr::Like(field, pattern) => text_column!(field, |c| Box::new(c.like(pattern.clone()).escape('\\')) as Cond),
                Expr::In(field, values) => match field {
                    Field::Id => {
                        let ids: Vec<UserId> =
                            values.iter().filter_map(|v| if let Scalar::Id(id) = v { Some(*id) } else { None }).collect();
                        Box::new(users::id.eq_any(ids).nullable())
                    }
                    Field::Created | Field::Modified | Field::OptOutOfNotifications => {
                        values.iter().fold(always(false), |acc, v| Box::new(acc.or($name(&Expr::Compare(*field, Compare::Eq, v.clone())))))
                    }
                    text => {
                        let texts: Vec<String> =
                            values.iter().filter_map(|v| if let Scalar::Text(t) = v { Some(t.clone()) } else { None }).collect();
                        text_column!(text, |c| Box::new(c.eq_any(texts.clone())) as Cond)
                    }
                },
                Expr::Exists(field, yes) => match field {
                    Field::Id | Field::Email | Field::Created | Field::Modified | Field::OptOutOfNotifications => always(*yes),
                    text if *yes => text_column!(text, |c| Box::new(c.is_not_null().nullable()) as Cond),
                    text => text_column!(text, |c| Box::new(c.is_null().nullable()) as Cond),
                },
            }
        }
    };
}

search_condition!(search_sqlite, diesel::sqlite::Sqlite);
search_condition!(search_postgres, diesel::pg::Pg);

/// A page of the live users of the account that `expr` matches, and how many match.
pub fn search(conn: &mut Conn, account_id: AccountId, expr: &Expr, sort: &Sort<UserSort>, page: Page) -> QueryResult<(Vec<User>, i64)> {
    macro_rules! run {
        ($c:expr, $condition:expr) => {{
            let base = || users::table.filter(users::account_id.eq(account_id)).filter(users::deleted_at.is_null()).into_boxed();
            let total: i64 = base().filter($condition(expr)).count().get_result($c)?;
            let q = sorted_users!(base().filter($condition(expr)), sort);
            let items = super::rows::load(q.offset(page.offset).limit(page.limit).select(User::as_select()), $c)?;
            Ok((items, total))
        }};
    }
    match conn {
        Conn::Sqlite(c) => run!(&mut **c, search_sqlite),
        Conn::Postgres(c) => run!(&mut **c, search_postgres),
    }
}
