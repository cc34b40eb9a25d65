//! Copies in memory of what the database holds, each current while a
//! version read from the database (in one cheap statement) is the one it
//! was loaded at: an account's hierarchy ([`super::graph`]), where a large
//! group's member pages begin ([`super::member_pages`]).
//!
//! A version never comes back, so a copy loaded and found still at its
//! version afterwards saw no change committed in between, and a copy whose
//! version is gone is never used again, on any instance.
//!
//! Copies are bounded (a budget of bytes over every key, the least recently
//! used dropped first), one caller loads a key at a time, and a key whose
//! data changes faster than it loads is not reloaded after every change:
//! until its copy is current again, callers read the database instead.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a copy must tell its cache.
pub trait Versioned {
    type Version: PartialEq + ?Sized;
    /// The version it was loaded at.
    fn version(&self) -> &Self::Version;
    /// The memory it takes (its own and on the heap).
    fn bytes(&self) -> usize;
}

struct Entry<T> {
    copy: Option<Arc<T>>,
    loading: bool,
    /// When the last load began and how long it took.
    last_load: Option<(Instant, Duration)>,
    used: Instant,
}

impl<T> Entry<T> {
    /// Loaded too recently to load again: loading takes at most a tenth of
    /// the time of a key whose data keeps changing.
    fn throttled(&self) -> bool {
        self.last_load.is_some_and(|(began, took)| began.elapsed() < took * 10)
    }
}

/// Entries are pruned when there are this many (or twice as many as the last
/// pruning kept): an entry without a copy is kept only while it is loading or
/// throttled.
pub const PRUNE_AT: usize = 1024;

struct Entries<K, T> {
    entries: HashMap<K, Entry<T>>,
    prune_at: usize,
}

/// The copies of one kind, within `budget` bytes.
pub struct Copies<K, T> {
    inner: Mutex<Entries<K, T>>,
    budget: usize,
}

/// What [`Copies::current`] found.
pub enum Lookup<T> {
    Current(Arc<T>),
    /// No current copy: the caller may load one (and must then
    /// [`Copies::store`] or [`Copies::abandon`] it).
    Load,
    /// No current copy, and another caller is loading one or one was loaded
    /// too recently: read the database.
    Walk,
}

