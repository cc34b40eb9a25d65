//! The change feed's rows (README, "Change feed and webhooks").
//!
//! Every change is written as an event row in the transaction of the change.
//! Consumers read by position (`pos`), which only ever grows, and a position
//! is only ever given to a committed event, below no position a consumer has
//! already seen:
//!
//! - SQLite commits one writer at a time: the position is taken from
//!   `event_head` as the rows are written, so positions are commit order.
//! - PostgreSQL commits concurrent transactions in any order, so the rows are
//!   written without a position and [`sequence`] (run by one instance at a
//!   time) numbers, in each round, every event committed since the last round.
//!   A transaction that commits late is numbered in a later round, after what
//!   consumers may have read already: it is never skipped.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{event_head, event_retention, events};
use super::{Conn, Write, WriteContext};
use crate::domain::{AccountId, ApiKeyId, Change, GroupId, UserId, WebhookId};
use crate::with_conn;

/// Most rows one sequencing round numbers.
pub const SEQUENCE_BATCH: i64 = 10_000;
/// Positions a filtered page scans at most (its `next_cursor` then moves on
/// without a full page, so a sparse filter costs bounded work per call).
pub const FILTER_WINDOW: i64 = 10_000;

/// Most users one stored row of membership changes lists.
pub const USERS_PER_ROW: usize = 1_000;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_default_value = false)]
struct NewEvent<'a> {
    account_id: AccountId,
    kind: &'static str,
    occurred_at: NaiveDateTime,
    actor_user_id: Option<UserId>,
    actor_key_id: Option<ApiKeyId>,
    request_id: Option<&'a str>,
    group_id: Option<GroupId>,
    user_id: Option<UserId>,
    child_group_id: Option<GroupId>,
    api_key_id: Option<ApiKeyId>,
    webhook_id: Option<WebhookId>,
    fields: Option<String>,
    users: Option<String>,
    groups: Option<String>,
    requests: Option<String>,
    n: i32,
}

/// A stored row: one event, or a run of `n` membership changes of one kind
/// by one actor (a bulk, or the single adds of one transaction) at the
/// positions up to `pos`: `users` lists their users, `groups` and
/// `requests` their groups and request ids unless all share `group_id` and
/// `request_id`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
struct Row {
    pos: Option<i64>,
    account_id: AccountId,
    kind: String,
    occurred_at: NaiveDateTime,
    actor_user_id: Option<UserId>,
    actor_key_id: Option<ApiKeyId>,
    request_id: Option<String>,
    group_id: Option<GroupId>,
    user_id: Option<UserId>,
    child_group_id: Option<GroupId>,
    api_key_id: Option<ApiKeyId>,
    webhook_id: Option<WebhookId>,
    fields: Option<String>,
    users: Option<String>,
    groups: Option<String>,
    requests: Option<String>,
    n: i32,
}

/// One event of the feed, at its position.
#[derive(Debug, Clone)]
pub struct Event {
    pub pos: i64,
    /// Derived from the position: stable, and unique in the deployment.
    pub id: String,
    pub account_id: AccountId,
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<UserId>,
    pub actor_key_id: Option<ApiKeyId>,
    pub request_id: Option<String>,
    pub group_id: Option<GroupId>,
    pub user_id: Option<UserId>,
    pub child_group_id: Option<GroupId>,
    pub api_key_id: Option<ApiKeyId>,
    pub webhook_id: Option<WebhookId>,
    /// A JSON array of field names (updates only).
    pub fields: Option<String>,
}

impl Event {
    pub fn position(&self) -> i64 {
        self.pos
    }

    pub fn field_names(&self) -> Option<Vec<String>> {
        self.fields.as_deref().and_then(|f| serde_json::from_str(f).ok())
    }
}

