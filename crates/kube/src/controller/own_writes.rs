//! The ExternalSecret versions this process has already written a status over.
//!
//! The ExternalSecret cache is fed by a watch, so a reconcile triggered right after our own
//! status write (e.g. by the watch event of the Secret we just applied) can still see the
//! object as it was *before* that write: without `status.syncedResourceVersion` it looks like
//! a first sync again, and syncing it would cost a provider call and API requests for nothing.
//! Recording the `resourceVersion` each status write superseded lets the reconcile recognise
//! that version and wait for the cache instead.

use std::sync::Mutex;

use super::render_cache::Key;
use crate::cache::ns_map::NsMap;

/// What a reconcile should make of the version of an ExternalSecret it was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The version our last status write replaced: the cache has not caught up yet.
    Superseded,
    /// Anything else (newer, or someone else's write): reconcile it.
    Current,
}

/// Pure decision: `seen` is stale when it is exactly the version our write `written_over`.
pub(crate) fn classify(written_over: Option<&str>, seen: Option<&str>) -> Seen {
    match (written_over, seen) {
        (Some(over), Some(seen)) if over == seen => Seen::Superseded,
        _ => Seen::Current,
    }
}

/// Per ExternalSecret, the `resourceVersion` our latest status write replaced (bounded by the
/// number of ExternalSecrets: an entry goes once a newer version is seen or the object is gone;
/// a namespace's table is freed once it empties, so a first sync's peak does not stay).
#[derive(Default)]
pub(crate) struct OwnStatusWrites(Mutex<NsMap<Box<str>>>);

impl OwnStatusWrites {
    fn map(&self) -> std::sync::MutexGuard<'_, NsMap<Box<str>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that a status write replaced version `from` of `key` with version `to`.
    pub(crate) fn record(&self, key: &Key, from: Option<&str>, to: Option<&str>) {
        let mut map = self.map();
        match from {
            Some(from) if to != Some(from) => {
                map.insert(&key.0, &key.1, from.into());
            }
            _ => {
                map.remove(&key.0, &key.1);
            }
        }
    }

    /// Classifies the version `seen` of `key`; a current version ends the record (the cache
    /// has caught up, or the object changed since).
    pub(crate) fn check(&self, key: &Key, seen: Option<&str>) -> Seen {
        let mut map = self.map();
        let verdict = classify(map.get(&key.0, &key.1).map(|v| &**v), seen);
        if verdict == Seen::Current {
            map.remove(&key.0, &key.1);
        }
        verdict
    }

    /// Drops the record of a deleted ExternalSecret.
    pub(crate) fn forget(&self, key: &Key) {
        self.map().remove(&key.0, &key.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let cases = [
            (None, None, Seen::Current),
            (None, Some("5"), Seen::Current),
            (Some("5"), None, Seen::Current),
            (Some("5"), Some("5"), Seen::Superseded),
            (Some("5"), Some("6"), Seen::Current),
            (Some("6"), Some("5"), Seen::Current),
        ];
        for (over, seen, expected) in cases {
            assert_eq!(
                classify(over, seen),
                expected,
                "over {over:?} seen {seen:?}"
            );
        }
    }

    fn key() -> Key {
        ("ns".to_string(), "es".to_string())
    }

    #[test]
    fn the_superseded_version_is_stale_until_a_newer_one_is_seen() {
        let writes = OwnStatusWrites::default();
        writes.record(&key(), Some("5"), Some("6"));
        assert_eq!(writes.check(&key(), Some("5")), Seen::Superseded);
        assert_eq!(writes.check(&key(), Some("5")), Seen::Superseded);
        assert_eq!(writes.check(&key(), Some("6")), Seen::Current);
        // The record is gone: even the old version is no longer held back.
        assert_eq!(writes.check(&key(), Some("5")), Seen::Current);
    }

    #[test]
    fn a_write_that_changed_nothing_or_had_no_version_records_nothing() {
        let writes = OwnStatusWrites::default();
        writes.record(&key(), Some("5"), Some("5"));
        assert_eq!(writes.check(&key(), Some("5")), Seen::Current);
        writes.record(&key(), None, Some("6"));
        assert_eq!(writes.check(&key(), None), Seen::Current);
        writes.record(&key(), Some("5"), Some("6"));
        writes.record(&key(), Some("6"), None);
        assert_eq!(writes.check(&key(), Some("6")), Seen::Superseded);
    }

    #[test]
    fn forget_drops_the_record() {
        let writes = OwnStatusWrites::default();
        writes.record(&key(), Some("5"), Some("6"));
        writes.forget(&key());
        assert_eq!(writes.check(&key(), Some("5")), Seen::Current);
        let other = ("ns".to_string(), "other".to_string());
        writes.record(&key(), Some("5"), Some("6"));
        assert_eq!(writes.check(&other, Some("5")), Seen::Current);
        assert_eq!(writes.check(&key(), Some("5")), Seen::Superseded);
    }
}