impl<K: Hash + Eq + Copy, T: Versioned> Copies<K, T> {
    pub fn new(budget: usize) -> Self {
        Copies { inner: Mutex::new(Entries { entries: HashMap::new(), prune_at: PRUNE_AT }), budget }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key's copy at `version`, or what to do without one.
    pub fn current(&self, key: K, version: &T::Version) -> Lookup<T> {
        let mut copies = self.lock();
        if copies.entries.len() >= copies.prune_at && !copies.entries.contains_key(&key) {
            copies.entries.retain(|_, e| e.copy.is_some() || e.loading || e.throttled());
            copies.prune_at = (copies.entries.len() * 2).max(PRUNE_AT);
        }
        let entry =
            copies.entries.entry(key).or_insert_with(|| Entry { copy: None, loading: false, last_load: None, used: Instant::now() });
        entry.used = Instant::now();
        match &entry.copy {
            Some(c) if c.version() == version => return Lookup::Current(c.clone()),
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
    /// drops the least recently used others while over the budget.
    pub fn store(&self, key: K, copy: T, took: Duration) -> Arc<T> {
        let copy = Arc::new(copy);
        let mut copies = self.lock();
        let entries = &mut copies.entries;
        if let Some(entry) = loaded(entries, key, took) {
            entry.copy = (copy.bytes() <= self.budget).then(|| copy.clone());
        }
        let mut total: usize = entries.values().filter_map(|e| e.copy.as_ref()).map(|c| c.bytes()).sum();
        while total > self.budget {
            let Some((oldest, _)) = entries.iter().filter(|(_, e)| e.copy.is_some()).min_by_key(|(_, e)| e.used) else { break };
            let oldest = *oldest;
            if let Some(c) = entries.get_mut(&oldest).and_then(|e| e.copy.take()) {
                total -= c.bytes();
            }
        }
        copy
    }

    /// A load that failed or was overtaken by a change, after `took`: another
    /// caller may try once the throttle allows (a load thrown away costs as
    /// much as one kept).
    pub fn abandon(&self, key: K, took: Duration) {
        loaded(&mut self.lock().entries, key, took);
    }

    /// The key's copy at `version`, loaded with `load` (on `on`) when none
    /// is current and none is being loaded (see [`Copies::current`]); once
    /// loaded, `still` tells whether the data is still at `version`, and
    /// the copy is kept and used only if it is. `None`: read the database
    /// instead.
    pub fn get_or_load<C: ?Sized, E>(
        &self,
        key: K,
        version: &T::Version,
        on: &mut C,
        load: impl FnOnce(&mut C) -> Result<T, E>,
        still: impl FnOnce(&mut C) -> Result<bool, E>,
    ) -> Result<Option<Arc<T>>, E> {
        match self.current(key, version) {
            Lookup::Current(c) => Ok(Some(c)),
            Lookup::Walk => Ok(None),
            Lookup::Load => {
                let began = Instant::now();
                match load(on).and_then(|c| Ok(still(on)?.then_some(c))) {
                    Ok(Some(c)) => Ok(Some(self.store(key, c, began.elapsed()))),
                    Ok(None) => {
                        self.abandon(key, began.elapsed());
                        Ok(None)
                    }
                    Err(e) => {
                        self.abandon(key, began.elapsed());
                        Err(e)
                    }
                }
            }
        }
    }

    /// Whether the key has a copy kept.
    pub fn kept(&self, key: K) -> bool {
        self.lock().entries.get(&key).is_some_and(|e| e.copy.is_some())
    }

    /// How many keys have an entry (the tests' view).
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.lock().entries.len()
    }
}

/// Ends the key's load, recording its cost.
fn loaded<K: Hash + Eq, T>(entries: &mut HashMap<K, Entry<T>>, key: K, took: Duration) -> Option<&mut Entry<T>> {
    let entry = entries.get_mut(&key)?;
    entry.loading = false;
    entry.last_load = entry.last_load.map(|(began, _)| (began, took));
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blob(&'static str, usize);

    impl Versioned for Blob {
        type Version = str;
        fn version(&self) -> &str {
            self.0
        }
        fn bytes(&self) -> usize {
            self.1
        }
    }

    #[test]
    fn a_load_thrown_away_still_throttles_the_next() {
        let copies: Copies<u32, Blob> = Copies::new(1000);
        assert!(matches!(copies.current(1, "v1"), Lookup::Load));
        assert!(matches!(copies.current(1, "v1"), Lookup::Walk), "one load at a time");
        copies.abandon(1, Duration::from_secs(60));
        assert!(matches!(copies.current(1, "v2"), Lookup::Walk), "a load of 60 s thrown away: no reload for 10 minutes");
        assert!(matches!(copies.current(2, "v1"), Lookup::Load));
        copies.abandon(2, Duration::ZERO);
        assert!(matches!(copies.current(2, "v2"), Lookup::Load), "a free load may be repeated");
        copies.abandon(2, Duration::ZERO);
    }

    #[test]
    fn a_copy_is_used_at_its_version_only() {
        let copies: Copies<u32, Blob> = Copies::new(1000);
        let load = |v: &'static str| Ok::<_, ()>(Blob(v, 10));
        assert!(copies.get_or_load(1, "v1", &mut (), |_| load("v1"), |_| Ok(true)).unwrap().is_some());
        assert!(matches!(copies.current(1, "v1"), Lookup::Current(_)));
        // Past the throttle of that load (ten times what it took).
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(copies.current(1, "v2"), Lookup::Load), "another version is not current");
        copies.abandon(1, Duration::ZERO);
        let overtaken = copies.get_or_load(1, "v3", &mut (), |_| load("v3"), |_| Ok(false)).unwrap();
        assert!(overtaken.is_none(), "a copy overtaken by a change while loading is not used");
        assert!(!matches!(copies.current(1, "v3"), Lookup::Current(_)), "nor kept");
    }

    #[test]
    fn copies_stay_within_their_budget_dropping_the_least_recently_used() {
        let copies: Copies<u32, Blob> = Copies::new(250);
        for key in 0..3 {
            assert!(matches!(copies.current(key, "v"), Lookup::Load));
            copies.store(key, Blob("v", 100), Duration::ZERO);
            if key == 1 {
                // The first is used again: the second is now the oldest.
                assert!(matches!(copies.current(0, "v"), Lookup::Current(_)));
            }
        }
        assert_eq!((0..3).map(|k| copies.kept(k)).collect::<Vec<_>>(), [true, false, true]);
        assert!(matches!(copies.current(9, "v"), Lookup::Load));
        copies.store(9, Blob("v", 300), Duration::ZERO);
        assert!(!copies.kept(9), "a copy larger than the whole budget is not kept");
        assert!(copies.kept(0) && copies.kept(2));
    }

    #[test]
    fn keys_without_a_copy_are_forgotten() {
        let copies: Copies<u32, Blob> = Copies::new(1000);
        for key in 0..20 * PRUNE_AT as u32 {
            assert!(matches!(copies.current(key, "v"), Lookup::Load));
            copies.abandon(key, Duration::ZERO);
        }
        assert!(copies.entries() <= 2 * PRUNE_AT, "{} entries kept", copies.entries());
    }
}
