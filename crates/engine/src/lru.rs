//! A bounded map that drops its least recently used entry when full: the engine's parsed
//! templates and the operator's last renders.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// At most `capacity` entries; reads and writes mark an entry used.
pub struct Lru<K, V> {
    capacity: usize,
    tick: u64,
    entries: HashMap<K, (u64, V)>,
    by_use: BTreeMap<u64, K>,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    /// The entry for `key`, marked used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.tick += 1;
        let (used, value) = self.entries.get_mut(key)?;
        self.by_use.remove(used);
        *used = self.tick;
        self.by_use.insert(self.tick, key.clone());
        Some(value)
    }

    /// The entry for `key`, without marking it used.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// Stores `value` (replacing any entry for `key`), dropping the least recently used
    /// entries beyond the capacity.
    pub fn insert(&mut self, key: K, value: V) {
        self.remove(&key);
        self.tick += 1;
        self.by_use.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, value));
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    /// Removes and returns the entry for `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (used, value) = self.entries.remove(key)?;
        self.by_use.remove(&used);
        Some(value)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.get(&"a"), Some(&1));
        lru.insert("c", 3);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.peek(&"b"), None, "b was least recently used");
        assert_eq!(lru.peek(&"a"), Some(&1));
        lru.insert("a", 4);
        assert_eq!(
            (lru.len(), lru.peek(&"a")),
            (2, Some(&4)),
            "replaced, not duplicated"
        );
        assert_eq!(lru.remove(&"a"), Some(4));
        assert_eq!(Lru::<u8, u8>::new(0).capacity(), 1);
    }
}
