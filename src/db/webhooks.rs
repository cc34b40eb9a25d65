//! Webhooks, their delivery state (cursor, failures, lease) and the log of
//! delivery attempts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{webhook_deliveries, webhooks};
use super::{Conn, Write};
use crate::domain::{AccountId, Change, UserId, WebhookId};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub url: String,
    pub description: Option<String>,
    /// A JSON array of event types; none: every type.
    pub event_types: Option<String>,
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cursor: i64,
    pub failing_since: Option<NaiveDateTime>,
    pub failures: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
}

impl Webhook {
    pub fn types(&self) -> Option<Vec<String>> {
        self.event_types.as_deref().and_then(|t| serde_json::from_str(t).ok())
    }
}

/// What an update sets (`None`: unchanged).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub failures: Option<i32>,
    pub next_attempt_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: WebhookId,
    pub event_id: String,
    pub event_type: String,
    pub event_pos: i64,
    pub attempt: i32,
    pub attempted_at: NaiveDateTime,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub delivered: bool,
    pub next_retry_at: Option<NaiveDateTime>,
}

pub fn insert(w: &mut Write, hook: &Webhook) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::insert_into(webhooks::table).values(hook).execute(c))?;
    w.record(Change::WebhookCreated { account: hook.account_id, webhook: hook.id });
    Ok(())
}

pub fn get(conn: &mut Conn, account: AccountId, id: WebhookId) -> QueryResult<Option<Webhook>> {
    let q = webhooks::table.find(id).filter(webhooks::account_id.eq(account));
    with_conn!(conn, |c| q.select(Webhook::as_select()).first(c).optional())
}

pub fn list(conn: &mut Conn, account: AccountId) -> QueryResult<Vec<Webhook>> {
    let q = webhooks::table.filter(webhooks::account_id.eq(account)).order((webhooks::created_at.asc(), webhooks::id.asc()));
    with_conn!(conn, |c| q.select(Webhook::as_select()).load(c))
}

pub fn update(w: &mut Write, hook: &Webhook, changes: &WebhookChanges, fields: Vec<&'static str>) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::update(webhooks::table.find(hook.id)).set(changes).execute(c))?;
    w.record(Change::WebhookUpdated { account: hook.account_id, webhook: hook.id, fields });
    Ok(())
}

pub fn delete(w: &mut Write, hook: &Webhook) -> QueryResult<()> {
    let conn: &mut Conn = w;
    with_conn!(conn, |c| diesel::delete(webhooks::table.find(hook.id)).execute(c))?;
    w.record(Change::WebhookDeleted { account: hook.account_id, webhook: hook.id });
    Ok(())
}

/// The newest delivery attempts of a webhook, newest first.
pub fn deliveries(conn: &mut Conn, id: WebhookId, limit: i64) -> QueryResult<Vec<Delivery>> {
    let q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .order((webhook_deliveries::attempted_at.desc(), webhook_deliveries::id.desc()))
        .limit(limit);
    with_conn!(conn, |c| q.select(Delivery::as_select()).load(c))
}

// Delivery state (the dispatcher's; not changes a client makes).

/// Enabled webhooks with events past their cursor, due now and not leased.
pub fn due(conn: &mut Conn, head: i64, now: NaiveDateTime) -> QueryResult<Vec<WebhookId>> {
    let q = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::cursor.lt(head))
        .filter(webhooks::next_attempt_at.is_null().or(webhooks::next_attempt_at.le(now)))
        .filter(webhooks::lease_until.is_null().or(webhooks::lease_until.lt(now)))
        .select(webhooks::id)
        .limit(100);
    with_conn!(conn, |c| q.load(c))
}

