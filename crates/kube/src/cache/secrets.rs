//! Managed Secrets as the metadata-only, label-filtered watch
//! (`reconcile.external-secrets.io/managed=true`) shows them: identity, `resourceVersion`,
//! controller and `created-by` — never data, labels or annotations beyond that. This is what
//! the writer consults instead of a GET: whether a target exists, whether this ExternalSecret
//! controls it, and whether it is still the version the writer last wrote or verified.
//!
//! Unrelated Secrets never enter: the watch is label-filtered, so memory grows with the targets
//! the operator manages only. Each is held compactly (uids and versions as [`CompactId`]s, owner
//! `apiVersion`s and kinds shared, names in an [`NsMap`], a `created-by` label that names the
//! ExternalSecret of the Secret's own name as a flag): about 300 bytes with what the writer
//! verified, and expanded into a [`TargetMeta`] only when read.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use secretsync_engine::refresh;
use secretsync_model::external_secret::labels;
use tokio::sync::watch;

use super::compact_id::CompactId;
use super::ns_map::NsMap;

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
        controlling_owner(meta).map(|o| ControllerRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
        })
    }
}

/// The owner reference of `meta` with `controller: true`, if any.
fn controlling_owner(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// What the cache knows about one managed Secret (metadata only, no values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetMeta {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// The controlling owner, if any. (The `created-by` label is answered by
    /// [`ManagedSecrets::created_for`].)
    pub controller: Option<ControllerRef>,
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

/// The controlling owner as the cache holds it: `apiVersion` and kind shared by every Secret
/// with the same kind of owner, the uid compact.
#[derive(Debug)]
struct HeldController {
    api_version: Arc<str>,
    kind: Arc<str>,
    name: Box<str>,
    uid: CompactId,
}

/// A Secret's `created-by` label as the cache holds it.
#[derive(Debug, PartialEq, Eq)]
enum CreatedBy {
    /// No label.
    Absent,
    /// The value an ExternalSecret of the Secret's own name writes (the usual case: nothing is
    /// held, and the `created-by` index does not list it).
    OwnName,
    /// Any other value (the target of an ExternalSecret of another name), indexed.
    Other(Box<str>),
}

/// A live Secret's metadata as the cache holds it (about 100 bytes instead of 400).
#[derive(Debug)]
struct HeldMeta {
    uid: CompactId,
    resource_version: CompactId,
    controller: Option<Box<HeldController>>,
    created_by: CreatedBy,
}

impl HeldMeta {
    fn expand(&self) -> TargetMeta {
        TargetMeta {
            uid: self.uid.to_string(),
            resource_version: self.resource_version.to_string(),
            controller: self.controller.as_ref().map(|c| ControllerRef {
                api_version: c.api_version.to_string(),
                kind: c.kind.to_string(),
                name: c.name.to_string(),
                uid: c.uid.to_string(),
            }),
        }
    }
}

/// A [`Verified`] as the cache holds it.
#[derive(Debug)]
struct HeldVerified {
    uid: CompactId,
    resource_version: CompactId,
    fingerprint: Box<str>,
}

impl HeldVerified {
    fn expand(&self) -> Verified {
        Verified {
            uid: self.uid.to_string(),
            resource_version: self.resource_version.to_string(),
            fingerprint: self.fingerprint.to_string(),
        }
    }
}

/// Strings many Secrets share (owner `apiVersion`s and kinds), held once. Strings no Secret
/// holds any more are swept whenever the set has doubled since the last sweep, so owner kinds
/// that come and go cannot grow it without bound.
#[derive(Default)]
struct Interner {
    held: HashSet<Arc<str>>,
    sweep_above: usize,
}

impl Interner {
    /// Fewest strings held before a sweep is considered.
    const MIN_SWEEP: usize = 64;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(held) = self.held.get(s) {
            return held.clone();
        }
        if self.held.len() >= self.sweep_above.max(Self::MIN_SWEEP) {
            self.sweep();
        }
        let held: Arc<str> = s.into();
        self.held.insert(held.clone());
        held
    }

    /// Drops the strings no Secret holds any more.
    fn sweep(&mut self) {
        self.held.retain(|s| Arc::strong_count(s) > 1);
        self.sweep_above = 2 * self.held.len();
    }
}

#[derive(Default)]
struct Inner {
    live: NsMap<HeldMeta>,
    /// Filled during a (re-)list, swapped in when it completes.
    building: Option<NsMap<HeldMeta>>,
    /// `(namespace, created-by label value)` → names of the Secrets carrying it (old targets
    /// of renamed ExternalSecrets).
    by_creator: NsMap<Vec<Box<str>>>,
    verified: NsMap<HeldVerified>,
    shared: Interner,
}

impl Inner {
    fn hold(&mut self, ns: &str, name: &str, secret: &PartialObjectMeta<Secret>) -> HeldMeta {
        let meta = &secret.metadata;
        HeldMeta {
            uid: CompactId::new(meta.uid.as_deref().unwrap_or_default()),
            resource_version: CompactId::new(meta.resource_version.as_deref().unwrap_or_default()),
            controller: controlling_owner(meta).map(|o| {
                Box::new(HeldController {
                    api_version: self.shared.get(&o.api_version),
                    kind: self.shared.get(&o.kind),
                    name: o.name.as_str().into(),
                    uid: CompactId::new(&o.uid),
                })
            }),
            created_by: match secret.labels().get(labels::CREATED_BY) {
                None => CreatedBy::Absent,
                Some(value) if *value == refresh::created_by(ns, name) => CreatedBy::OwnName,
                Some(value) => CreatedBy::Other(value.as_str().into()),
            },
        }
    }

