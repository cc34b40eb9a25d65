//! Single adds, coalesced: the core job at its busiest is many callers each
//! putting one user into one group at the same moment.
//!
//! Each single add waits in a queue; one task takes every add waiting (up
//! to [`MAX_BATCH`]) and runs them as one write transaction: the checks of
//! the whole batch in a handful of queries ([`members::add_each`]), the new
//! memberships in one insert, their events in one more. Each add is checked
//! and answered exactly as it would be alone (its own errors; its own actor
//! and request id on its event), and only once the shared commit is durable.
//! One add's refusal does not touch the others: checks write nothing, and
//! only the adds that passed are written.
//!
//! A few batches run at once ([`IN_FLIGHT`]); while they run, the next one
//! fills up. Alone, an add is a batch of one and waits for nothing.
//!
//! The token checks of every authenticated request are coalesced the same
//! way ([`Checks`]): concurrent requests share one read of three queries
//! instead of a pooled connection and a query each.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::Observers;
use crate::db::{memberships, Pool, Read, WriteContext};
use crate::domain::{Change, Principal};
use crate::engine::members::{self, OneAdd};
use crate::engine::{now, sign_in};
use crate::error::Error;
use crate::tokens::Credential;

/// Most jobs one batch carries.
pub const MAX_BATCH: usize = 256;
/// Batches of one queue under way at once: on SQLite the writer runs one at
/// a time (the others queue in its group commit); on PostgreSQL they run
/// side by side. Two, not four: at c=64 on PostgreSQL, fewer and larger
/// batches spend less of the database's time on transactions (single adds
/// 2,847 → 3,411 a second in one comparison, bench/RESULTS.md).
const IN_FLIGHT: usize = 2;

type Waiting<J, R> = (J, oneshot::Sender<R>);

/// A queue of jobs that a thread of its own takes in batches: every job
/// waiting (up to [`MAX_BATCH`]) goes to one call of the batch's work, which
/// gives an answer a job, in order. Cheap to clone.
pub struct Batches<J, R> {
    queue: mpsc::UnboundedSender<Waiting<J, R>>,
}

impl<J, R> Clone for Batches<J, R> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<J: Send + 'static, R: Send + 'static> Batches<J, R> {
    /// Starts the thread (a runtime of its own, so it outlives no server and
    /// no server's worker outlives it); it ends once every handle is gone.
    pub fn start<F, Fut>(name: &str, work: F) -> std::io::Result<Self>
    where
        F: Fn(Vec<J>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Waiting<J, R>>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name(format!("rollcall-{name}")).spawn(move || {
            runtime.block_on(async move {
                let slots = Arc::new(Semaphore::new(IN_FLIGHT));
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else { break };
                    let Some(first) = waiting.recv().await else { break };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match waiting.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let (jobs, answers): (Vec<J>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
                    let done = work(jobs);
                    tokio::spawn(async move {
                        // Fewer answers than jobs: the rest get none.
                        for (answer, result) in answers.into_iter().zip(done.await) {
                            let _ = answer.send(result);
                        }
                        drop(slot);
                    });
                }
            })
        })?;
        Ok(Self { queue })
    }

    /// Queues one job and waits for its answer; `None` when the batches are
    /// not running or the job got no answer.
    pub async fn submit(&self, job: J) -> Option<R> {
        let (answer, answered) = oneshot::channel();
        self.queue.send((job, answer)).ok()?;
        answered.await.ok()
    }
}

/// The queue in `cell`, started by `start` at the first call; `None` (and
/// `without` logged once) when its thread cannot start: the callers then do
/// the work alone.
pub fn started<'a, T>(
    cell: &'a std::sync::OnceLock<Option<T>>,
    without: &str,
    start: impl FnOnce() -> std::io::Result<T>,
) -> Option<&'a T> {
    cell.get_or_init(|| start().map_err(|e| tracing::warn!("{without}: {e}")).ok()).as_ref()
}