/// The id of the event at a position: a UUID (version 8, "vendor-defined")
/// whose first half reads "rollcall" and whose second is the position.
pub fn event_id(pos: i64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(b"rollcall");
    bytes[8..].copy_from_slice(&pos.to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

fn to_json<T: serde::Serialize>(list: Vec<T>) -> String {
    serde_json::to_string(&list).unwrap_or_default()
}

fn list<T: serde::de::DeserializeOwned>(stored: Option<&str>) -> Option<Vec<T>> {
    stored.map(|list| serde_json::from_str(list).unwrap_or_default())
}

impl Row {
    /// The row's events, in position order.
    fn expand(self) -> Vec<Event> {
        let last = self.pos.unwrap_or_default();
        let n = usize::try_from(self.n).unwrap_or(1);
        let first = last - n as i64 + 1;
        let users: Option<Vec<UserId>> = list(self.users.as_deref());
        let groups: Option<Vec<GroupId>> = list(self.groups.as_deref());
        let requests: Option<Vec<Option<String>>> = list(self.requests.as_deref());
        (0..n)
            .map(|i| {
                let pos = first + i as i64;
                Event {
                    pos,
                    id: event_id(pos),
                    account_id: self.account_id,
                    kind: self.kind.clone(),
                    occurred_at: self.occurred_at,
                    actor_user_id: self.actor_user_id,
                    actor_key_id: self.actor_key_id,
                    request_id: requests.as_ref().map_or_else(|| self.request_id.clone(), |r| r.get(i).cloned().flatten()),
                    group_id: groups.as_ref().map_or(self.group_id, |g| g.get(i).copied()),
                    user_id: users.as_ref().map_or(self.user_id, |u| u.get(i).copied()),
                    child_group_id: self.child_group_id,
                    api_key_id: self.api_key_id,
                    webhook_id: self.webhook_id,
                    fields: self.fields.clone(),
                }
            })
            .collect()
    }
}

/// Writes one event per change, in the order they were made.
pub fn record(w: &mut Write, changes: &[Change], at: NaiveDateTime) -> QueryResult<()> {
    let context = w.context().clone();
    record_all(w, &[(&context, changes)], at)
}

/// Whether two changes can share a stored row: membership changes of one
/// kind in one account, made by one actor.
fn same_run(a: (&WriteContext, &Change), b: (&WriteContext, &Change)) -> bool {
    use Change::{MembershipAdded, MembershipRemoved};
    let actor = |c: &WriteContext| c.actor.map(|p| (p.user, p.key));
    let kind_and_account = |c: &Change| match c {
        MembershipAdded { account, .. } => Some((true, *account)),
        MembershipRemoved { account, .. } => Some((false, *account)),
        _ => None,
    };
    kind_and_account(a.1).is_some() && kind_and_account(a.1) == kind_and_account(b.1) && actor(a.0) == actor(b.0)
}

/// Writes the events of several writes sharing one transaction (a batch of
/// single adds), each with its own actor and request id, in that order. A
/// run of membership changes by one actor (a bulk; the single adds of a
/// batch) is one row.
pub fn record_all(conn: &mut Conn, writes: &[(&WriteContext, &[Change])], at: NaiveDateTime) -> QueryResult<()> {
    let all: Vec<(&WriteContext, &Change)> =
        writes.iter().flat_map(|(context, changes)| changes.iter().map(move |c| (*context, c))).collect();
    let mut rows: Vec<NewEvent> = Vec::new();
    let mut rest: &[(&WriteContext, &Change)] = &all;
    while let Some(&first) = rest.first() {
        let run = rest.iter().take(USERS_PER_ROW).take_while(|next| same_run(first, **next)).count().max(1);
        let (these, after) = rest.split_at(run);
        rest = after;
        let (context, change) = first;
        let actor = context.actor;
        let s = change.subjects();
        let shared_group = these.iter().all(|(_, c)| c.subjects().group == s.group);
        let shared_request = these.iter().all(|(x, _)| x.request_id == context.request_id);
        rows.push(NewEvent {
            account_id: change.account(),
            kind: change.kind(),
            occurred_at: at,
            actor_user_id: actor.map(|a| a.user),
            actor_key_id: actor.and_then(|a| a.key),
            request_id: if shared_request { context.request_id.as_deref() } else { None },
            group_id: if shared_group { s.group } else { None },
            user_id: if run > 1 { None } else { s.user },
            child_group_id: s.child_group,
            api_key_id: s.api_key,
            webhook_id: s.webhook,
            fields: s.fields.map(|f| serde_json::to_string(&f).unwrap_or_default()),
            users: (run > 1).then(|| to_json(these.iter().filter_map(|(_, c)| c.subjects().user).collect::<Vec<_>>())),
            groups: (!shared_group).then(|| to_json(these.iter().filter_map(|(_, c)| c.subjects().group).collect::<Vec<_>>())),
            requests: (!shared_request).then(|| to_json(these.iter().map(|(x, _)| x.request_id.clone()).collect::<Vec<_>>())),
            n: run as i32,
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    // Few enough bound values per statement for either backend.
    const CHUNK: usize = 500;
    match conn {
        Conn::Sqlite(c) => {
            let total: i64 = rows.iter().map(|r| i64::from(r.n)).sum();
            let last: i64 = diesel::update(event_head::table.find(1))
                .set(event_head::last.eq(event_head::last + total))
                .returning(event_head::last)
                .get_result(&mut **c)?;
            let mut upto = last - total;
            let positioned: Vec<_> = rows
                .into_iter()
                .map(|row| {
                    upto += i64::from(row.n);
                    (events::seq.eq(upto), events::pos.eq(Some(upto)), row)
                })
                .collect();
            for chunk in positioned.chunks(CHUNK / 2) {
                diesel::insert_into(events::table).values(chunk).execute(&mut **c)?;
            }
        }
        Conn::Postgres(c) => {
            // The transaction's id before any `seq`: the sequencer's floor
            // counts on it (migration 000008).
            diesel::sql_query("SELECT pg_current_xact_id()").execute(&mut **c)?;
            for chunk in rows.chunks(CHUNK) {
                diesel::insert_into(events::table).values(chunk).execute(&mut **c)?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL: numbers the events committed since the last round (at most
/// [`SEQUENCE_BATCH`]); returns how many. Does nothing while another
/// instance's round runs, and on SQLite (positioned when written).
///
/// The search starts above `event_head.floor_seq`, below which nothing is
/// or will be unnumbered (migration 000008 says why that matters and how
/// the floor rises).
pub fn sequence(conn: &mut Conn) -> Result<i64, crate::error::Error> {
    use diesel::sql_types::{BigInt, Bool, Nullable};
    let Conn::Postgres(_) = conn else { return Ok(0) };
    conn.write(|conn| {
        let Conn::Postgres(c) = conn else { return Ok(0) };
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = Bool)]
            locked: bool,
        }
        let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock(7243152) AS locked").get_result(&mut **c)?;
        if !lock.locked {
            return Ok(0);
        }
        #[derive(QueryableByName)]
        struct Floor {
            #[diesel(sql_type = BigInt)]
            floor_seq: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            cand_seq: Option<i64>,
            /// Every transaction that could still write an event at or
            /// below `cand_seq` has ended.
            #[diesel(sql_type = Bool)]
            cand_done: bool,
            /// The last `seq` handed out so far: the next candidate.
            #[diesel(sql_type = BigInt)]
            next_cand: i64,
        }
        // Nothing in this round's transaction has written yet, so it has no
        // transaction id: `next_cand` is read before it gets one.
        let floor: Floor = diesel::sql_query(
            "SELECT floor_seq, cand_seq, \
                    coalesce(pg_snapshot_xmin(pg_current_snapshot()) > cand_xid, false) AS cand_done, \
                    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_seq_seq) AS next_cand \
             FROM event_head WHERE id = 1",
        )
        .get_result(&mut **c)?;
        // A new statement, so a new snapshot: it sees every commit up to now,
        // including the previous round's and, when `cand_done`, every event
        // at or below `cand_seq` that will ever commit.
        let numbered = diesel::sql_query(
            "WITH pending AS ( \
                 SELECT seq, sum(n) OVER (ORDER BY seq) AS upto FROM events \
                 WHERE pos IS NULL AND seq > $2 ORDER BY seq LIMIT $1 \
             ), total AS ( \
                 SELECT coalesce(max(upto), 0) AS t FROM pending \
             ), head AS ( \
                 UPDATE event_head SET last = last + (SELECT t FROM total) WHERE id = 1 AND (SELECT t FROM total) > 0 \
                 RETURNING last - (SELECT t FROM total) AS base \
             ) \
             UPDATE events SET pos = head.base + pending.upto FROM pending, head WHERE events.seq = pending.seq",
        )
        .bind::<BigInt, _>(SEQUENCE_BATCH)
        .bind::<BigInt, _>(floor.floor_seq)
        .execute(&mut **c)? as i64;
        // Everything up to the candidate is numbered now (unless the batch
        // was full): raise the floor to it and keep `next_cand` as the next
        // candidate, with this transaction's id, which was handed out after
        // `next_cand` was read and so after the id of every writer of an
        // event up to it (writers take their id before their `seq`).
        let raise = floor.cand_done && numbered < SEQUENCE_BATCH;
        // Nothing to raise and no new candidate (an idle round): no write,
        // so the round's transaction commits without flushing the WAL (an
        // idle instance runs ~30 rounds a second). The kept `cand_xid` is
        // still after every writer of an event up to the unchanged candidate.
        let idle = raise && floor.cand_seq == Some(floor.floor_seq) && floor.cand_seq == Some(floor.next_cand);
        if (raise || floor.cand_seq.is_none()) && !idle {
            let new_floor = if raise { floor.cand_seq.unwrap_or(floor.floor_seq) } else { floor.floor_seq };
            diesel::sql_query("UPDATE event_head SET floor_seq = $1, cand_seq = $2, cand_xid = pg_current_xact_id() WHERE id = 1")
                .bind::<BigInt, _>(new_floor)
                .bind::<BigInt, _>(floor.next_cand)
                .execute(&mut **c)?;
        }
        Ok(numbered)
    })
}

/// The last position handed out.
pub fn head(conn: &mut Conn) -> QueryResult<i64> {
    with_conn!(conn, |c| event_head::table.find(1).select(event_head::last).first(c))
}

/// What a page of the feed is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    pub kinds: Option<Vec<String>>,
    pub group: Option<GroupId>,
    pub user: Option<UserId>,
}

impl FeedFilter {
    pub fn is_empty(&self) -> bool {
        self.kinds.is_none() && self.group.is_none() && self.user.is_none()
    }

    /// Whether one event of a stored row passes (the query selected rows
    /// holding at least one that does).
    fn admits(&self, e: &Event) -> bool {
        self.user.is_none_or(|u| e.user_id == Some(u)) && self.group.is_none_or(|g| e.group_id == Some(g) || e.child_group_id == Some(g))
    }
}

/// Up to `limit` events of the account after position `after`, in position
/// order, and the position a next page starts after.
pub fn page(conn: &mut Conn, account: AccountId, after: i64, limit: i64, filter: &FeedFilter) -> QueryResult<(Vec<Event>, i64)> {
    // The head first: every position at or below it is committed and visible
    // to the next statement.
    let head = head(conn)?;
    let end = if filter.is_empty() { head } else { head.min(after.saturating_add(FILTER_WINDOW)) };
    // Rows whose last position is past `after`: the first may hold events
    // at or before it too. Each row is at least one event, so `limit` rows
    // are enough for a page.
    let rows: Vec<Row> = with_conn!(conn, |c| {
        let mut q = events::table
            .filter(events::account_id.eq(account))
            .filter(events::pos.gt(after))
            .filter(events::pos.le(end))
            .select(Row::as_select())
            .order(events::pos.asc())
            .limit(limit)
            .into_boxed();
        if let Some(kinds) = &filter.kinds {
            q = q.filter(events::kind.eq_any(kinds.clone()));
        }
        if let Some(group) = filter.group {
            q = q.filter(events::group_id.eq(group).or(events::child_group_id.eq(group)).or(events::groups.like(format!("%{group}%"))));
        }
        if let Some(user) = filter.user {
            q = q.filter(events::user_id.eq(user).or(events::users.like(format!("%{user}%"))));
        }
        q.load(c)
    })?;
    // How far these rows account for every event (a short answer: to the end).
    let scanned = match rows.last() {
        Some(last) if rows.len() as i64 == limit => last.pos.unwrap_or(after),
        _ => end.max(after),
    };
    let mut items: Vec<Event> = rows.into_iter().flat_map(Row::expand).filter(|e| e.pos > after && filter.admits(e)).collect();
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
    }
    let next = match items.last() {
        Some(last) if items.len() as i64 == limit => last.pos,
        _ => scanned,
    };
    Ok((items, next))
}

/// The last position of the account's events that retention removed.
pub fn pruned_through(conn: &mut Conn, account: AccountId) -> QueryResult<i64> {
    let q = event_retention::table.find(account).select(event_retention::pruned_through);
    Ok(with_conn!(conn, |c| q.first::<i64>(c).optional())?.unwrap_or(0))
}

/// Removes up to `batch` of the oldest events that occurred before `cutoff`,
/// recording per account how far it pruned; returns how many it removed (0
/// when nothing is that old).
///
/// It walks the primary key (`seq`, the order rows were written in, which
/// is also the order of `occurred_at`) from its start, takes the leading
/// rows that are old enough and positioned, and stops at the first that is
/// not: each round reads at most `batch` rows however large the table is,
/// and never a row that a consumer could still be owed. On PostgreSQL a row
/// written earlier may have been numbered later; an account's
/// `pruned_through` therefore only ever grows (a consumer below it is told
/// it missed events, one at or above it reads every event still there).
pub fn prune(conn: &mut Conn, cutoff: NaiveDateTime, batch: i64) -> Result<usize, crate::error::Error> {
    conn.write(|conn| {
        // The oldest row first: most rounds find it young and stop there.
        let first = events::table.select(events::occurred_at).order(events::seq.asc());
        if with_conn!(conn, |c| first.first::<NaiveDateTime>(c).optional())?.is_none_or(|at| at >= cutoff) {
            return Ok(0);
        }
        let oldest =
            events::table.select((events::seq, events::pos, events::account_id, events::occurred_at)).order(events::seq.asc()).limit(batch);
        let rows: Vec<(i64, Option<i64>, AccountId, NaiveDateTime)> = with_conn!(conn, |c| oldest.load(c))?;
        let mut per_account = std::collections::BTreeMap::<AccountId, i64>::new();
        let mut through = None;
        for (seq, pos, account, occurred_at) in rows {
            let Some(pos) = pos.filter(|_| occurred_at < cutoff) else { break };
            let highest = per_account.entry(account).or_insert(pos);
            *highest = (*highest).max(pos);
            through = Some(seq);
        }
        let Some(through) = through else { return Ok(0) };
        for (account, pos) in per_account {
            with_conn!(conn, |c| diesel::insert_into(event_retention::table)
                .values((event_retention::account_id.eq(account), event_retention::pruned_through.eq(0)))
                .on_conflict_do_nothing()
                .execute(c))?;
            let behind = event_retention::table.find(account).filter(event_retention::pruned_through.lt(pos));
            with_conn!(conn, |c| diesel::update(behind).set(event_retention::pruned_through.eq(pos)).execute(c))?;
        }
        // The conditions again: on PostgreSQL a row below `through` that was
        // not yet committed when the rows were read may be by now.
        let gone = events::table.filter(events::seq.le(through)).filter(events::pos.is_not_null()).filter(events::occurred_at.lt(cutoff));
        Ok(with_conn!(conn, |c| diesel::delete(gone).execute(c))?)
    })
}
