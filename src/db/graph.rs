//! An account's hierarchy in memory: its nesting edges, what the nested
//! groups grant and their name keys (a listing in name order picks its page
//! from them), walked in microseconds instead of one index probe per group
//! reached (2,500 groups above a user cost 5–7 ms as a recursive query).
//!
//! A copy is current while the account's row of `hierarchy_versions` holds
//! the version it was loaded at: triggers give that row a new random version
//! in the transaction of every change to the account's edges or grants, so
//! one primary-key read tells whether the copy may be used, on every
//! instance at once. A version never comes back (a rolled-back change's
//! version is simply never committed), so a copy loaded inside a
//! transaction that later rolls back is never used again.
//!
//! Copies are bounded ([`MAX_BYTES`] in all, the least recently used
//! dropped first), and an account whose hierarchy changes faster than it
//! loads is not reloaded after every change: until its copy is current
//! again, callers walk the database ([`super::hierarchy`]).

use std::sync::{Arc, LazyLock};

use super::copies::{Copies, Versioned};

use crate::domain::{AccountId, GroupId, Permission};

/// Bytes of copies kept in memory over every account ([`Graph::bytes`]: 8
/// bytes an edge, and 42 a group with an edge plus its name's length).
pub const MAX_BYTES: usize = 32 << 20;

/// One account's hierarchy at one version, as adjacency arrays over the
/// sorted ids of the groups that have an edge.
pub struct Graph {
    version: String,
    ids: Vec<GroupId>,
    /// The parents of node `i` are `up[up_at[i]..up_at[i + 1]]`.
    up_at: Vec<u32>,
    up: Vec<u32>,
    down_at: Vec<u32>,
    down: Vec<u32>,
    /// What each node grants, a bit per [`Permission::ALL`] entry.
    grants: Vec<u16>,
    /// Each node's name key.
    keys: Vec<Box<str>>,
    system: Option<u32>,
    bytes: usize,
}

fn bit(permission: Permission) -> u16 {
    let at = Permission::ALL.iter().position(|p| *p == permission).unwrap_or(0);
    1 << at
}

/// Adjacency arrays of `pairs` (from, to) over `n` nodes.
fn adjacency(n: usize, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut at = vec![0u32; n + 1];
    for (from, _) in pairs.clone() {
        at[from as usize + 1] += 1;
    }
    for i in 0..n {
        at[i + 1] += at[i];
    }
    let mut fill = at.clone();
    let mut to = vec![0u32; at[n] as usize];
    for (from, target) in pairs {
        to[fill[from as usize] as usize] = target;
        fill[from as usize] += 1;
    }
    (at, to)
}

impl Graph {
    /// The graph of `edges` (parent, child) with the `grants` and name `keys`
    /// of its groups and the account's System Administrators group.
    pub fn build(
        version: String,
        edges: &[(GroupId, GroupId)],
        grants: &[(GroupId, Permission)],
        keys: &[(GroupId, String)],
        system: Option<GroupId>,
    ) -> Graph {
        let mut ids: Vec<GroupId> = edges.iter().flat_map(|(p, c)| [*p, *c]).collect();
        ids.sort_unstable();
        ids.dedup();
        // Every group came twice or more (one entry per edge end).
        ids.shrink_to_fit();
        let index = |id: &GroupId| ids.binary_search(id).map(|i| i as u32);
        let pairs: Vec<(u32, u32)> = edges.iter().filter_map(|(p, c)| Some((index(p).ok()?, index(c).ok()?))).collect();
        let (up_at, up) = adjacency(ids.len(), pairs.iter().map(|(p, c)| (*c, *p)));
        let (down_at, down) = adjacency(ids.len(), pairs.iter().copied());
        let mut bits = vec![0u16; ids.len()];
        for (group, permission) in grants {
            if let Ok(i) = index(group) {
                bits[i as usize] |= bit(*permission);
            }
        }
        let mut names: Vec<Box<str>> = vec![Box::from(""); ids.len()];
        for (group, key) in keys {
            if let Ok(i) = index(group) {
                names[i as usize] = key.as_str().into();
            }
        }
        let system = system.and_then(|s| index(&s).ok());
        let mut graph = Graph { version, ids, up_at, up, down_at, down, grants: bits, keys: names, system, bytes: 0 };
        graph.bytes = graph.measure();
        graph
    }

