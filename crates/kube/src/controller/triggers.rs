//! Wiring: watches, trigger mappings and the controller loops.
//!
//! - ExternalSecrets: watch with `managedFields` stripped, held encoded in a
//!   [`CompactStore`] and reconciled by the [`runner`](super::runner); only changes of generation,
//!   labels, annotations, finalizers or deletion trigger a reconcile (our own status writes do not).
//! - Managed Secrets: metadata-only watch filtered by `reconcile.external-secrets.io/managed=true`,
//!   feeding the compact [`ManagedSecrets`](crate::cache::ManagedSecrets) cache; an event
//!   requeues the ExternalSecrets targeting that Secret ([`TargetIndex`](crate::cache::TargetIndex),
//!   drift repair), unless it echoes the writer's own write.
//! - Namespaces (metadata) and the stores' own watches fill the [`Caches`](crate::cache::Caches).
//! - Stores: a spec change (generation) forces a refresh of exactly the ExternalSecrets using it;
//!   a store turning `Ready` requeues them (they may wait at the flood gate), without forcing.
//! - Credential Secrets: metadata-only watch without cache; Secrets a store read (recorded by the
//!   credential resolver) drop the store's cached providers and force a refresh of the
//!   ExternalSecrets using that store.
//!
//! Every watch is tracked by [`InitialLists`]: [`Ready`](crate::Ready) turns true once all
//! listed. Every controller stops on the shutdown token with `graceful_shutdown_on`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt, future::BoxFuture};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, reflector::reflector, watcher};
use kube::{Resource, ResourceExt};
use secretsync_model::StoreId;
use secretsync_model::external_secret::{ExternalSecret, SecretStoreRef, StoreKind, labels};
use secretsync_model::meta::ConditionStatus;
use secretsync_model::secret_store::{ClusterSecretStore, SecretStore, SecretStoreStatus};

use super::{Context, external_secret};
use crate::cache::CacheWriters;
use crate::cache::compact_store::{self, CompactStore};
use crate::lifecycle::{InitialLists, Lifecycle};
use crate::metrics::eso::ObjectKind;

/// The store references an ExternalSecret uses (default store and per-entry stores).
pub(crate) fn store_refs(es: &ExternalSecret) -> Vec<SecretStoreRef> {
    let mut refs: Vec<SecretStoreRef> = es.spec.secret_store_ref.iter().cloned().collect();
    for d in &es.spec.data {
        if let Some(r) = d.source_ref.as_ref().and_then(|s| s.store_ref.clone()) {
            refs.push(r);
        }
    }
    for d in &es.spec.data_from {
        if let Some(r) = d.source_ref.as_ref().and_then(|s| s.store_ref.clone()) {
            refs.push(r);
        }
    }
    refs
}

fn uses_store(es: &ExternalSecret, store: &StoreId) -> bool {
    let ns = es.namespace();
    store_refs(es).iter().any(|r| {
        r.kind == store.kind
            && r.name == store.name
            && (store.kind == StoreKind::ClusterSecretStore || store.namespace == ns)
    })
}

/// What triggers an ExternalSecret's reconcile: its generation, labels, annotations,
/// finalizers, deletion or uid changed (our own status writes change none of them).
fn es_fingerprint(es: &ExternalSecret) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    es.metadata.uid.hash(&mut h);
    es.metadata.generation.hash(&mut h);
    es.labels().hash(&mut h);
    es.annotations().hash(&mut h);
    es.finalizers().hash(&mut h);
    es.metadata.deletion_timestamp.is_some().hash(&mut h);
    h.finish()
}

/// A watch's objects mapped to the ExternalSecrets they concern (watch errors are retried by
/// the watch's backoff and trigger nothing).
fn mapped<K: Send + 'static, I>(
    stream: impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    mapper: impl Fn(K) -> I + Send + 'static,
) -> BoxStream<'static, ObjectRef<ExternalSecret>>
where
    I: IntoIterator<Item = ObjectRef<ExternalSecret>>,
    I::IntoIter: Send + 'static,
{
    stream
        .filter_map(|object| futures::future::ready(object.ok()))
        .flat_map(move |object| futures::stream::iter(mapper(object)))
        .boxed()
}

/// Maps store changes to the ExternalSecrets using them; a spec change forces their refresh.
struct StoreMapper {
    ctx: Arc<Context>,
    cache: CompactStore<ExternalSecret>,
    generations: Mutex<HashMap<StoreId, Option<i64>>>,
    readiness: Mutex<HashMap<StoreId, bool>>,
}

fn store_ready(status: Option<&SecretStoreStatus>) -> bool {
    status
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == ConditionStatus::True)
}

