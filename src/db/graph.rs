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

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

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

    /// The memory the copy takes (its own and on the heap).
    pub fn bytes(&self) -> usize {
        self.bytes
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

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn edges(&self) -> usize {
        self.up.len()
    }

    fn index(&self, id: &GroupId) -> Option<u32> {
        self.ids.binary_search(id).ok().map(|i| i as u32)
    }

    /// The group's name key, if it is nested.
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

struct Entry {
    graph: Option<Arc<Graph>>,
    loading: bool,
    /// When the last load began and how long it took.
    last_load: Option<(Instant, Duration)>,
    used: Instant,
}

impl Entry {
    /// Loaded too recently to load again: loading takes at most a tenth of
    /// the time of an account whose hierarchy keeps changing.
    fn throttled(&self) -> bool {
        self.last_load.is_some_and(|(began, took)| began.elapsed() < took * 10)
    }
}

/// Entries are pruned when there are this many (or twice as many as the last
/// pruning kept): an entry without a copy is kept only while it is loading or
/// throttled.
const PRUNE_AT: usize = 1024;

struct Copies {
    entries: HashMap<AccountId, Entry>,
    prune_at: usize,
}

static COPIES: LazyLock<Mutex<Copies>> = LazyLock::new(|| Mutex::new(Copies { entries: HashMap::new(), prune_at: PRUNE_AT }));

fn copies() -> std::sync::MutexGuard<'static, Copies> {
    COPIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// What [`current`] found.
pub enum Lookup {
    Current(Arc<Graph>),
    /// No current copy: the caller may load one (and must then [`store`] or
    /// [`abandon`] it).
    Load,
    /// No current copy, and another caller is loading one or one was loaded
    /// too recently: walk the database.
    Walk,
}

/// The account's copy at `version`, or what to do without one.
pub fn current(account: AccountId, version: &str) -> Lookup {
    let mut copies = copies();
    if copies.entries.len() >= copies.prune_at && !copies.entries.contains_key(&account) {
        copies.entries.retain(|_, e| e.graph.is_some() || e.loading || e.throttled());
        copies.prune_at = (copies.entries.len() * 2).max(PRUNE_AT);
    }
    let entry =
        copies.entries.entry(account).or_insert_with(|| Entry { graph: None, loading: false, last_load: None, used: Instant::now() });
    entry.used = Instant::now();
    match &entry.graph {
        Some(g) if g.version == version => return Lookup::Current(g.clone()),
        _ => {}
    }
    if entry.loading || entry.throttled() {
        return Lookup::Walk;
    }
    entry.loading = true;
    entry.last_load = Some((Instant::now(), Duration::ZERO));
    Lookup::Load
}

/// Keeps a loaded copy (unless it is larger than the whole budget), and
/// drops the least recently used others while over [`MAX_BYTES`].
pub fn store(account: AccountId, graph: Graph, took: Duration) -> Arc<Graph> {
    store_within(account, graph, took, MAX_BYTES)
}

fn store_within(account: AccountId, graph: Graph, took: Duration, budget: usize) -> Arc<Graph> {
    let graph = Arc::new(graph);
    let mut copies = copies();
    let entries = &mut copies.entries;
    if let Some(entry) = loaded(entries, account, took) {
        entry.graph = (graph.bytes() <= budget).then(|| graph.clone());
    }
    let mut total: usize = entries.values().filter_map(|e| e.graph.as_ref()).map(|g| g.bytes()).sum();
    while total > budget {
        let Some((oldest, _)) = entries.iter().filter(|(_, e)| e.graph.is_some()).min_by_key(|(_, e)| e.used) else { break };
        let oldest = *oldest;
        if let Some(g) = entries.get_mut(&oldest).and_then(|e| e.graph.take()) {
            total -= g.bytes();
        }
    }
    graph
}

/// A load that failed or was overtaken by a change, after `took`: another
/// caller may try once the throttle allows (a load thrown away costs as much
/// as one kept).
pub fn abandon(account: AccountId, took: Duration) {
    loaded(&mut copies().entries, account, took);
}

/// Ends the account's load, recording its cost.
fn loaded(entries: &mut HashMap<AccountId, Entry>, account: AccountId, took: Duration) -> Option<&mut Entry> {
    let entry = entries.get_mut(&account)?;
    entry.loading = false;
    entry.last_load = entry.last_load.map(|(began, _)| (began, took));
    Some(entry)
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

    fn entries() -> usize {
        copies().entries.len()
    }

    #[test]
    fn a_load_thrown_away_still_throttles_the_next() {
        let account = AccountId::new();
        assert!(matches!(current(account, "v1"), Lookup::Load));
        assert!(matches!(current(account, "v1"), Lookup::Walk), "one load at a time");
        abandon(account, Duration::from_secs(60));
        assert!(matches!(current(account, "v2"), Lookup::Walk), "a load of 60 s thrown away: no reload for 10 minutes");
        let other = AccountId::new();
        assert!(matches!(current(other, "v1"), Lookup::Load));
        abandon(other, Duration::ZERO);
        assert!(matches!(current(other, "v2"), Lookup::Load), "a free load may be repeated");
        abandon(other, Duration::ZERO);
    }

    /// A chain of `n` groups named `g0`, `g1`, …
    fn chain(n: usize) -> Graph {
        let g = ids(n);
        let edges: Vec<(GroupId, GroupId)> = g.windows(2).map(|w| (w[0], w[1])).collect();
        let keys: Vec<(GroupId, String)> = g.iter().enumerate().map(|(i, id)| (*id, format!("g{i}"))).collect();
        Graph::build("v".into(), &edges, &[], &keys, None)
    }

    fn kept(account: AccountId) -> bool {
        copies().entries.get(&account).is_some_and(|e| e.graph.is_some())
    }

    #[test]
    fn copies_stay_within_their_budget_dropping_the_least_recently_used() {
        let one = chain(1000);
        // As MAX_BYTES (and the README) say: 999 edges at 8 bytes, 1,000
        // groups at 16 (id) + 8 (offsets) + 2 (grants) + 16 (name) bytes
        // plus the names' lengths, and a few hundred bytes for the copy.
        let names: usize = (0..1000).map(|i| format!("g{i}").len()).sum();
        let expected = 999 * 8 + 1000 * 42 + names;
        assert!((expected..expected + 512).contains(&one.bytes()), "{} bytes, {expected} expected", one.bytes());
        let budget = one.bytes() * 5 / 2;
        let accounts: Vec<AccountId> = (0..3).map(|_| AccountId::new()).collect();
        for (i, account) in accounts.iter().enumerate() {
            assert!(matches!(current(*account, "v"), Lookup::Load));
            store_within(*account, chain(1000), Duration::ZERO, budget);
            if i == 1 {
                // The first is used again: the second is now the oldest.
                assert!(matches!(current(accounts[0], "v"), Lookup::Current(_)));
            }
        }
        assert_eq!(accounts.iter().map(|a| kept(*a)).collect::<Vec<_>>(), [true, false, true]);
        let large = AccountId::new();
        assert!(matches!(current(large, "v"), Lookup::Load));
        store_within(large, chain(3000), Duration::ZERO, budget);
        assert!(!kept(large), "a copy larger than the whole budget is not kept");
        assert!(kept(accounts[0]) && kept(accounts[2]));
    }

    #[test]
    fn accounts_without_a_copy_are_forgotten() {
        for _ in 0..20 * PRUNE_AT {
            let account = AccountId::new();
            assert!(matches!(current(account, "v"), Lookup::Load));
            abandon(account, Duration::ZERO);
        }
        // Other tests of this binary add a few entries of their own.
        assert!(entries() <= 2 * PRUNE_AT + 16, "{} entries kept", entries());
    }
}
