//! The change feed: the observer that writes every change as an event in
//! its own transaction, and the background work that keeps the feed — the
//! sequencer on PostgreSQL ([`db::events::sequence`]) and the retention
//! pruning.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::db::{self, Write};
use crate::domain::Change;
use crate::error::Error;
use crate::service::{Observe, Service};

/// What the feed's background work waits on: a commit with events (the
/// sequencer), and new positions (webhook delivery).
#[derive(Clone, Default)]
pub struct Signals {
    pub committed: Arc<Notify>,
    pub positioned: Arc<Notify>,
}

/// Writes each change of a transaction as an event row, inside it, and
/// signals once it commits.
pub struct EventLog {
    signals: Signals,
    /// SQLite positions events as they are written.
    positioned_on_commit: bool,
}

impl EventLog {
    pub fn new(signals: Signals, positioned_on_commit: bool) -> Self {
        Self { signals, positioned_on_commit }
    }
}

impl Observe for EventLog {
    fn in_transaction(&self, w: &mut Write) -> Result<(), Error> {
        let changes = w.changes().to_vec();
        db::events::record(w, &changes, crate::engine::now())?;
        Ok(())
    }

    fn in_transaction_all(&self, conn: &mut db::Conn, writes: &[(&db::WriteContext, &[Change])]) -> Result<(), Error> {
        db::events::record_all(conn, writes, crate::engine::now())?;
        Ok(())
    }

    fn committed(&self, changes: &[Change]) {
        if !changes.is_empty() {
            self.signals.committed.notify_one();
            if self.positioned_on_commit {
                self.signals.positioned.notify_one();
            }
        }
    }
}

/// How often an idle sequencer looks for commits of other instances.
const SEQUENCE_POLL: Duration = Duration::from_millis(20);
/// The least time between two rounds (what a busy instance waits more).
const SEQUENCE_GAP: Duration = Duration::from_millis(10);
/// How often retention runs, and the most it removes per transaction.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_BATCH: i64 = 5_000;

/// Starts the feed's background work on this instance (on the current
/// runtime; it ends with it).
pub fn start(service: &Service) {
    if service.pool().is_postgres() {
        let (s, signals) = (service.clone(), service.feed_signals().clone());
        tokio::spawn(async move {
            loop {
                let numbered = s.pool().run(db::events::sequence).await;
                match numbered {
                    // A full round: more may be waiting.
                    Ok(n) if n >= db::events::SEQUENCE_BATCH => continue,
                    Ok(n) => {
                        if n > 0 {
                            signals.positioned.notify_one();
                        }
                    }
                    Err(e) => {
                        tracing::warn!("the event sequencer failed a round: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                let _ = tokio::time::timeout(SEQUENCE_POLL, signals.committed.notified()).await;
                // Commits that come meanwhile wait for the next round: under
                // load, a round numbers many at once instead of each its own.
                tokio::time::sleep(SEQUENCE_GAP).await;
            }
        });
    }
    let s = service.clone();
    tokio::spawn(async move {
        loop {
            let cutoff = crate::engine::now() - chrono::Duration::days(i64::from(s.feed_config().event_retention_days));
            loop {
                match s.pool().write(move |conn| db::events::prune(conn, cutoff, PRUNE_BATCH)).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(removed = n, "pruned events older than the retention period");
                        // Let writes in between batches.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("event retention failed: {e}");
                        break;
                    }
                }
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    });
}

/// Who made a change: the user, and the API key they signed in with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActorView {
    pub user_id: Option<crate::domain::UserId>,
    pub api_key_id: Option<crate::domain::ApiKeyId>,
}

/// An event as the feed and webhooks present it (`null` subjects left out).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    pub account_id: crate::domain::AccountId,
    /// `null` for the system's own changes (sign-in lockouts, webhook disabling, the command line).
    pub actor: Option<ActorView>,
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<crate::domain::GroupId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<crate::domain::UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_group_id: Option<crate::domain::GroupId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<crate::domain::ApiKeyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<crate::domain::WebhookId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// Where this event is in the feed: `after` this resumes behind it.
    pub cursor: String,
}

impl From<&db::events::Event> for EventView {
    fn from(e: &db::events::Event) -> Self {
        let actor = match (e.actor_user_id, e.actor_key_id) {
            (None, None) => None,
            (user_id, api_key_id) => Some(ActorView { user_id, api_key_id }),
        };
        Self {
            id: e.id.clone(),
            kind: e.kind.clone(),
            occurred_at: e.occurred_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            account_id: e.account_id,
            actor,
            request_id: e.request_id.clone(),
            group_id: e.group_id,
            user_id: e.user_id,
            child_group_id: e.child_group_id,
            api_key_id: e.api_key_id,
            webhook_id: e.webhook_id,
            fields: e.field_names(),
            cursor: cursor(e.position()),
        }
    }
}

/// A feed position as the opaque cursor clients pass back.
pub fn cursor(pos: i64) -> String {
    pos.to_string()
}

/// The position a cursor names: digits only, as [`cursor`] writes them.
pub fn parse_cursor(raw: &str) -> Option<i64> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}
