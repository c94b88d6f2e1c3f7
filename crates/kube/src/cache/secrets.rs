//! Managed Secrets as the metadata-only, label-filtered watch
//! (`reconcile.external-secrets.io/managed=true`) shows them: identity, `resourceVersion`,
//! controller and `created-by` — never data, labels or annotations beyond that. This is what
//! the writer consults instead of a GET: whether a target exists, whether this ExternalSecret
//! controls it, and whether it is still the version the writer last wrote or verified.
//!
//! Unrelated Secrets never enter: the watch is label-filtered, so memory grows with the targets
//! the operator manages only (a few hundred bytes each).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use secretsync_model::external_secret::labels;
use tokio::sync::watch;

/// `(namespace, name)` of a Secret.
pub type SecretKey = (String, String);

/// The controlling owner of a Secret (`ownerReferences[]` with `controller: true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerRef {
    /// `apiVersion` of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// uid of the owner.
    pub uid: String,
}

impl ControllerRef {
    /// The controlling owner named in `meta`, if any.
    pub fn of(meta: &ObjectMeta) -> Option<ControllerRef> {
        meta.owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| ControllerRef {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
                name: o.name.clone(),
                uid: o.uid.clone(),
            })
    }
}

/// What the cache knows about one managed Secret (metadata only, no values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetMeta {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// The controlling owner, if any.
    pub controller: Option<ControllerRef>,
    /// The `reconcile.external-secrets.io/created-by` label, if any.
    pub created_by: Option<String>,
}

impl TargetMeta {
    /// The cached form of a Secret's metadata.
    pub fn of(secret: &PartialObjectMeta<Secret>) -> TargetMeta {
        TargetMeta {
            uid: secret.metadata.uid.clone().unwrap_or_default(),
            resource_version: secret.metadata.resource_version.clone().unwrap_or_default(),
            controller: ControllerRef::of(&secret.metadata),
            created_by: secret.labels().get(labels::CREATED_BY).cloned(),
        }
    }
}

/// The writer's own knowledge: at `resource_version`, Secret `uid` carried content consistent
/// with `fingerprint` (it wrote it, or read it and recomputed it). As long as the watch shows
/// that same `resourceVersion`, the Secret has not changed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// `metadata.uid` of the verified Secret.
    pub uid: String,
    /// The `resourceVersion` verified.
    pub resource_version: String,
    /// The fingerprint its content matched (secretsync's keyed `secretsync.io/hmac`, or
    /// `eso:<data-hash>` for a Secret ESO wrote).
    pub fingerprint: String,
}

#[derive(Default)]
struct Inner {
    live: HashMap<SecretKey, TargetMeta>,
    /// Filled during a (re-)list, swapped in when it completes.
    building: Option<HashMap<SecretKey, TargetMeta>>,
    /// `created-by` label value → Secrets carrying it (old targets of renamed ExternalSecrets).
    by_creator: HashMap<String, Vec<SecretKey>>,
    verified: HashMap<SecretKey, Verified>,
}

impl Inner {
    fn index(&mut self, key: &SecretKey, meta: &TargetMeta) {
        if let Some(c) = &meta.created_by {
            let keys = self.by_creator.entry(c.clone()).or_default();
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }

    fn unindex(&mut self, key: &SecretKey, meta: &TargetMeta) {
        if let Some(c) = &meta.created_by
            && let Some(keys) = self.by_creator.get_mut(c)
        {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.by_creator.remove(c);
            }
        }
    }

    fn insert(&mut self, key: SecretKey, meta: TargetMeta) {
        if let Some(old) = self.live.remove(&key) {
            self.unindex(&key, &old);
        }
        self.index(&key, &meta);
        self.live.insert(key, meta);
    }

    fn remove(&mut self, key: &SecretKey, uid: Option<&str>) {
        if let Some(old) = self.live.remove(key) {
            self.unindex(key, &old);
        }
        if self
            .verified
            .get(key)
            .is_some_and(|v| uid.is_none_or(|u| u == v.uid))
        {
            self.verified.remove(key);
        }
    }

    fn swap_in(&mut self, listed: HashMap<SecretKey, TargetMeta>) {
        self.live = listed;
        self.by_creator = HashMap::new();
        let entries: Vec<(SecretKey, TargetMeta)> = self
            .live
            .iter()
            .map(|(k, m)| (k.clone(), m.clone()))
            .filter(|(_, m)| m.created_by.is_some())
            .collect();
        for (k, m) in &entries {
            self.index(k, m);
        }
        // A Secret deleted while the watch was down sent no event: forget what was verified
        // about anything the new list does not show as the same object.
        let live = &self.live;
        self.verified
            .retain(|k, v| live.get(k).is_some_and(|m| m.uid == v.uid));
    }
}