    fn index(&mut self, ns: &str, name: &str, meta: &HeldMeta) {
        if let CreatedBy::Other(c) = &meta.created_by {
            let names = self.by_creator.get_or_insert_with(ns, c, Vec::new);
            if !names.iter().any(|n| **n == *name) {
                names.push(name.into());
            }
        }
    }

    fn unindex(&mut self, ns: &str, name: &str, meta: &HeldMeta) {
        if let CreatedBy::Other(c) = &meta.created_by
            && let Some(names) = self.by_creator.get_mut(ns, c)
        {
            names.retain(|n| **n != *name);
            if names.is_empty() {
                self.by_creator.remove(ns, c);
            }
        }
    }

    fn insert(&mut self, secret: &PartialObjectMeta<Secret>) {
        let (ns, name) = key_of(secret);
        let meta = self.hold(&ns, &name, secret);
        if let Some(old) = self.live.remove(&ns, &name) {
            self.unindex(&ns, &name, &old);
        }
        self.index(&ns, &name, &meta);
        self.live.insert(&ns, &name, meta);
    }

    fn remove(&mut self, secret: &PartialObjectMeta<Secret>) {
        let (ns, name) = key_of(secret);
        if let Some(old) = self.live.remove(&ns, &name) {
            self.unindex(&ns, &name, &old);
        }
        let uid = secret.metadata.uid.as_deref();
        if self
            .verified
            .get(&ns, &name)
            .is_some_and(|v| uid.is_none_or(|u| v.uid.is(u)))
        {
            self.verified.remove(&ns, &name);
        }
    }

    fn swap_in(&mut self, listed: NsMap<HeldMeta>) {
        self.live = listed;
        let mut by_creator = NsMap::<Vec<Box<str>>>::default();
        for (ns, name, meta) in self.live.iter() {
            if let CreatedBy::Other(c) = &meta.created_by {
                by_creator
                    .get_or_insert_with(ns, c, Vec::new)
                    .push(name.into());
            }
        }
        self.by_creator = by_creator;
        // A Secret deleted while the watch was down sent no event: forget what was verified
        // about anything the new list does not show as the same object.
        let live = &self.live;
        self.verified
            .retain(|ns, name, v| live.get(ns, name).is_some_and(|m| m.uid == v.uid));
        self.shared.sweep();
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
            watcher::Event::Apply(s) => inner.insert(s),
            watcher::Event::Delete(s) => inner.remove(s),
            watcher::Event::Init => inner.building = Some(NsMap::default()),
            watcher::Event::InitApply(s) => {
                let (ns, name) = key_of(s);
                let meta = inner.hold(&ns, &name, s);
                inner
                    .building
                    .get_or_insert_with(NsMap::default)
                    .insert(&ns, &name, meta);
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
        self.lock().live.get(namespace, name).map(HeldMeta::expand)
    }

    /// The Secrets of `namespace` labelled as created by ExternalSecret `external_secret`
    /// (`created-by=<`[`refresh::created_by`]`>`), with their metadata: the one of its own name
    /// and those the index lists under other names.
    pub fn created_for(&self, namespace: &str, external_secret: &str) -> Vec<(String, TargetMeta)> {
        let inner = self.lock();
        let creator = refresh::created_by(namespace, external_secret);
        let own = inner
            .live
            .get(namespace, external_secret)
            .filter(|meta| meta.created_by == CreatedBy::OwnName)
            .map(|_| external_secret);
        let others = inner
            .by_creator
            .get(namespace, &creator)
            .into_iter()
            .flatten();
        own.into_iter()
            .chain(others.map(|name| &**name))
            .filter_map(|name| {
                let meta = inner.live.get(namespace, name)?;
                Some((name.to_string(), meta.expand()))
            })
            .collect()
    }

    /// What the writer verified about Secret `namespace/name`, if it still applies: the cache
    /// shows the same object at the same `resourceVersion`.
    pub fn verified_current(&self, namespace: &str, name: &str) -> Option<Verified> {
        let inner = self.lock();
        let verified = inner.verified.get(namespace, name)?;
        let live = inner.live.get(namespace, name)?;
        (live.uid == verified.uid && live.resource_version == verified.resource_version)
            .then(|| verified.expand())
    }

    /// Records what the writer verified (after a write, or a read whose content matched).
    pub fn verify(&self, namespace: &str, name: &str, verified: Verified) {
        let held = HeldVerified {
            uid: CompactId::new(&verified.uid),
            resource_version: CompactId::new(&verified.resource_version),
            fingerprint: verified.fingerprint.into(),
        };
        self.lock().verified.insert(namespace, name, held);
    }

    /// Forgets what was verified about `namespace/name` (it was deleted or is being rewritten).
    pub fn forget(&self, namespace: &str, name: &str) {
        self.lock().verified.remove(namespace, name);
    }

    /// True when a watch event showing Secret `namespace/name` at `resource_version` is the
    /// echo of the writer's own write (or of a version it verified): nothing to repair.
    pub fn is_verified_version(&self, namespace: &str, name: &str, resource_version: &str) -> bool {
        self.lock()
            .verified
            .get(namespace, name)
            .is_some_and(|v| v.resource_version.is(resource_version))
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