/// The queue of single adds.
#[derive(Clone)]
pub struct Adds(Batches<(OneAdd, WriteContext), Result<(), Error>>);

impl Adds {
    pub fn start(pool: Pool, observers: Arc<Observers>) -> std::io::Result<Adds> {
        let work = move |batch| {
            let (pool, observers) = (pool.clone(), observers.clone());
            async move { run(&pool, &observers, batch).await }
        };
        Batches::start("adds", work).map(Adds)
    }

    /// Queues one add and waits for its answer; `None` when the batches are
    /// not running (the caller then runs the add alone: adding is
    /// idempotent, so even an add whose batch was cut off mid-way may be
    /// run again).
    pub async fn add(&self, add: OneAdd, context: WriteContext) -> Option<Result<(), Error>> {
        self.0.submit((add, context)).await
    }
}

/// The queue of token checks: the tokens of concurrent requests are checked
/// against the database in one read of three queries
/// ([`sign_in::check_credentials`]), not one read each.
#[derive(Clone)]
pub struct Checks(Batches<Credential, Result<Principal, Error>>);

impl Checks {
    pub fn start(pool: Pool) -> std::io::Result<Checks> {
        let work = move |credentials: Vec<Credential>| {
            let pool = pool.clone();
            async move {
                let n = credentials.len();
                crate::observe::check_batch(n);
                let verdicts = pool.run(move |conn| sign_in::check_credentials(&mut Read::new(conn), &credentials, now())).await;
                verdicts.unwrap_or_else(|e| (0..n).map(|_| Err(e.again())).collect())
            }
        };
        Batches::start("checks", work).map(Checks)
    }

    /// Checks one credential; `None` when the checks are not running (the
    /// caller then checks it alone).
    pub async fn check(&self, credential: Credential) -> Option<Result<Principal, Error>> {
        self.0.submit(credential).await
    }
}

/// One batch of adds in one write transaction: an answer each, in order.
async fn run(pool: &Pool, observers: &Arc<Observers>, batch: Vec<(OneAdd, WriteContext)>) -> Vec<Result<(), Error>> {
    let n = batch.len();
    crate::observe::add_batch(n);
    let (adds, contexts): (Vec<OneAdd>, Vec<WriteContext>) = batch.into_iter().unzip();
    let (adds, contexts) = (Arc::new(adds), Arc::new(contexts));
    let observers_ = observers.clone();
    let outcome = pool
        .write(move |conn| {
            // Run again whole on a transient conflict (PostgreSQL).
            conn.write(|conn| {
                let verdicts = members::add_each(&mut Read::new(conn), &adds)?;
                let pairs: Vec<_> = verdicts.iter().filter_map(|v| v.as_ref().ok()).map(|(_, g, u)| (*g, *u)).collect();
                let mut new = memberships::add_pairs(conn, &pairs, now())?;
                // The first add of a new pair made it; a repeat in the same
                // batch is an idempotent no-op, as it would be alone.
                let changes: Vec<Vec<Change>> = verdicts
                    .iter()
                    .map(|v| match v {
                        Ok((account, group, user)) if new.remove(&(*group, *user)) => {
                            vec![Change::MembershipAdded { account: *account, group: *group, user: *user }]
                        }
                        _ => Vec::new(),
                    })
                    .collect();
                let writes: Vec<(&WriteContext, &[Change])> =
                    contexts.iter().zip(&changes).filter(|(_, c)| !c.is_empty()).map(|(context, c)| (context, c.as_slice())).collect();
                observers_.in_transaction_all(conn, &writes)?;
                Ok((verdicts, changes))
            })
        })
        .await;
    match outcome {
        Ok((verdicts, changes)) => {
            observers.committed(&changes.concat());
            verdicts.into_iter().map(|verdict| verdict.map(drop)).collect()
        }
        Err(e) => (0..n).map(|_| Err(e.again())).collect(),
    }
}
