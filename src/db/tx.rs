//! The two transaction modes, as types. A [`Read`] gives queries; a
//! [`Write`] also gives the mutations, which take `&mut Write` and record
//! each change they make. Only the service opens a `Write` (inside a write
//! transaction, through group commit where there is one), so a use case that
//! writes cannot compile on the read path.

use std::ops::{Deref, DerefMut};

use super::Conn;
use crate::domain::{Change, Principal};

/// A connection used for queries.
pub struct Read<'c> {
    conn: &'c mut Conn,
}

impl<'c> Read<'c> {
    pub fn new(conn: &'c mut Conn) -> Self {
        Self { conn }
    }
}

impl Deref for Read<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl DerefMut for Read<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
    }
}

/// Who a write is made for: the principal (none: the system itself) and
/// the request that asked for it, as the change feed records them.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    pub actor: Option<Principal>,
    pub request_id: Option<String>,
}

/// A connection inside a write transaction, and the changes made so far.
pub struct Write<'c> {
    read: Read<'c>,
    changes: Vec<Change>,
    context: WriteContext,
}

impl<'c> Write<'c> {
    /// Only for a connection already inside a write transaction.
    pub(crate) fn within_transaction(conn: &'c mut Conn, context: WriteContext) -> Self {
        Self { read: Read::new(conn), changes: Vec::new(), context }
    }

    pub fn context(&self) -> &WriteContext {
        &self.context
    }

    /// Records a change; consecutive updates of one user or group become one.
    pub fn record(&mut self, change: Change) {
        use Change::{GroupUpdated, UserUpdated};
        match (self.changes.last_mut(), change) {
            (Some(UserUpdated { user: last, fields: had, .. }), UserUpdated { user, fields, .. }) if *last == user => {
                had.extend(fields.into_iter().filter(|f| !had.contains(f)).collect::<Vec<_>>());
            }
            (Some(GroupUpdated { group: last, fields: had, .. }), GroupUpdated { group, fields, .. }) if *last == group => {
                had.extend(fields.into_iter().filter(|f| !had.contains(f)).collect::<Vec<_>>());
            }
            (_, change) => self.changes.push(change),
        }
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
}

impl<'c> Deref for Write<'c> {
    type Target = Read<'c>;
    fn deref(&self) -> &Read<'c> {
        &self.read
    }
}

impl<'c> DerefMut for Write<'c> {
    fn deref_mut(&mut self) -> &mut Read<'c> {
        &mut self.read
    }
}
