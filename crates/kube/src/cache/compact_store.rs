//! [`CompactStore`]: a watch-fed cache of namespaced objects that holds each one as its JSON
//! encoding, LZ4-compressed against a dictionary, and decodes it when asked.
//!
//! A decoded ExternalSecret takes about 2.5 kB of heap (every optional field inline, each
//! string its own allocation, a B-tree leaf of 11 slots for one label); its JSON about 1 kB,
//! most of it field names and values every ExternalSecret repeats. Compressed against the
//! encoding of a typical object of the kind ([`CompactStore::primed_with`]), those repeats
//! cost a few bytes each: about 300 bytes remain. The operator reads an object only when it
//! reconciles it (a few hundred a second at most) and LZ4 decompresses at memory speed, so
//! decoding on read costs little CPU. (At N=10,000 the heap in use fell by 6.6 MB with the
//! compression alone; `docs/benchmarks.md`, issue #20.)
//! Semantics follow kube-runtime's reflector store: a re-list is collected aside and replaces
//! the contents at its end; the store is ready after its first list.

use std::marker::PhantomData;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::ns_map::NsMap;

/// The contents: objects by namespace and name, and a re-list in progress.
#[derive(Debug, Default)]
struct Contents {
    objects: NsMap<Box<[u8]>>,
    relist: Option<NsMap<Box<[u8]>>>,
}

/// A cache of namespaced objects held encoded; see the module docs. Cheap to clone; clones
/// share the contents.
#[derive(Debug)]
pub struct CompactStore<K> {
    contents: Arc<RwLock<Contents>>,
    listed: Arc<watch::Sender<bool>>,
    /// The LZ4 dictionary every object is compressed against (empty: none).
    dictionary: Arc<[u8]>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for CompactStore<K> {
    fn clone(&self) -> Self {
        CompactStore {
            contents: self.contents.clone(),
            listed: self.listed.clone(),
            dictionary: self.dictionary.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> Default for CompactStore<K> {
    fn default() -> Self {
        CompactStore {
            contents: Arc::default(),
            listed: Arc::new(watch::channel(false).0),
            dictionary: Arc::from(Vec::new()),
            kind: PhantomData,
        }
    }
}

impl<K> CompactStore<K>
where
    K: Resource + Serialize + DeserializeOwned,
{
    /// An empty store compressing against the JSON encoding of `typical`, an object of the
    /// kind with the fields and values most objects share.
    pub fn primed_with(typical: &K) -> Self {
        CompactStore {
            dictionary: Arc::from(serde_json::to_vec(typical).unwrap_or_default()),
            ..CompactStore::default()
        }
    }

    /// Applies one watch event (as kube-runtime's reflector writer does).
    pub fn apply(&self, event: &watcher::Event<K>) {
        match event {
            watcher::Event::Apply(object) => {
                if let Some((namespace, name, encoded)) = encode(object, &self.dictionary) {
                    self.write().objects.insert(&namespace, &name, encoded);
                }
            }
            watcher::Event::Delete(object) => {
                if let (Some(namespace), name) = (object.namespace(), object.name_any()) {
                    self.write().objects.remove(&namespace, &name);
                }
            }
            watcher::Event::Init => self.write().relist = Some(NsMap::default()),
            watcher::Event::InitApply(object) => {
                if let Some((namespace, name, encoded)) = encode(object, &self.dictionary) {
                    self.write()
                        .relist
                        .get_or_insert_with(NsMap::default)
                        .insert(&namespace, &name, encoded);
                }
            }
            watcher::Event::InitDone => {
                {
                    let mut contents = self.write();
                    let listed = contents.relist.take().unwrap_or_default();
                    contents.objects = listed;
                }
                self.listed.send_replace(true);
            }
        }
    }

    /// The object `namespace/name`, decoded; `None` when absent (or, never expected, when
    /// its encoding does not decode).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let contents = self.read();
        let encoded = contents.objects.get(namespace, name)?;
        decode(namespace, name, encoded, &self.dictionary).map(Arc::new)
    }

    /// Whether `namespace/name` is cached.
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        self.read().objects.get(namespace, name).is_some()
    }

    /// Every cached object, decoded (for the rare scans over all of them, e.g. the users of
    /// a store that changed).
    pub fn all(&self) -> Vec<Arc<K>> {
        let contents = self.read();
        contents
            .objects
            .iter()
            .filter_map(|(namespace, name, encoded)| {
                decode(namespace, name, encoded, &self.dictionary)
            })
            .map(Arc::new)
            .collect()
    }

    /// How many objects are cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Resolves once the first list has completed.
    pub async fn wait_until_ready(&self) {
        let mut listed = self.listed.subscribe();
        // The sender lives as long as `self`: the wait cannot fail while we hold it.
        let _ = listed.wait_for(|listed| *listed).await;
    }

    fn read(&self) -> RwLockReadGuard<'_, Contents> {
        self.contents
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Contents> {
        self.contents
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A typical ExternalSecret, the dictionary sample of the operator's ExternalSecret cache
/// ([`CompactStore::primed_with`]): the fields most ExternalSecrets set, with ESO's defaults
/// and the status the operator writes after a sync. Which values it holds changes only how
/// well objects compress, never what they decode to.
pub fn typical_external_secret() -> secretsync_model::external_secret::ExternalSecret {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {
            "name": "", "namespace": "", "uid": "00000000-0000-0000-0000-000000000000",
            "resourceVersion": "1", "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app.kubernetes.io/name": "", "app.kubernetes.io/instance": ""},
            "annotations": {}
        },
        "spec": {
            "refreshInterval": "1h",
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"name": "", "kind": "ClusterSecretStore"},
            "target": {"name": "", "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": [{"secretKey": "", "remoteRef": {"key": "", "property": "",
                "conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}}],
            "dataFrom": [{"extract": {"key": "", "conversionStrategy": "Default",
                "decodingStrategy": "None", "metadataPolicy": "None"}}]
        },
        "status": {
            "refreshTime": "2026-01-01T00:00:00Z",
            "syncedResourceVersion": "1-",
            "binding": {"name": ""},
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                "message": "secret synced", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
        }
    }))
    .unwrap_or_default()
}

/// The namespace, name and compressed JSON encoding of `object`; `None` for an object without
/// a namespace (not expected of a namespaced kind) or one that does not encode.
fn encode<K: Resource + Serialize>(
    object: &K,
    dictionary: &[u8],
) -> Option<(String, String, Box<[u8]>)> {
    let namespace = object.namespace()?;
    let name = object.name_any();
    match serde_json::to_vec(object) {
        Ok(json) => {
            let compressed = lz4_flex::block::compress_prepend_size_with_dict(&json, dictionary);
            Some((namespace, name, compressed.into_boxed_slice()))
        }
        Err(error) => {
            tracing::warn!(%namespace, %name, %error, "an object from the watch could not be cached");
            None
        }
    }
}

fn decode<K: DeserializeOwned>(
    namespace: &str,
    name: &str,
    encoded: &[u8],
    dictionary: &[u8],
) -> Option<K> {
    let json = match lz4_flex::block::decompress_size_prepended_with_dict(encoded, dictionary) {
        Ok(json) => json,
        Err(error) => {
            tracing::warn!(%namespace, %name, %error, "a cached object could not be decompressed");
            return None;
        }
    };
    match serde_json::from_slice(&json) {
        Ok(object) => Some(object),
        Err(error) => {
            tracing::warn!(%namespace, %name, %error, "a cached object could not be decoded");
            None
        }
    }
}

#[cfg(test)]
#[path = "compact_store_tests.rs"]
mod tests;