/// Takes the webhook's lease for `owner` until `until` if it is free (or
/// expired); returns the webhook when taken.
pub fn claim(conn: &mut Conn, id: WebhookId, owner: &str, now: NaiveDateTime, until: NaiveDateTime) -> QueryResult<Option<Webhook>> {
    let free = webhooks::table
        .find(id)
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::lease_until.is_null().or(webhooks::lease_until.lt(now)));
    let taken = with_conn!(conn, |c| diesel::update(free)
        .set((webhooks::lease_owner.eq(Some(owner)), webhooks::lease_until.eq(Some(until))))
        .execute(c))?;
    if taken == 0 {
        return Ok(None);
    }
    let q = webhooks::table.find(id);
    with_conn!(conn, |c| q.select(Webhook::as_select()).first(c).optional())
}

/// Moves the cursor (and renews the lease) while `owner` holds it; false
/// when the lease was lost (another instance delivers now).
pub fn advance(conn: &mut Conn, id: WebhookId, owner: &str, cursor: i64, until: NaiveDateTime) -> QueryResult<bool> {
    let held = webhooks::table.find(id).filter(webhooks::lease_owner.eq(owner)).filter(webhooks::cursor.le(cursor));
    let n = with_conn!(conn, |c| diesel::update(held)
        .set((
            webhooks::cursor.eq(cursor),
            webhooks::lease_until.eq(Some(until)),
            webhooks::failures.eq(0),
            webhooks::failing_since.eq(None::<NaiveDateTime>),
            webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Records a failed attempt: the next attempt waits until `retry_at`, and
/// the lease is given up.
pub fn failed(conn: &mut Conn, id: WebhookId, owner: &str, since: NaiveDateTime, retry_at: NaiveDateTime) -> QueryResult<bool> {
    let held = webhooks::table.find(id).filter(webhooks::lease_owner.eq(owner));
    let n = with_conn!(conn, |c| diesel::update(held)
        .set((
            webhooks::failures.eq(webhooks::failures + 1),
            webhooks::failing_since.eq(Some(since)),
            webhooks::next_attempt_at.eq(Some(retry_at)),
            webhooks::lease_owner.eq(None::<String>),
            webhooks::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Gives up the lease (nothing more to deliver now).
pub fn release(conn: &mut Conn, id: WebhookId, owner: &str) -> QueryResult<()> {
    let held = webhooks::table.find(id).filter(webhooks::lease_owner.eq(owner));
    with_conn!(conn, |c| diesel::update(held)
        .set((webhooks::lease_owner.eq(None::<String>), webhooks::lease_until.eq(None::<NaiveDateTime>)))
        .execute(c))?;
    Ok(())
}

/// Disables a webhook that failed for too long (while `owner` holds it).
pub fn disable(w: &mut Write, id: WebhookId, owner: &str, reason: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let held = webhooks::table.find(id).filter(webhooks::lease_owner.eq(owner)).filter(webhooks::enabled.eq(true));
    let q = diesel::update(held).set((
        webhooks::enabled.eq(false),
        webhooks::disabled_reason.eq(Some(reason)),
        webhooks::updated_at.eq(now),
        webhooks::next_attempt_at.eq(None::<NaiveDateTime>),
        webhooks::lease_owner.eq(None::<String>),
        webhooks::lease_until.eq(None::<NaiveDateTime>),
    ));
    let conn: &mut Conn = w;
    let n = with_conn!(conn, |c| q.execute(c))?;
    if n == 1 {
        let account = with_conn!(conn, |c| webhooks::table.find(id).select(webhooks::account_id).first::<AccountId>(c))?;
        w.record(Change::WebhookDisabled { account, webhook: id });
    }
    Ok(n == 1)
}

pub fn log_delivery(conn: &mut Conn, delivery: &Delivery) -> QueryResult<()> {
    with_conn!(conn, |c| diesel::insert_into(webhook_deliveries::table).values(delivery).execute(c))?;
    Ok(())
}

/// Removes delivery attempts made before `cutoff`.
pub fn prune_deliveries(conn: &mut Conn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    with_conn!(conn, |c| diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::attempted_at.lt(cutoff))).execute(c))
}
