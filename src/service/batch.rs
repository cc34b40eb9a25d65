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

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::Observers;
use crate::db::{memberships, Pool, Read, WriteContext};
use crate::domain::Change;
use crate::engine::members::{self, OneAdd};
use crate::engine::now;
use crate::error::Error;

/// Most adds one transaction carries.
pub const MAX_BATCH: usize = 256;
/// Batches under way at once: on SQLite the writer runs one at a time (the
/// others queue in its group commit); on PostgreSQL they run side by side.
const IN_FLIGHT: usize = 4;

struct Pending {
    add: OneAdd,
    context: WriteContext,
    answer: oneshot::Sender<Result<(), Error>>,
}

/// The queue of single adds; cheap to clone.
#[derive(Clone)]
pub struct Adds {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Adds {
    /// Starts the thread that runs the batches (a runtime of its own, so it
    /// outlives no server and no server's worker outlives it); it ends once
    /// every handle is gone.
    pub fn start(pool: Pool, observers: Arc<Observers>) -> std::io::Result<Adds> {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Pending>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("rollcall-adds".into()).spawn(move || {
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
                    let (pool, observers) = (pool.clone(), observers.clone());
                    tokio::spawn(async move {
                        run(&pool, &observers, batch).await;
                        drop(slot);
                    });
                }
            })
        })?;
        Ok(Adds { queue })
    }

    /// Queues one add and waits for its answer; `None` when the batches are
    /// not running (the caller then runs the add alone: adding is
    /// idempotent, so even an add whose batch was cut off mid-way may be
    /// run again).
    pub async fn add(&self, add: OneAdd, context: WriteContext) -> Option<Result<(), Error>> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Pending { add, context, answer }).ok()?;
        answered.await.ok()
    }
}

async fn run(pool: &Pool, observers: &Arc<Observers>, batch: Vec<Pending>) {
    crate::observe::add_batch(batch.len());
    let adds: Arc<Vec<OneAdd>> = Arc::new(batch.iter().map(|p| p.add.clone()).collect());
    let contexts: Arc<Vec<WriteContext>> = Arc::new(batch.iter().map(|p| p.context.clone()).collect());
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
            for (pending, verdict) in batch.into_iter().zip(verdicts) {
                let _ = pending.answer.send(verdict.map(drop));
            }
        }
        Err(e) => {
            for pending in batch {
                let _ = pending.answer.send(Err(e.again()));
            }
        }
    }
}
