//! Reading the change feed: `audit_read` (or administrator) in one's own
//! account; a cursor from before what retention removed is refused (the
//! consumer has missed events), never silently skipped.

use crate::db::events::{self, Event, FeedFilter};
use crate::db::Read;
use crate::domain::{Permission, Principal, CHANGE_KINDS};
use crate::error::{Error, ErrorKind};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A page of the feed and the cursor of the next one.
pub struct FeedPage {
    pub items: Vec<Event>,
    pub next: i64,
}

/// Checks an event type a client names (a filter, a webhook's list).
pub fn check_kind(kind: &str, field: &str) -> Result<String, Error> {
    if CHANGE_KINDS.contains(&kind) {
        Ok(kind.to_owned())
    } else {
        Err(Error::validation(format!("'{kind}' is not an event type; the types are: {}", CHANGE_KINDS.join(", ")))
            .detail("field", field.into()))
    }
}

pub fn page(r: &mut Read, p: &Principal, after: Option<i64>, limit: i64, filter: &FeedFilter) -> Result<FeedPage, Error> {
    super::access::require(r, p, Permission::AuditRead)?;
    let pruned = events::pruned_through(r, p.account)?;
    let after = match after {
        Some(after) if after < pruned => {
            return Err(Error::new(
                ErrorKind::CursorExpired,
                "Events after this cursor were removed by retention; start again without `after`",
            )
            .detail("pruned_through", crate::feed::cursor(pruned).into()))
        }
        Some(after) => after,
        None => pruned,
    };
    let (items, next) = events::page(r, p.account, after, limit, filter)?;
    Ok(FeedPage { items, next })
}