    fn measure(&self) -> usize {
        use std::mem::size_of;
        let arrays = self.up_at.capacity() + self.up.capacity() + self.down_at.capacity() + self.down.capacity();
        size_of::<Graph>()
            + self.version.capacity()
            + self.ids.capacity() * size_of::<GroupId>()
            + arrays * size_of::<u32>()
            + self.grants.capacity() * size_of::<u16>()
            + self.keys.iter().map(|k| size_of::<Box<str>>() + k.len()).sum::<usize>()
    }

    pub fn edges(&self) -> usize {
        self.up.len()
    }

    fn index(&self, id: &GroupId) -> Option<u32> {
        self.ids.binary_search(id).ok().map(|i| i as u32)
    }

    /// The group's name key, if it is nested (the tests' view).
    #[cfg(test)]
    pub fn key(&self, id: &GroupId) -> Option<&str> {
        self.index(id).map(|i| &*self.keys[i as usize])
    }

    fn parents(&self, i: u32) -> &[u32] {
        &self.up[self.up_at[i as usize] as usize..self.up_at[i as usize + 1] as usize]
    }

    fn children(&self, i: u32) -> &[u32] {
        &self.down[self.down_at[i as usize] as usize..self.down_at[i as usize + 1] as usize]
    }

    /// Visits every node reachable in one step or more from `starts` by
    /// `next`, not entering `blocked` ones, until `stop` says so; returns
    /// the nodes visited, in the order reached.
    fn walk<'g>(
        &'g self,
        starts: impl Iterator<Item = u32>,
        next: impl Fn(&'g Self, u32) -> &'g [u32],
        blocked: &[u32],
        mut stop: impl FnMut(u32) -> bool,
    ) -> Vec<u32> {
        let mut seen = vec![false; self.ids.len()];
        for b in blocked {
            seen[*b as usize] = true;
        }
        let mut reached = Vec::new();
        let mut frontier: Vec<u32> = starts.collect();
        while let Some(node) = frontier.pop() {
            for &n in next(self, node) {
                if !seen[n as usize] {
                    seen[n as usize] = true;
                    reached.push(n);
                    if stop(n) {
                        return reached;
                    }
                    frontier.push(n);
                }
            }
        }
        reached
    }

    fn ids_of(&self, nodes: Vec<u32>) -> Vec<GroupId> {
        nodes.into_iter().map(|i| self.ids[i as usize]).collect()
    }

    /// Every group above any of `starts` (the starts themselves only when
    /// one is above another).
    pub fn ancestors(&self, starts: &[GroupId]) -> Vec<GroupId> {
        let starts = starts.iter().filter_map(|s| self.index(s));
        self.ids_of(self.walk(starts, Self::parents, &[], |_| false))
    }

    /// The `starts` that are nested and every group above any of them, each
    /// once with its name key; and the `starts` that are not nested.
    pub fn keyed_and_above(&self, starts: &[GroupId]) -> (Vec<(&str, GroupId)>, Vec<GroupId>) {
        let (mut nodes, mut outside) = (Vec::new(), Vec::new());
        for s in starts {
            match self.index(s) {
                Some(i) => nodes.push(i),
                None => outside.push(*s),
            }
        }
        let mut all = self.walk(nodes.iter().copied(), Self::parents, &[], |_| false);
        all.extend(nodes);
        all.sort_unstable();
        all.dedup();
        outside.sort_unstable();
        outside.dedup();
        (all.into_iter().map(|n| (&*self.keys[n as usize], self.ids[n as usize])).collect(), outside)
    }

    /// Every group below `group`, not descending into `excluded`.
    pub fn descendants(&self, group: GroupId, excluded: &[GroupId]) -> Vec<GroupId> {
        let blocked: Vec<u32> = excluded.iter().filter_map(|e| self.index(e)).collect();
        self.ids_of(self.walk(self.index(&group).into_iter(), Self::children, &blocked, |_| false))
    }

