//! The last rendered Secret per ExternalSecret (drift repair without a provider read), bounded:
//! at most `capacity` entries, the least recently used dropped first. A dropped entry costs one
//! provider read the next time that ExternalSecret's Secret needs repair.

use secretsync_engine::DesiredSecret;
use secretsync_engine::lru::Lru;

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
    entries: Lru<Key, CachedRender>,
}

impl RenderCache {
    /// An empty cache holding at most `capacity` renders (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        RenderCache {
            entries: Lru::new(capacity),
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
            .peek(key)
            .is_some_and(|c| c.uid.as_deref() == uid && c.synced_version == synced_version);
        if !hit {
            return None;
        }
        self.entries.get(key).map(|c| c.desired.clone())
    }

    /// Stores a render, dropping the least recently used beyond the capacity.
    pub(crate) fn insert(&mut self, key: Key, render: CachedRender) {
        self.entries.insert(key, render);
    }

    /// Forgets `key`.
    pub(crate) fn remove(&mut self, key: &Key) {
        self.entries.remove(key);
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
        assert_eq!(RenderCache::new(0).entries.capacity(), 1);
    }
}
