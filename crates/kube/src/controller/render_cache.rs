//! The last rendered Secret per ExternalSecret (drift repair without a provider read), bounded:
//! at most `capacity` entries, the least recently used dropped first. A dropped entry costs one
//! provider read the next time that ExternalSecret's Secret needs repair.

use std::collections::{BTreeMap, HashMap};

use secretsync_engine::DesiredSecret;

/// `(namespace, name)` of an ExternalSecret.
pub(crate) type Key = (String, String);

/// One cached render: valid for this uid and `syncedResourceVersion` only.
pub(crate) struct CachedRender {
    pub(crate) uid: Option<String>,
    pub(crate) synced_version: String,
    pub(crate) desired: DesiredSecret,
}

/// A least-recently-used map of renders.
pub(crate) struct RenderCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<Key, (u64, CachedRender)>,
    by_use: BTreeMap<u64, Key>,
}

impl RenderCache {
    /// An empty cache holding at most `capacity` renders (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        RenderCache {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    fn touch(&mut self, key: &Key) {
        self.tick += 1;
        if let Some((used, _)) = self.entries.get_mut(key) {
            self.by_use.remove(used);
            *used = self.tick;
            self.by_use.insert(self.tick, key.clone());
        }
    }

    /// The render for `key` when it matches `uid` and `synced_version`; marks it used.
    pub(crate) fn get(
        &mut self,
        key: &Key,
        uid: Option<&str>,
        synced_version: &str,
    ) -> Option<DesiredSecret> {
        let hit = self
            .entries
            .get(key)
            .is_some_and(|(_, c)| c.uid.as_deref() == uid && c.synced_version == synced_version);
        if !hit {
            return None;
        }
        self.touch(key);
        self.entries.get(key).map(|(_, c)| c.desired.clone())
    }

    /// Stores a render, dropping the least recently used beyond the capacity.
    pub(crate) fn insert(&mut self, key: Key, render: CachedRender) {
        self.remove(&key);
        self.tick += 1;
        self.by_use.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, render));
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    /// Forgets `key`.
    pub(crate) fn remove(&mut self, key: &Key) {
        if let Some((used, _)) = self.entries.remove(key) {
            self.by_use.remove(&used);
        }
    }

    /// Number of cached renders.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(version: &str) -> CachedRender {
        CachedRender {
            uid: Some("u".into()),
            synced_version: version.into(),
            desired: crate::test_util::desired(
                secretsync_model::external_secret::CreationPolicy::Owner,
                &[("k", "v")],
            ),
        }
    }

    fn key(n: &str) -> Key {
        ("ns".into(), n.into())
    }

    #[test]
    fn least_recently_used_is_dropped_at_capacity() {
        let mut c = RenderCache::new(2);
        c.insert(key("a"), render("1"));
        c.insert(key("b"), render("1"));
        assert!(c.get(&key("a"), Some("u"), "1").is_some(), "a used again");
        c.insert(key("c"), render("1"));
        assert_eq!(c.len(), 2);
        assert!(
            c.get(&key("b"), Some("u"), "1").is_none(),
            "b was least recently used"
        );
        assert!(c.get(&key("a"), Some("u"), "1").is_some());
        assert!(c.get(&key("c"), Some("u"), "1").is_some());
    }

    #[test]
    fn a_render_is_valid_for_its_uid_and_version_only() {
        let mut c = RenderCache::new(10);
        c.insert(key("a"), render("1"));
        assert!(c.get(&key("a"), Some("u"), "2").is_none(), "spec changed");
        assert!(
            c.get(&key("a"), Some("other"), "1").is_none(),
            "recreated object"
        );
        assert!(c.get(&key("a"), None, "1").is_none());
        c.insert(key("a"), render("2"));
        assert_eq!(c.len(), 1, "replaced, not duplicated");
        c.remove(&key("a"));
        assert_eq!(c.len(), 0);
        assert!(RenderCache::new(0).capacity == 1);
    }
}