    /// Whether a group above one of `starts` is System Administrators or,
    /// with `Some(permission)`, grants it.
    pub fn grants_above(&self, starts: &[GroupId], permission: Option<Permission>) -> bool {
        let wanted = permission.map_or(0, bit);
        let granting = |n: u32| Some(n) == self.system || self.grants[n as usize] & wanted != 0;
        let starts = starts.iter().filter_map(|s| self.index(s));
        self.walk(starts, Self::parents, &[], granting).last().is_some_and(|n| granting(*n))
    }
}

static COPIES: LazyLock<Copies<AccountId, Graph>> = LazyLock::new(|| Copies::new(MAX_BYTES));

impl Versioned for Graph {
    type Version = str;
    fn version(&self) -> &str {
        &self.version
    }
    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The account's copy at `version`, loaded with `load` when none is current
/// and none is being loaded; `still` tells, once loaded, whether the
/// account is still at `version` (see [`Copies::get_or_load`]). `None`:
/// walk the database.
pub fn current_or_load<C: ?Sized, E>(
    account: AccountId,
    version: &str,
    on: &mut C,
    load: impl FnOnce(&mut C) -> Result<Graph, E>,
    still: impl FnOnce(&mut C) -> Result<bool, E>,
) -> Result<Option<Arc<Graph>>, E> {
    COPIES.get_or_load(account, version, on, load, still)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<GroupId> {
        let mut v: Vec<GroupId> = (0..n).map(|_| GroupId::new()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn walks_up_and_down_skipping_excluded_subtrees() {
        let g = ids(6);
        // 0 > 1 > 2 > 3, 0 > 4 > 3, 5 alone above 4.
        let edges = [(g[0], g[1]), (g[1], g[2]), (g[2], g[3]), (g[0], g[4]), (g[4], g[3]), (g[5], g[4])];
        let keys: Vec<(GroupId, String)> = g.iter().enumerate().map(|(i, id)| (*id, format!("g{i}"))).collect();
        let graph = Graph::build("v".into(), &edges, &[(g[5], Permission::UserRead)], &keys, Some(g[0]));
        assert_eq!(graph.key(&g[4]), Some("g4"));
        assert_eq!(graph.key(&GroupId::new()), None);
        let mut up = graph.ancestors(&[g[3]]);
        up.sort_unstable();
        assert_eq!(up, vec![g[0], g[1], g[2], g[4], g[5]]);
        assert!(graph.ancestors(&[g[0]]).is_empty());
        let mut down = graph.descendants(g[0], &[g[1]]);
        down.sort_unstable();
        assert_eq!(down, vec![g[3], g[4]]);
        assert!(graph.grants_above(&[g[3]], Some(Permission::UserRead)));
        assert!(graph.grants_above(&[g[2]], None), "System Administrators is above");
        assert!(graph.grants_above(&[g[2]], Some(Permission::AuditRead)), "administrators hold everything");
        let no_system = Graph::build("v".into(), &edges, &[(g[5], Permission::UserRead)], &keys, None);
        assert!(!no_system.grants_above(&[g[2]], Some(Permission::UserRead)), "5 is not above 2");
        assert!(no_system.grants_above(&[g[4]], Some(Permission::UserRead)));
        assert!(!no_system.grants_above(&[g[5]], Some(Permission::UserRead)), "a start's own grants are not above it");
    }

    /// A chain of `n` groups named `g0`, `g1`, …
    fn chain(n: usize) -> Graph {
        let g = ids(n);
        let edges: Vec<(GroupId, GroupId)> = g.windows(2).map(|w| (w[0], w[1])).collect();
        let keys: Vec<(GroupId, String)> = g.iter().enumerate().map(|(i, id)| (*id, format!("g{i}"))).collect();
        Graph::build("v".into(), &edges, &[], &keys, None)
    }

    #[test]
    fn a_copy_is_measured_as_max_bytes_says() {
        let one = chain(1000);
        // As MAX_BYTES (and the README) say: 999 edges at 8 bytes, 1,000
        // groups at 16 (id) + 8 (offsets) + 2 (grants) + 16 (name) bytes
        // plus the names' lengths, and a few hundred bytes for the copy.
        let names: usize = (0..1000).map(|i| format!("g{i}").len()).sum();
        let expected = 999 * 8 + 1000 * 42 + names;
        assert!((expected..expected + 512).contains(&one.bytes()), "{} bytes, {expected} expected", one.bytes());
    }
}
