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
//! A few batches run at once ([`IN_FLIGHT`]); a batch takes its adds only
//! once its connection is in hand (on SQLite, once the writer runs it), so
//! it carries every add that arrived while the one before it ran. Alone, an
//! add is a batch of one and waits for nothing.
//!
//! Creations of users and groups are coalesced the same way ([`Creations`]):
//! one permission check a caller, one query for the names taken and one
//! insert a kind for the batch, each creation answered as it would be alone.
//!
//! The token of a single add or a creation is checked in its batch's
//! transaction (one read of three queries for the batch,
//! [`sign_in::check_credentials`]), not before it. The token checks of every other authenticated request are coalesced
//! the same way ([`Checks`]): concurrent requests share one read instead of
//! a pooled connection and a query each.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify, Semaphore};

use super::Observers;
use crate::db::users::User;
use crate::db::{memberships, Pool, Read, WriteContext};
use crate::domain::{Change, Principal};
use crate::engine::groups::{self, GroupDraft, GroupView};
use crate::engine::members::{self, OneAdd};
use crate::engine::users::{self, UserDraft};
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

/// What the queue's thread and the submitters share.
struct Shared<J, R> {
    waiting: Mutex<Vec<Waiting<J, R>>>,
    /// Batches started that have not yet taken their jobs.
    untaken: AtomicUsize,
    /// Raised when a job arrives or a batch takes its jobs.
    changed: Notify,
}

/// A queue of jobs that a thread of its own runs in batches. A batch takes
/// its jobs only once it is ready to run them ([`Take::jobs`], called where
/// the database connection is in hand): every job that arrived until then
/// (up to [`MAX_BATCH`]) goes into it. A batch formed when it was started
/// would hold only what had come in by then, while it waited its turn (on
/// SQLite, behind the batch before it in the writer: one commit carried
/// that batch and nothing else, 21 adds on average at c=64). Cheap to clone.
pub struct Batches<J, R> {
    shared: Arc<Shared<J, R>>,
}

impl<J, R> Clone for Batches<J, R> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

/// A started batch's hold on the queue: its jobs, taken once, and where
/// their answers go.
pub struct Take<J, R> {
    shared: Arc<Shared<J, R>>,
    answers: Mutex<Option<Vec<oneshot::Sender<R>>>>,
}

impl<J, R> Take<J, R> {
    /// Takes every job waiting now (up to [`MAX_BATCH`]); only the first call
    /// takes any.
    pub fn jobs(&self) -> Vec<J> {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.is_some() {
            return Vec::new();
        }
        let taken: Vec<Waiting<J, R>> = {
            let mut waiting = self.shared.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let n = waiting.len().min(MAX_BATCH);
            waiting.drain(..n).collect()
        };
        self.shared.untaken.fetch_sub(1, Ordering::SeqCst);
        self.shared.changed.notify_one();
        let (jobs, senders): (Vec<J>, Vec<oneshot::Sender<R>>) = taken.into_iter().unzip();
        *answers = Some(senders);
        jobs
    }

    /// How many jobs the batch answers: those it took, or, when its work
    /// failed before it took any, those it takes now (to answer them with
    /// that failure rather than leave them to a next batch that would fail
    /// the same way).
    pub fn settle(&self) -> usize {
        drop(self.jobs());
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, Vec::len)
    }

    /// Answers the jobs taken, in order (fewer answers than jobs: the rest
    /// get none).
    fn answer(&self, results: Vec<R>) {
        if let Some(answers) = self.answers.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            for (answer, result) in answers.drain(..).zip(results) {
                let _ = answer.send(result);
            }
        }
    }
}

impl<J, R> Drop for Take<J, R> {
    fn drop(&mut self) {
        // Never taken (its work ended before it could): the jobs stay
        // queued, and the next batch is free to start.
        if self.answers.get_mut().unwrap_or_else(|e| e.into_inner()).is_none() {
            self.shared.untaken.fetch_sub(1, Ordering::SeqCst);
            self.shared.changed.notify_one();
        }
    }
}

