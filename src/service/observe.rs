//! The one change hook: whatever must learn of changes (metrics now; the
//! change feed and webhooks later) implements [`Observe`] and is registered
//! once, in [`Observers`].

use std::sync::Arc;

use crate::db::{Conn, Write, WriteContext};
use crate::domain::Change;
use crate::error::Error;

/// Something that learns of every change the service makes.
pub trait Observe: Send + Sync {
    /// Inside the write transaction, after the use case and before the
    /// commit: `w.changes()` is everything it changed. Writes made here
    /// commit (or roll back) with the change; an error rolls it back.
    fn in_transaction(&self, _w: &mut Write) -> Result<(), Error> {
        Ok(())
    }

    /// [`Observe::in_transaction`] for several writes sharing one
    /// transaction (a batch of single adds), each with its own context.
    fn in_transaction_all(&self, conn: &mut Conn, writes: &[(&WriteContext, &[Change])]) -> Result<(), Error> {
        for (context, changes) in writes {
            let mut w = Write::within_transaction(conn, (*context).clone());
            for change in *changes {
                w.record(change.clone());
            }
            self.in_transaction(&mut w)?;
        }
        Ok(())
    }

    /// Once the transaction's commit is durable.
    fn committed(&self, _changes: &[Change]) {}
}

/// The registered observers, called in registration order.
#[derive(Default, Clone)]
pub struct Observers(Vec<Arc<dyn Observe>>);

impl Observers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, observer: impl Observe + 'static) -> Self {
        self.0.push(Arc::new(observer));
        self
    }

    pub(crate) fn in_transaction(&self, w: &mut Write) -> Result<(), Error> {
        self.0.iter().try_for_each(|o| o.in_transaction(w))
    }

    pub(crate) fn in_transaction_all(&self, conn: &mut Conn, writes: &[(&WriteContext, &[Change])]) -> Result<(), Error> {
        self.0.iter().try_for_each(|o| o.in_transaction_all(conn, writes))
    }

    pub(crate) fn committed(&self, changes: &[Change]) {
        for o in &self.0 {
            o.committed(changes);
        }
    }
}
