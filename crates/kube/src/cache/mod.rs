//! Watch-backed caches the ExternalSecret reconcile reads instead of the API server.
//!
//! | cache | watch | holds |
//! |---|---|---|
//! | SecretStores, ClusterSecretStores | the store controllers' own watches | whole objects (few, small) |
//! | Namespaces | metadata only (ClusterSecretStore `conditions` need labels) | metadata |
//! | managed Secrets ([`ManagedSecrets`]) | metadata only, `reconcile.external-secrets.io/managed=true` | uid, resourceVersion, controller, created-by |
//! | [`TargetIndex`] | the ExternalSecret watch | ExternalSecrets by target |
//!
//! No cache holds a value: credential Secrets and ConfigMaps are read when a provider is built
//! (their metadata-only watch only tells which changed), target Secrets only when their content
//! must be compared (a drift repair, a changed value), and nothing read is kept past the sync.
//! Every lookup says whether the cache could answer: a watch that has not listed yet (a missing
//! CRD, RBAC denying a cluster-scoped list) makes the caller fall back to a GET.

mod compact_id;
pub mod compact_store;
pub mod ns_map;
pub mod secrets;
pub mod targets;

use std::sync::Arc;

use futures::FutureExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{self, ObjectRef, Store};
use secretsync_model::secret_store::{ClusterSecretStore, SecretStore};

pub use secrets::{ControllerRef, ManagedSecrets, TargetMeta, Verified};
pub use targets::TargetIndex;

/// What a cache says about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// Cached.
    Found(T),
    /// Not there, and the watch has listed: the object does not exist (as of the watch).
    Absent,
    /// The watch has not listed (yet): ask the API server.
    Unknown,
}

/// Whether the watch filling `store` has listed (its contents are the cluster's, as of the watch).
pub(crate) fn listed<K>(store: &Store<K>) -> bool
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .wait_until_ready()
        .now_or_never()
        .is_some_and(|r| r.is_ok())
}

fn lookup<K>(store: &Store<K>, object: &ObjectRef<K>) -> Lookup<Arc<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    match store.get(object) {
        Some(found) => Lookup::Found(found),
        None if listed(store) => Lookup::Absent,
        None => Lookup::Unknown,
    }
}

/// Read handles of the caches; clones share them.
#[derive(Clone)]
pub struct Caches {
    secret_stores: Store<SecretStore>,
    cluster_stores: Store<ClusterSecretStore>,
    namespaces: Store<PartialObjectMeta<Namespace>>,
    /// Managed target Secrets (metadata).
    pub targets: Arc<ManagedSecrets>,
    /// ExternalSecrets by target.
    pub by_target: Arc<TargetIndex>,
}

/// The write halves, consumed by the watches that fill the caches.
pub(crate) struct CacheWriters {
    pub(crate) secret_stores: Writer<SecretStore>,
    pub(crate) cluster_stores: Writer<ClusterSecretStore>,
    pub(crate) namespaces: Writer<PartialObjectMeta<Namespace>>,
}

impl Caches {
    /// Empty caches and their write halves.
    pub(crate) fn new() -> (Caches, CacheWriters) {
        let (secret_stores, secret_stores_writer) = reflector::store();
        let (cluster_stores, cluster_stores_writer) = reflector::store();
        let (namespaces, namespaces_writer) = reflector::store();
        (
            Caches {
                secret_stores,
                cluster_stores,
                namespaces,
                targets: Arc::default(),
                by_target: Arc::default(),
            },
            CacheWriters {
                secret_stores: secret_stores_writer,
                cluster_stores: cluster_stores_writer,
                namespaces: namespaces_writer,
            },
        )
    }

    /// SecretStore `namespace/name`.
    pub fn secret_store(&self, namespace: &str, name: &str) -> Lookup<Arc<SecretStore>> {
        lookup(&self.secret_stores, &ObjectRef::new(name).within(namespace))
    }

    /// ClusterSecretStore `name`.
    pub fn cluster_store(&self, name: &str) -> Lookup<Arc<ClusterSecretStore>> {
        lookup(&self.cluster_stores, &ObjectRef::new(name))
    }

    /// Namespace `name` (metadata).
    pub fn namespace(&self, name: &str) -> Lookup<Arc<PartialObjectMeta<Namespace>>> {
        lookup(&self.namespaces, &ObjectRef::new(name))
    }

    /// The SecretStore cache (the SecretStore controller's own).
    pub(crate) fn secret_store_reader(&self) -> Store<SecretStore> {
        self.secret_stores.clone()
    }

    /// The ClusterSecretStore cache (the ClusterSecretStore controller's own).
    pub(crate) fn cluster_store_reader(&self) -> Store<ClusterSecretStore> {
        self.cluster_stores.clone()
    }
}
