//! Where the pages of a large group's direct members begin, in the default
//! order of the management member listing (email), so that an offset page
//! anywhere in the group costs the same: start at a kept member near it
//! (forward or backward, under [`STRIDE`] more to skip) instead of walking every member
//! before it (50,000 for the middle page of 100,000) and every user of the
//! account who is not a member but sorts before the page (the first page
//! of a group that holds most of the account, when the others' emails sort
//! first).
//!
//! The copy is current while the group's member version
//! ([`super::memberships::Counted`], read with the total each listing
//! reads anyway) is the one it was loaded at: triggers change it in the
//! transaction of every change of the group's members and of every change
//! of a member's email (migration 000011), so such a change made on any
//! instance shows at the next listing (see [`super::copies`]). Email keys
//! are unique in an account (deleted users keep theirs), so a member's
//! key alone tells where a page begins.

use std::sync::{Arc, LazyLock};

use super::copies::{Copies, Versioned};
use super::memberships::Counted;
use super::users::{self, UserFilter};
use super::Conn;
use crate::domain::{AccountId, GroupId};
use crate::error::Error;

/// A member's place in the order: their email key.
pub type MemberKey = Box<str>;

/// Every how many members one is kept.
pub const STRIDE: i64 = 64;

/// Bytes of copies kept over every group: 16 bytes and the email's length
/// a kept member, so about 64 KB for a group of 100,000 with emails of 25
/// characters, and 640 KB for one of a million.
pub const MAX_BYTES: usize = 16 << 20;

/// The email keys of the group's members at positions 0, `STRIDE`,
/// `2 × STRIDE`, … of the email order, at one member version.
pub struct Anchors {
    version: i64,
    keys: Vec<MemberKey>,
}

impl Versioned for Anchors {
    type Version = i64;
    fn version(&self) -> &i64 {
        &self.version
    }
    fn bytes(&self) -> usize {
        std::mem::size_of::<Anchors>()
            + self.keys.capacity() * std::mem::size_of::<MemberKey>()
            + self.keys.iter().map(|k| k.len()).sum::<usize>()
    }
}

impl Anchors {
    /// The anchors of `members`, every member's key in order.
    pub fn of(version: i64, members: Vec<String>) -> Anchors {
        let keys = members.into_iter().step_by(STRIDE as usize).map(String::into_boxed_str).collect();
        Anchors { version, keys }
    }

    /// Where the member at `position` of the email order is found reading
    /// forward: from which member's key on (none: the group has no
    /// members), and how many more to skip.
    pub fn start(&self, position: i64) -> (Option<&str>, i64) {
        let block = (position.max(0) / STRIDE).min(self.keys.len() as i64 - 1);
        match block {
            b if b < 0 => (None, position.max(0)),
            b => (Some(&self.keys[b as usize]), position.max(0) - b * STRIDE),
        }
    }

    /// Where the member just before `end` (of `total`) is found reading
    /// backward: from before which member's key (none: from the last
    /// member), and how many more to skip.
    pub fn end(&self, end: i64, total: i64) -> (Option<&str>, i64) {
        let block = (end.max(0) + STRIDE - 1) / STRIDE;
        match self.keys.get(block as usize) {
            Some(key) if block * STRIDE < total => (Some(key), block * STRIDE - end),
            _ => (None, (total - end).max(0)),
        }
    }
}

static COPIES: LazyLock<Copies<GroupId, Anchors>> = LazyLock::new(|| Copies::new(MAX_BYTES));

/// The group's anchors at `counted`'s version, loaded (one walk of every
/// member's email key) when none is current and no other caller is loading them.
/// `None`: read the page without them.
pub fn anchors(conn: &mut Conn, account: AccountId, group: GroupId, counted: Counted) -> Result<Option<Arc<Anchors>>, Error> {
    let load = |conn: &mut Conn| -> Result<Anchors, Error> {
        let filter = UserFilter {
            member_of: Some(vec![group]),
            members_in_order: users::walk_in_order_pays(conn, counted.total, counted.total)?,
            ..UserFilter::default()
        };
        Ok(Anchors::of(counted.version, users::email_keys_in_order(conn, account, &filter)?))
    };
    // Still at the version once loaded (versions never come back): no change
    // of the members committed in between.
    let still = |conn: &mut Conn| Ok(super::memberships::counted(conn, group)? == counted);
    COPIES.get_or_load(group, &counted.version, conn, load, still)
}

/// Whether a copy of the group's anchors is kept.
pub fn kept(group: GroupId) -> bool {
    COPIES.kept(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_found_after_the_anchor_before_it() {
        let members: Vec<String> = (0..1000).map(|i| format!("user{i:04}@example.com")).collect();
        let anchors = Anchors::of(7, members.clone());
        assert_eq!(anchors.keys.len(), 1000usize.div_ceil(STRIDE as usize));
        for position in [0, 1, STRIDE - 1, STRIDE, STRIDE + 3, 2 * STRIDE, 999] {
            let (from, skip) = anchors.start(position);
            let first = members.iter().position(|m| Some(m.as_str()) == from).unwrap() as i64;
            assert_eq!(first + skip, position, "position {position}");
            assert!((0..STRIDE).contains(&skip), "skips {skip} at {position}");
        }
        assert_eq!(Anchors::of(1, Vec::new()).start(0), (None, 0));
        for end in [1, 2, STRIDE - 1, STRIDE, STRIDE + 1, 3 * STRIDE, 999, 1000] {
            let (before, skip) = anchors.end(end, 1000);
            let after_last = match before {
                Some(key) => members.iter().position(|m| m == key).unwrap() as i64,
                None => 1000,
            };
            assert_eq!(after_last - skip, end, "end {end}");
            assert!((0..STRIDE).contains(&skip), "skips {skip} before {end}");
        }
    }
}
