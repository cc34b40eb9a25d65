//! Group commit for SQLite: concurrent write use cases share one durable
//! commit instead of paying one fsync each.
//!
//! One writer thread owns a connection. It takes every job that is waiting
//! (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE` transaction, runs each
//! job inside its own savepoint — a job that fails rolls back only its own
//! savepoint, so a rejected bulk still writes nothing — and commits once.
//! Only then does any job's caller get its answer: an acknowledged change is
//! as durable as with one commit per request. If the commit fails, every job
//! of the batch fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::Conn;
use crate::error::Error;

/// Most jobs one commit carries.
pub const MAX_BATCH: usize = 256;

/// What a job hands back once its batch's commit is known: the commit's
/// failure, if any, decides the final answer.
type Completion = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&mut Conn) -> (bool, Completion) + Send>;

#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer thread on `conn`; it ends when every handle is gone.
    pub fn start(mut conn: Conn) -> GroupCommit {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rollcall-sqlite-writer".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, batch);
                }
            })
            .expect("the writer thread starts");
        GroupCommit { jobs }
    }

    /// Runs `f` in the next shared transaction and answers once it is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, Error>>();
        // The writer thread logs in the caller's span (its request id).
        let span = tracing::Span::current();
        let job: Job = Box::new(move |conn: &mut Conn| {
            let outcome = span.in_scope(|| f(conn));
            let ok = outcome.is_ok();
            let completion: Completion = Box::new(move |commit_failure: Option<&str>| {
                let result = match (outcome, commit_failure) {
                    (Ok(_), Some(cause)) => Err(Error::unavailable(format!("shared commit failed: {cause}"))),
                    (outcome, _) => outcome,
                };
                let _ = answer.send(result);
            });
            (ok, completion)
        });
        self.jobs.send(job).map_err(|_| Error::unavailable("the SQLite writer has stopped"))?;
        // A job is dropped unanswered only when its transaction or savepoint
        // could not be opened (logged by the writer): nothing was written.
        answered.await.map_err(|_| Error::unavailable("the SQLite writer could not run the write"))?
    }
}

fn sqlite(conn: &mut Conn) -> &mut diesel::SqliteConnection {
    match conn {
        Conn::Sqlite(c) => c,
        Conn::Postgres(_) => unreachable!("group commit is for SQLite"),
    }
}

fn run_batch(conn: &mut Conn, batch: Vec<Job>) {
    crate::observe::group_commit_batch(batch.len());
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE") {
        // Dropping the jobs answers their callers with 503; nothing ran.
        tracing::error!("group commit could not begin a transaction for {} jobs: {e}", batch.len());
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        // Each job in its own savepoint.
        if let Err(e) = AnsiTransactionManager::begin_transaction(sqlite(conn)) {
            tracing::error!("group commit could not open a savepoint: {e}");
            drop(job);
            continue;
        }
        let (ok, completion) = match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(done) => done,
            Err(_) => {
                // Its answer channel went down with it: the caller gets a 503.
                tracing::error!("a write job panicked; its savepoint is rolled back");
                (false, Box::new(|_: Option<&str>| {}) as Completion)
            }
        };
        let closed = if ok {
            AnsiTransactionManager::commit_transaction(sqlite(conn))
        } else {
            AnsiTransactionManager::rollback_transaction(sqlite(conn))
        };
        if let Err(e) = closed {
            tracing::error!("group commit could not close a savepoint: {e}");
        }
        completions.push(completion);
    }
    let committed = AnsiTransactionManager::commit_transaction(sqlite(conn)).map_err(|e| e.to_string());
    if let Err(cause) = &committed {
        tracing::error!("group commit failed for {} jobs: {cause}", completions.len());
        let _ = AnsiTransactionManager::rollback_transaction(sqlite(conn));
    }
    let failure = committed.err();
    for completion in completions {
        completion(failure.as_deref());
    }
}