impl StoreMapper {
    fn map(
        &self,
        id: StoreId,
        generation: Option<i64>,
        ready: bool,
    ) -> Vec<ObjectRef<ExternalSecret>> {
        let changed = {
            let mut g = self
                .generations
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // The first sight of a store (the watch's initial list, e.g. after a restart) is
            // the baseline, not a change: otherwise every restart would refresh everything.
            matches!(g.insert(id.clone(), generation), Some(previous) if previous != generation)
        };
        let became_ready = {
            let mut r = self
                .readiness
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            r.insert(id.clone(), ready) == Some(false) && ready
        };
        if changed {
            return self.users(&[id]);
        }
        if became_ready {
            // Not forced: those held by the flood gate are due anyway.
            return self
                .cache
                .all()
                .iter()
                .filter(|es| uses_store(es, &id))
                .map(|es| ObjectRef::from_obj(es.as_ref()))
                .collect();
        }
        Vec::new()
    }

    /// Forgets store `id`, which was deleted: this mapper's baseline and readiness (the store
    /// controller's cache drops the rest, [`Context::store_deleted`]).
    fn forget(&self, id: &StoreId) {
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        self.readiness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    fn users(&self, stores: &[StoreId]) -> Vec<ObjectRef<ExternalSecret>> {
        self.cache
            .all()
            .iter()
            .filter(|es| stores.iter().any(|s| uses_store(es, s)))
            .map(|es| {
                self.ctx.force_refresh(external_secret::key_of(es));
                ObjectRef::from_obj(es.as_ref())
            })
            .collect()
    }
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs every enabled controller until `lifecycle.shutdown` is cancelled and the reconciles in
/// flight have finished (or the returned future is dropped); sets `lifecycle.ready` once every
/// watch has listed.
pub(crate) fn run_all(
    ctx: Arc<Context>,
    caches: CacheWriters,
    lifecycle: Lifecycle,
) -> BoxFuture<'static, ()> {
    let client = ctx.client.clone();
    let ns = ctx.config.namespace.clone();
    let shutdown = lifecycle.shutdown.clone();
    let mut lists = InitialLists::default();

    // ExternalSecrets: held compressed (`CompactStore`), decoded when reconciled.
    let cache = CompactStore::primed_with(&compact_store::typical_external_secret());
    let alive = cache.clone();
    ctx.metrics.track_liveness(move |(kind, namespace, name)| {
        (*kind == ObjectKind::ExternalSecret).then(|| alive.contains(namespace, name))
    });
    let by_target = ctx.caches.by_target.clone();
    let writer = cache.clone();
    let es_events = lists
        .watch(
            watcher(
                scoped::<ExternalSecret>(&client, ns.as_deref()),
                watcher::Config::default(),
            )
            .default_backoff()
            .modify(|es: &mut ExternalSecret| {
                es.managed_fields_mut().clear();
            })
            .inspect_ok(move |event| {
                by_target.apply(event);
                writer.apply(event);
            }),
        )
        .filter_map(|event| futures::future::ready(event.ok()));

    // Managed Secrets: the metadata cache the writer reads, and drift triggers. An event that
    // only echoes the writer's own write (the version it recorded) triggers nothing.
    let targets = ctx.caches.targets.clone();
    let secrets = lists
        .watch(
            watcher(
                scoped::<PartialObjectMeta<Secret>>(&client, ns.as_deref()),
                watcher::Config::default().labels(&format!("{}=true", labels::MANAGED)),
            )
            .default_backoff()
            .inspect_ok(move |event| targets.apply(event)),
        )
        .touched_objects();
    let secret_caches = ctx.caches.clone();
    let secret_mapper = move |secret: PartialObjectMeta<Secret>| {
        let sns = secret.namespace().unwrap_or_default();
        let sname = secret.name_any();
        let rv = secret
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or_default();
        if secret_caches.targets.is_verified_version(&sns, &sname, rv) {
            return Vec::new();
        }
        secret_caches.by_target.targeting(&sns, &sname)
    };

    let mapper = Arc::new(StoreMapper {
        ctx: ctx.clone(),
        cache: cache.clone(),
        generations: Mutex::default(),
        readiness: Mutex::default(),
    });
    let m1 = mapper.clone();
    let deleted = mapper.clone();
    // A deleted store triggers nothing (its users fail at their next sync, as in ESO) and
    // leaves nothing behind; the mapper never sees it, so it cannot record it again.
    let store_events = lists
        .watch(
            watcher(
                scoped::<SecretStore>(&client, ns.as_deref()),
                watcher::Config::default(),
            )
            .default_backoff()
            .inspect_ok(move |event| {
                if let watcher::Event::Delete(s) = event {
                    deleted.forget(&StoreId {
                        kind: StoreKind::SecretStore,
                        namespace: s.namespace(),
                        name: s.name_any(),
                    });
                }
            }),
        )
        .applied_objects();
    let mut triggers = vec![
        mapped(secrets, secret_mapper),
        mapped(store_events, move |s: SecretStore| {
            let id = StoreId {
                kind: StoreKind::SecretStore,
                namespace: s.namespace(),
                name: s.name_any(),
            };
            m1.map(id, s.metadata.generation, store_ready(s.status.as_ref()))
        }),
    ];
    if ctx.config.cluster_stores {
        let m2 = mapper.clone();
        let deleted = mapper.clone();
        let cluster_store_events = lists
            .watch(
                watcher(
                    Api::<ClusterSecretStore>::all(client.clone()),
                    watcher::Config::default(),
                )
                .default_backoff()
                .inspect_ok(move |event| {
                    if let watcher::Event::Delete(s) = event {
                        deleted.forget(&StoreId {
                            kind: StoreKind::ClusterSecretStore,
                            namespace: None,
                            name: s.name_any(),
                        });
                    }
                }),
            )
            .applied_objects();
        triggers.push(mapped(
            cluster_store_events,
            move |s: ClusterSecretStore| {
                let id = StoreId {
                    kind: StoreKind::ClusterSecretStore,
                    namespace: None,
                    name: s.name_any(),
                };
                m2.map(id, s.metadata.generation, store_ready(s.status.as_ref()))
            },
        ));
    }
    if ctx.config.watch_credential_secrets {
        let m3 = mapper.clone();
        let index = ctx.index.clone();
        let providers_ctx = ctx.clone();
        let credential_secrets = lists
            .watch(
                watcher(
                    scoped::<PartialObjectMeta<Secret>>(&client, ns.as_deref()),
                    watcher::Config::default(),
                )
                .default_backoff(),
            )
            .touched_objects();
        triggers.push(mapped(
            credential_secrets,
            move |s: PartialObjectMeta<Secret>| {
                let stores = index.changed(
                    &s.namespace().unwrap_or_default(),
                    &s.name_any(),
                    s.metadata.resource_version.as_deref(),
                );
                if stores.is_empty() {
                    Vec::new()
                } else {
                    // The cached providers hold sessions made with the old credential: the
                    // forced refreshes (and the next PushSecret reconciles) build new ones.
                    for store in &stores {
                        providers_ctx.providers().forget_store(store);
                    }
                    m3.users(&stores)
                }
            },
        ));
    }
    // The reconcile concurrency is bounded by the SyncGate (first syncs before refreshes), so
    // due reconciles wait there; the runner caps how many it holds in flight.
    let es_ctx = ctx.clone();
    let es_loop = super::runner::run(
        cache,
        es_events,
        futures::stream::select_all(triggers),
        es_fingerprint,
        usize::from(ctx.config.in_flight()),
        shutdown.clone(),
        move |es: Arc<ExternalSecret>, observed| {
            let ctx = es_ctx.clone();
            async move {
                match external_secret::reconcile(es.clone(), ctx.clone(), observed).await {
                    Ok(action) => action,
                    Err(error) => external_secret::error_policy(es, &error, ctx),
                }
            }
        },
    );

    let slots = ctx.config.concurrency.max(1);
    let runtime = &ctx.metrics.runtime;
    runtime.start_controller("externalsecret", slots);
    runtime.start_controller("secretstore", slots);
    let mut loops: Vec<BoxFuture<'static, ()>> = vec![es_loop.boxed()];
    let CacheWriters {
        secret_stores,
        cluster_stores,
        namespaces,
    } = caches;
    loops.push(super::store::run_secret_stores(
        ctx.clone(),
        &mut lists,
        shutdown.clone(),
        secret_stores,
    ));
    if ctx.config.cluster_stores {
        runtime.start_controller("clustersecretstore", slots);
        loops.push(super::store::run_cluster_secret_stores(
            ctx.clone(),
            &mut lists,
            shutdown.clone(),
            cluster_stores,
        ));
        // Namespace labels for ClusterSecretStore conditions (metadata only).
        loops.push(
            lists
                .watch(reflector(
                    namespaces,
                    watcher(
                        Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
                        watcher::Config::default(),
                    )
                    .default_backoff()
                    .modify(|ns| ns.managed_fields_mut().clear()),
                ))
                .take_until(shutdown.clone().cancelled_owned())
                .for_each(|_| futures::future::ready(()))
                .boxed(),
        );
    }
    if ctx.config.cluster_external_secrets {
        runtime.start_controller("clusterexternalsecret", slots);
        loops.push(super::cluster_external_secret::run(
            ctx.clone(),
            &mut lists,
            shutdown.clone(),
        ));
    }
    if ctx.config.push_secrets {
        runtime.start_controller("pushsecret", slots);
        loops.push(super::push_secret::run(
            ctx.clone(),
            &mut lists,
            shutdown.clone(),
        ));
        if ctx.config.cluster_external_secrets {
            runtime.start_controller("clusterpushsecret", slots);
            loops.push(super::cluster_push_secret::run(
                ctx.clone(),
                &mut lists,
                shutdown.clone(),
            ));
        }
    }
    tracing::debug!(watches = lists.len(), "controllers starting");
    let controllers = futures::future::join_all(loops).map(|_| ());
    // The readiness future never resolves on its own after setting `ready`, so `select` ends
    // exactly when the controllers do.
    let readiness = lists
        .into_future(lifecycle.ready.clone())
        .then(|()| futures::future::pending::<()>());
    futures::future::select(controllers.boxed(), readiness.boxed())
        .map(|_| ())
        .boxed()
}