impl<J: Send + 'static, R: Send + 'static> Batches<J, R> {
    /// Starts the thread (a runtime of its own, so it outlives no server and
    /// no server's worker outlives it); it ends once every handle is gone.
    /// `work` gets a batch's [`Take`], takes its jobs with [`Take::jobs`] and
    /// gives an answer a job taken, in order.
    pub fn start<F, Fut>(name: &str, work: F) -> std::io::Result<Self>
    where
        F: Fn(Arc<Take<J, R>>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let shared = Arc::new(Shared { waiting: Mutex::new(Vec::new()), untaken: AtomicUsize::new(0), changed: Notify::new() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let queue = Arc::downgrade(&shared);
        std::thread::Builder::new().name(format!("rollcall-{name}")).spawn(move || {
            runtime.block_on(async move {
                let slots = Arc::new(Semaphore::new(IN_FLIGHT));
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else { break };
                    // A batch starts once a job waits and no started batch
                    // is still to take its jobs.
                    let shared = loop {
                        let Some(shared) = queue.upgrade() else { return };
                        let ready = shared.untaken.load(Ordering::SeqCst) == 0
                            && !shared.waiting.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
                        if ready {
                            break shared;
                        }
                        // Rechecked at least every second: the last handle
                        // may go while nothing changes.
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), shared.changed.notified()).await;
                    };
                    shared.untaken.fetch_add(1, Ordering::SeqCst);
                    let take = Arc::new(Take { shared, answers: Mutex::new(None) });
                    let done = work(take.clone());
                    tokio::spawn(async move {
                        take.answer(done.await);
                        drop(slot);
                    });
                }
            })
        })?;
        Ok(Self { shared })
    }

    /// Queues one job and waits for its answer; `None` when the batches are
    /// not running or the job got no answer.
    pub async fn submit(&self, job: J) -> Option<R> {
        let (answer, answered) = oneshot::channel();
        self.shared.waiting.lock().unwrap_or_else(|e| e.into_inner()).push((job, answer));
        self.shared.changed.notify_one();
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

/// One single add waiting for its batch: the add, who and what request it
/// is recorded as, and the caller's token when the batch is to check it.
type AddJob = (OneAdd, Option<Credential>, WriteContext);

/// The queue of single adds.
#[derive(Clone)]
pub struct Adds(Batches<AddJob, Result<(), Error>>);

impl Adds {
    pub fn start(pool: Pool, observers: Arc<Observers>) -> std::io::Result<Adds> {
        let work = move |take| {
            let (pool, observers) = (pool.clone(), observers.clone());
            async move { run(&pool, &observers, take).await }
        };
        Batches::start("adds", work).map(Adds)
    }

    /// Queues one add and waits for its answer; `None` when the batches are
    /// not running (the caller then runs the add alone: adding is
    /// idempotent, so even an add whose batch was cut off mid-way may be
    /// run again). With `unchecked`, the batch checks that token first, in
    /// its transaction, and a token that no longer holds is the answer.
    pub async fn add(&self, add: OneAdd, unchecked: Option<Credential>, context: WriteContext) -> Option<Result<(), Error>> {
        self.0.submit((add, unchecked, context)).await
    }
}

/// The queue of token checks: the tokens of concurrent requests are checked
/// against the database in one read of three queries
/// ([`sign_in::check_credentials`]), not one read each.
#[derive(Clone)]
pub struct Checks(Batches<Credential, Result<Principal, Error>>);

impl Checks {
    pub fn start(pool: Pool) -> std::io::Result<Checks> {
        let work = move |take: Arc<Take<Credential, Result<Principal, Error>>>| {
            let pool = pool.clone();
            async move {
                let taken = take.clone();
                let verdicts = pool
                    .run(move |conn| {
                        let credentials = taken.jobs();
                        crate::observe::check_batch(credentials.len());
                        sign_in::check_credentials(&mut Read::new(conn), &credentials, now())
                    })
                    .await;
                verdicts.unwrap_or_else(|e| (0..take.settle()).map(|_| Err(e.again())).collect())
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

/// The tokens of a batch checked (one read for all): for each job, the
/// refusal of its token if it carries one that no longer holds.
fn refusals(tx: &mut Read, unchecked: &[Option<Credential>]) -> Result<Vec<Option<Error>>, Error> {
    let credentials: Vec<Credential> = unchecked.iter().flatten().copied().collect();
    if credentials.is_empty() {
        return Ok(unchecked.iter().map(|_| None).collect());
    }
    let mut verdicts = sign_in::check_credentials(tx, &credentials, now())?.into_iter();
    Ok(unchecked.iter().map(|c| c.and_then(|_| verdicts.next().and_then(Result::err))).collect())
}

/// The tokens of a batch checked ([`refusals`]), then its adds
/// ([`members::add_each`]): a verdict an add, in order; an add whose token
/// no longer holds gets that refusal and is not looked at further.
fn check_then_add(tx: &mut Read, adds: &[OneAdd], unchecked: &[Option<Credential>]) -> Result<Vec<members::AddVerdict>, Error> {
    let refused = refusals(tx, unchecked)?;
    if refused.iter().all(Option::is_none) {
        // The usual batch: every token holds, no add to leave out.
        return members::add_each(tx, adds);
    }
    let allowed: Vec<OneAdd> = adds.iter().zip(&refused).filter(|(_, r)| r.is_none()).map(|(a, _)| a.clone()).collect();
    let mut verdicts = members::add_each(tx, &allowed)?.into_iter();
    Ok(refused
        .into_iter()
        .map(|r| r.map_or_else(|| verdicts.next().unwrap_or_else(|| Err(Error::internal("an add got no verdict"))), Err))
        .collect())
}

/// One batch of adds in one write transaction, its adds taken once the
/// connection is in hand: an answer each, in order.
async fn run(pool: &Pool, observers: &Arc<Observers>, take: Arc<Take<AddJob, Result<(), Error>>>) -> Vec<Result<(), Error>> {
    let observers_ = observers.clone();
    let taken = take.clone();
    let outcome = pool
        .write(move |conn| {
            let batch = taken.jobs();
            crate::observe::add_batch(batch.len());
            let mut adds = Vec::with_capacity(batch.len());
            let mut unchecked = Vec::with_capacity(batch.len());
            let mut contexts = Vec::with_capacity(batch.len());
            for (add, credential, context) in batch {
                adds.push(add);
                unchecked.push(credential);
                contexts.push(context);
            }
            // Run again whole on a transient conflict (PostgreSQL).
            conn.write(|conn| {
                let verdicts = check_then_add(&mut Read::new(conn), &adds, &unchecked)?;
                let pairs: Vec<_> = verdicts.iter().filter_map(|v| v.as_ref().ok()).map(|(_, g, u)| (*g, *u)).collect();
                let mut new = memberships::add_pairs(conn, pairs, now())?;
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
        Err(e) => (0..take.settle()).map(|_| Err(e.again())).collect(),
    }
}

/// One creation waiting for its batch.
pub enum Creation {
    User(users::Creation<UserDraft>),
    Group(users::Creation<GroupDraft>),
}

/// What a creation answers.
pub enum Created {
    User(User),
    Group(GroupView),
}

/// One creation waiting for its batch, with the caller's token when the
/// batch is to check it (as a single add's).
type CreationJob = (Creation, Option<Credential>);

/// The queue of creations of users and groups: each batch is one write
/// transaction with one read for the tokens to check, one permission check
/// a caller, one query for the names taken and one insert a kind
/// ([`users::create_each`], [`groups::create_each`]), answered once the
/// shared commit is durable.
#[derive(Clone)]
pub struct Creations(Batches<CreationJob, Result<Created, Error>>);

impl Creations {
    pub fn start(pool: Pool, observers: Arc<Observers>) -> std::io::Result<Creations> {
        let work = move |take: Arc<Take<CreationJob, Result<Created, Error>>>| {
            let (pool, observers) = (pool.clone(), observers.clone());
            async move { create(&pool, &observers, take).await }
        };
        Batches::start("creations", work).map(Creations)
    }

    /// Queues one creation and waits for its answer; `None` when the
    /// batches are not running or the creation got no answer. With
    /// `unchecked`, the batch checks that token first, in its transaction,
    /// and a token that no longer holds is the answer.
    pub async fn create(&self, creation: Creation, unchecked: Option<Credential>) -> Option<Result<Created, Error>> {
        self.0.submit((creation, unchecked)).await
    }
}

/// One batch of creations in one write transaction: an answer each, in order.
async fn create(
    pool: &Pool,
    observers: &Arc<Observers>,
    take: Arc<Take<CreationJob, Result<Created, Error>>>,
) -> Vec<Result<Created, Error>> {
    let observers_ = observers.clone();
    let taken = take.clone();
    let outcome = pool
        .write(move |conn| {
            let (jobs, unchecked): (Vec<Creation>, Vec<Option<Credential>>) = taken.jobs().into_iter().unzip();
            crate::observe::creation_batch(jobs.len());
            // Run again whole on a transient conflict (PostgreSQL).
            conn.write(|conn| {
                let refused = refusals(&mut Read::new(conn), &unchecked)?;
                let allowed = || jobs.iter().zip(&refused).filter(|(_, r)| r.is_none()).map(|(j, _)| j);
                let new_users: Vec<_> = allowed().filter_map(|j| if let Creation::User(u) = j { Some(u) } else { None }).collect();
                let new_groups: Vec<_> = allowed().filter_map(|j| if let Creation::Group(g) = j { Some(g) } else { None }).collect();
                let mut made_users = users::create_each(conn, &new_users)?.into_iter();
                let mut made_groups = groups::create_each(conn, &new_groups)?.into_iter();
                // The answers in the order the creations came, each with
                // the context its changes are recorded under.
                let mut answers = Vec::with_capacity(jobs.len());
                let mut contexts = Vec::with_capacity(jobs.len());
                for (job, refusal) in jobs.iter().zip(refused) {
                    let made = match (refusal, job) {
                        (Some(refusal), _) => Some(Err(refusal)),
                        (None, Creation::User(_)) => made_users.next().map(|m| m.map(|(u, c)| (Created::User(u), c))),
                        (None, Creation::Group(_)) => made_groups.next().map(|m| m.map(|(g, c)| (Created::Group(g), c))),
                    };
                    answers.push(made.unwrap_or_else(|| Err(Error::internal("a creation got no verdict"))));
                    contexts.push(match job {
                        Creation::User((_, _, context)) | Creation::Group((_, _, context)) => context,
                    });
                }
                let writes: Vec<(&WriteContext, &[Change])> = contexts
                    .iter()
                    .zip(&answers)
                    .filter_map(|(context, made)| Some((*context, made.as_ref().ok()?.1.as_slice())))
                    .collect();
                observers_.in_transaction_all(conn, &writes)?;
                Ok(answers)
            })
        })
        .await;
    match outcome {
        Ok(answers) => {
            let changes: Vec<Change> = answers.iter().filter_map(|a| a.as_ref().ok()).flat_map(|(_, c)| c.iter().cloned()).collect();
            observers.committed(&changes);
            answers.into_iter().map(|a| a.map(|(made, _)| made)).collect()
        }
        Err(e) => (0..take.settle()).map(|_| Err(e.again())).collect(),
    }
}
