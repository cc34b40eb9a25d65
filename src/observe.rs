//! What the core tells operators: metrics through the `metrics` facade (the
//! server exports them at `/metrics`), and the change observer that counts
//! changes. Logs go through `tracing`.

use crate::domain::Change;
use crate::service::Observe;

/// Jobs one SQLite group commit carried.
pub fn group_commit_batch(jobs: usize) {
    metrics::histogram!("rollcall_group_commit_batch_size").record(jobs as f64);
}

/// How many single adds one coalesced transaction carried.
pub fn add_batch(adds: usize) {
    metrics::histogram!("rollcall_single_add_batch_size").record(adds as f64);
}

/// How many creations of users and groups one transaction carried.
pub fn creation_batch(creations: usize) {
    metrics::histogram!("rollcall_creation_batch_size").record(creations as f64);
}

/// How many token checks one read carried.
pub fn check_batch(checks: usize) {
    metrics::histogram!("rollcall_token_check_batch_size").record(checks as f64);
}

/// A write transaction rerun after a transient conflict.
pub fn write_retried() {
    metrics::counter!("rollcall_write_retries_total").increment(1);
}

/// The connection pool at scrape time.
pub fn pool_state(max: u32, open: u32, idle: u32) {
    metrics::gauge!("rollcall_db_pool_max_connections").set(max);
    metrics::gauge!("rollcall_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("rollcall_db_pool_connections", "state" => "in_use").set(open.saturating_sub(idle));
}

/// What SQLite's connections of this process hold together (page caches,
/// prepared statements, schemas), and the limit they keep to.
pub fn sqlite_heap(used: i64, limit: i64) {
    metrics::gauge!("rollcall_sqlite_heap_bytes").set(used as f64);
    metrics::gauge!("rollcall_sqlite_heap_limit_bytes").set(limit as f64);
}

/// Counts committed changes by kind; memberships also on their own.
pub struct ChangeCounter;

impl Observe for ChangeCounter {
    fn committed(&self, changes: &[Change]) {
        for change in changes {
            metrics::counter!("rollcall_changes_total", "kind" => change.kind()).increment(1);
            match change {
                Change::MembershipAdded { .. } => metrics::counter!("rollcall_membership_changes_total", "kind" => "added").increment(1),
                Change::MembershipRemoved { .. } => {
                    metrics::counter!("rollcall_membership_changes_total", "kind" => "removed").increment(1)
                }
                _ => {}
            }
        }
    }
}

tokio::task_local! {
    /// The id of the request being served (set around each request by the
    /// HTTP layer), which the change feed records with each change.
    pub static REQUEST_ID: String;
}

/// The current request's id, if a request is being served on this task.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