/// The managed-Secret cache (see the module docs). Shared by the writer, the reconciler and
/// the watch that fills it.
pub struct ManagedSecrets {
    inner: Mutex<Inner>,
    listed: watch::Sender<bool>,
}

impl Default for ManagedSecrets {
    fn default() -> Self {
        ManagedSecrets {
            inner: Mutex::default(),
            listed: watch::channel(false).0,
        }
    }
}

fn key_of(secret: &PartialObjectMeta<Secret>) -> SecretKey {
    (secret.namespace().unwrap_or_default(), secret.name_any())
}

impl ManagedSecrets {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies one event of the managed-Secret watch.
    pub fn apply(&self, event: &watcher::Event<PartialObjectMeta<Secret>>) {
        let mut inner = self.lock();
        match event {
            watcher::Event::Apply(s) => inner.insert(key_of(s), TargetMeta::of(s)),
            watcher::Event::Delete(s) => inner.remove(&key_of(s), s.metadata.uid.as_deref()),
            watcher::Event::Init => inner.building = Some(HashMap::new()),
            watcher::Event::InitApply(s) => {
                inner
                    .building
                    .get_or_insert_with(HashMap::new)
                    .insert(key_of(s), TargetMeta::of(s));
            }
            watcher::Event::InitDone => {
                let listed = inner.building.take().unwrap_or_default();
                inner.swap_in(listed);
                drop(inner);
                self.listed.send_replace(true);
            }
        }
    }

    /// The managed Secrets as one metadata-only LIST (label `managed=true`, pages of 500)
    /// shows them now, for one-shot runs that have no watch (`secretsync sync`): the writer
    /// then creates absent targets without reading them first. `namespace` narrows the list
    /// (a Secret elsewhere that turns out to exist is found by the create's conflict, as with
    /// a watch that lags).
    pub async fn list_once(
        client: kube::Client,
        namespace: Option<&str>,
    ) -> Result<ManagedSecrets, kube::Error> {
        let api: kube::Api<Secret> = match namespace {
            Some(ns) => kube::Api::namespaced(client, ns),
            None => kube::Api::all(client),
        };
        let cache = ManagedSecrets::default();
        cache.apply(&watcher::Event::Init);
        let mut params = kube::api::ListParams::default()
            .labels(&format!("{}=true", labels::MANAGED))
            .limit(500);
        loop {
            let page = api.list_metadata(&params).await?;
            for secret in &page.items {
                cache.apply(&watcher::Event::InitApply(secret.clone()));
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        cache.apply(&watcher::Event::InitDone);
        Ok(cache)
    }

    /// True once the watch completed its first list: from then on, a Secret absent here is
    /// absent or not managed (as of the watch).
    pub fn is_listed(&self) -> bool {
        *self.listed.borrow()
    }

    /// Resolves once [`ManagedSecrets::is_listed`].
    pub async fn wait_listed(&self) {
        let mut rx = self.listed.subscribe();
        let _ = rx.wait_for(|listed| *listed).await;
    }

    /// The cached metadata of Secret `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<TargetMeta> {
        self.lock()
            .live
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// The Secrets of `namespace` labelled `created-by=<created_by>`, with their metadata.
    pub fn created_by(&self, namespace: &str, created_by: &str) -> Vec<(String, TargetMeta)> {
        let inner = self.lock();
        inner
            .by_creator
            .get(created_by)
            .into_iter()
            .flatten()
            .filter(|(ns, _)| ns == namespace)
            .filter_map(|k| inner.live.get(k).map(|m| (k.1.clone(), m.clone())))
            .collect()
    }

    /// What the writer verified about Secret `namespace/name`, if it still applies: the cache
    /// shows the same object at the same `resourceVersion`.
    pub fn verified_current(&self, namespace: &str, name: &str) -> Option<Verified> {
        let inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let verified = inner.verified.get(&key)?;
        let live = inner.live.get(&key)?;
        (live.uid == verified.uid && live.resource_version == verified.resource_version)
            .then(|| verified.clone())
    }

    /// Records what the writer verified (after a write, or a read whose content matched).
    pub fn verify(&self, namespace: &str, name: &str, verified: Verified) {
        self.lock()
            .verified
            .insert((namespace.to_string(), name.to_string()), verified);
    }

    /// Forgets what was verified about `namespace/name` (it was deleted or is being rewritten).
    pub fn forget(&self, namespace: &str, name: &str) {
        self.lock()
            .verified
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// True when a watch event showing Secret `namespace/name` at `resource_version` is the
    /// echo of the writer's own write (or of a version it verified): nothing to repair.
    pub fn is_verified_version(&self, namespace: &str, name: &str, resource_version: &str) -> bool {
        self.lock()
            .verified
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|v| v.resource_version == resource_version)
    }

    /// Number of cached Secrets.
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// True when no Secret is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
