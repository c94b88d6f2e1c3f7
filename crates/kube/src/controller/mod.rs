//! The controllers: ExternalSecret, SecretStore / ClusterSecretStore, ClusterExternalSecret.

pub mod cluster_external_secret;
pub mod cluster_push_secret;
pub mod decide;
pub mod external_secret;
mod fan_out;
mod leases;
mod own_writes;
pub mod priority;
pub mod push_secret;
mod render_cache;
pub mod runner;
pub mod store;
mod triggers;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use secretsync_engine::fetch::{FetchConfig, FetchLayer};
use secretsync_engine::{DesiredSecret, SyncEnvironment, SyncOutcome};
use secretsync_model::StoreId;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::provider::ProviderFactory;

use crate::cache::Caches;
use crate::config::Config;
use crate::credentials::CredentialIndex;
use crate::environment::KubeEnvironment;
use crate::metrics::{Metrics, eso};
use crate::writer::{WriteError, Writer};

pub(crate) use triggers::run_all;

/// Lets the metrics drop the series of `kind` objects that are no longer in `reader`
/// (deleted objects trigger no reconcile, so their series would otherwise go stale).
pub(crate) fn track_liveness<K>(
    ctx: &Context,
    kind: crate::metrics::eso::ObjectKind,
    reader: kube::runtime::reflector::Store<K>,
) where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    ctx.metrics.track_liveness(move |(k, ns, name)| {
        if *k != kind {
            return None;
        }
        let mut object = kube::runtime::reflector::ObjectRef::<K>::new(name);
        if !ns.is_empty() {
            object = object.within(ns);
        }
        Some(reader.get(&object).is_some())
    });
}

/// What the controller needs from the sync engine. Implemented for
/// `secretsync_engine::Engine`; tests may substitute their own.
#[async_trait]
pub trait SecretSyncer: Send + Sync {
    /// Fetches and renders one ExternalSecret.
    async fn sync(&self, es: &ExternalSecret, env: &dyn SyncEnvironment) -> SyncOutcome;

    /// [`SecretSyncer::sync`] served by any provider read started at or after `since` (a
    /// periodic refresh since it fell due, a first sync since its spec was first seen:
    /// [`decide::reads_fresh_since`]; [`secretsync_engine::Engine::sync_fresh_since`]).
    /// Default: a plain sync.
    async fn sync_fresh_since(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        since: std::time::SystemTime,
    ) -> SyncOutcome {
        let _ = since;
        self.sync(es, env).await
    }

    /// The provider cache the syncer reads through, shared with the PushSecret controller so
    /// one store and namespace cost one provider (one login) for reads and writes alike.
    /// `None`: the controllers keep a cache of their own, built from the factory.
    fn providers(&self) -> Option<&FetchLayer> {
        None
    }

    /// Renews or cleans up a generator state a sync produced
    /// ([`secretsync_engine::Engine::generated_state`]). Default: unsupported.
    async fn generated_state(
        &self,
        operation: secretsync_engine::StateOperation,
        namespace: &str,
        kept: &secretsync_engine::GeneratedState,
        env: &dyn SyncEnvironment,
    ) -> Result<Option<serde_json::Value>, secretsync_model::ProviderError> {
        let _ = (operation, namespace, kept, env);
        Err(secretsync_model::ProviderError::Unsupported(
            "this syncer keeps no generator state".into(),
        ))
    }

    /// Runs the generator `reference` names from `namespace` once, for a PushSecret's
    /// `selector.generatorRef` ([`secretsync_engine::Engine::run_generator`]); a state the
    /// generator returns is not kept (a lease then ends at its TTL). Errors never hold values.
    /// Default: unsupported.
    async fn generate(
        &self,
        namespace: &str,
        reference: &secretsync_model::external_secret::GeneratorRef,
        env: &dyn SyncEnvironment,
    ) -> Result<secretsync_model::SecretData, String> {
        let _ = (namespace, reference, env);
        Err("this syncer runs no generators".into())
    }
}

/// Errors that end a reconcile early (API failures); retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A Kubernetes API call failed (the API server's text is sanitized).
    #[error("kubernetes API: {}", crate::sanitize::api_error(.0))]
    Kube(#[from] kube::Error),
    /// Writing the target Secret failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A generator's lease could not be released yet (deletion waits for it).
    #[error("{0}")]
    Lease(String),
}

impl ReconcileError {
    /// Short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) => "KubeApi",
            ReconcileError::Write(_) => "WriteFailed",
            ReconcileError::Lease(_) => "LeaseRevocationFailed",
        }
    }
}

use render_cache::{CachedRender, Key, RenderCache};

/// State shared by the reconcilers.
pub struct Context {
    pub(crate) client: kube::Client,
    pub(crate) config: Config,
    pub(crate) syncer: Arc<dyn SecretSyncer>,
    pub(crate) environment: KubeEnvironment,
    pub(crate) writer: Writer,
    pub(crate) metrics: Metrics,
    pub(crate) index: Arc<CredentialIndex>,
    pub(crate) caches: Caches,
    pub(crate) gate: priority::SyncGate,
    /// Cancelled on graceful shutdown: reconciles still waiting for a gate slot give up.
    pub(crate) shutdown: crate::lifecycle::CancellationToken,
    recorder: crate::events::EventRecorder,
    /// The budget of routine events.
    pub(crate) routine_events: crate::events::RoutineEvents,
    renders: Mutex<RenderCache>,
    failures: Mutex<HashMap<Key, u32>>,
    forced: Mutex<HashSet<Key>>,
    /// Versions our own status writes replaced (see [`own_writes`]).
    pub(crate) status_writes: own_writes::OwnStatusWrites,
    warm: tokio::sync::OnceCell<()>,
    /// Parsed `template.data` of PushSecrets.
    push_templates: secretsync_engine::templates::TemplateCache,
    /// Providers for PushSecrets when the syncer shares none ([`SecretSyncer::providers`]).
    own_providers: FetchLayer,
    /// The last push of each PushSecret with a generated source (keeps the value stable).
    pub(crate) generated_pushes: push_secret::GeneratedPushes,
}

impl Context {
    /// Builds the shared state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: kube::Client,
        config: Config,
        syncer: Arc<dyn SecretSyncer>,
        factory: Arc<dyn ProviderFactory>,
        writer: Writer,
        metrics: Metrics,
        shutdown: crate::lifecycle::CancellationToken,
        caches: Caches,
    ) -> Self {
        let index = Arc::new(CredentialIndex::default());
        let environment = KubeEnvironment::new(
            client.clone(),
            config.controller_class.clone(),
            index.clone(),
        )
        .with_flood_gate(config.flood_gate)
        .with_caches(caches.clone());
        let gate = priority::SyncGate::new(usize::from(config.concurrency.max(1)));
        let renders = Mutex::new(RenderCache::new(config.render_cache_capacity));
        let recorder = crate::events::EventRecorder::new(client.clone(), "external-secrets");
        let routine_events = crate::events::RoutineEvents::new(
            config.routine_events_per_second,
            config.routine_event_burst,
        );
        let own_providers = FetchLayer::new(factory, FetchConfig::default());
        Context {
            client,
            config,
            syncer,
            environment,
            writer,
            metrics,
            index,
            caches,
            gate,
            shutdown,
            recorder,
            routine_events,
            renders,
            failures: Mutex::default(),
            forced: Mutex::default(),
            status_writes: own_writes::OwnStatusWrites::default(),
            warm: tokio::sync::OnceCell::new(),
            push_templates: secretsync_engine::templates::TemplateCache::new(
                Default::default(),
                256,
            ),
            own_providers,
            generated_pushes: push_secret::GeneratedPushes::default(),
        }
    }

    /// The provider cache of PushSecrets: the syncer's, else the controllers' own.
    pub(crate) fn providers(&self) -> &FetchLayer {
        self.syncer.providers().unwrap_or(&self.own_providers)
    }

    /// Forgets everything kept for store `id`, which was deleted: its providers (sessions
    /// revoked), build locks, batch slots, credential uses, validation failures and metric
    /// series. A tenant creating and deleting stores leaves nothing behind.
    pub(crate) fn store_deleted(&self, id: &StoreId) {
        if let Some(providers) = self.syncer.providers() {
            providers.remove_store(id);
        }
        self.own_providers.remove_store(id);
        self.index.forget_store(id);
        self.clear_failures(&store::failure_key(id));
        self.metrics.forget(
            eso::ObjectKind::from(id.kind),
            id.namespace.as_deref().unwrap_or_default(),
            &id.name,
        );
    }

    /// Closes the providers of the controllers' own cache (the syncer closes its own).
    pub(crate) async fn close_own_providers(&self) {
        self.own_providers.close_all().await;
    }

    /// Resolves once the managed-Secret cache has listed (before that, an absent target cannot
    /// be told from an unlisted one and every write would read first). The store and namespace
    /// caches are not waited for: until they list, lookups fall back to the API server.
    pub(crate) async fn caches_ready(&self) {
        self.warm
            .get_or_init(|| self.caches.targets.wait_listed())
            .await;
    }

    /// True when the flood gate is on and a store `es` uses is cached but not validated yet
    /// ([`crate::environment::awaiting_validation`]), or its cache has not listed yet (at
    /// start-up the ExternalSecret watch may list before the store watches): the reconcile
    /// waits quietly instead of reporting a refusal that the store controller is about to lift.
    /// A ClusterSecretStore counts as unlisted only when its watch runs (`cluster_stores`).
    pub(crate) fn store_awaiting_validation(&self, es: &ExternalSecret) -> bool {
        use crate::cache::Lookup;
        use crate::environment::awaiting_validation;
        use secretsync_model::external_secret::StoreKind;
        if !self.config.flood_gate {
            return false;
        }
        let ns = es.namespace().unwrap_or_default();
        triggers::store_refs(es).iter().any(|r| match r.kind {
            StoreKind::SecretStore => match self.caches.secret_store(&ns, &r.name) {
                Lookup::Found(s) => awaiting_validation(s.status.as_ref()),
                Lookup::Unknown => true,
                Lookup::Absent => false,
            },
            StoreKind::ClusterSecretStore => match self.caches.cluster_store(&r.name) {
                Lookup::Found(s) => awaiting_validation(s.status.as_ref()),
                Lookup::Unknown => self.config.cluster_stores,
                Lookup::Absent => false,
            },
        })
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn note_failure(&self, key: &Key) -> u32 {
        let mut f = Self::lock(&self.failures);
        let n = f.entry(key.clone()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    /// Consecutive failures of `key` so far (0 once it succeeded).
    pub(crate) fn failure_count(&self, key: &Key) -> u32 {
        Self::lock(&self.failures).get(key).copied().unwrap_or(0)
    }

    pub(crate) fn is_failing(&self, key: &Key) -> bool {
        Self::lock(&self.failures).contains_key(key)
    }

    pub(crate) fn clear_failures(&self, key: &Key) {
        Self::lock(&self.failures).remove(key);
    }

    pub(crate) fn force_refresh(&self, key: Key) {
        Self::lock(&self.forced).insert(key);
    }

    pub(crate) fn take_forced(&self, key: &Key) -> bool {
        Self::lock(&self.forced).remove(key)
    }

    pub(crate) fn cached(
        &self,
        key: &Key,
        es: &ExternalSecret,
        synced_version: &str,
    ) -> Option<DesiredSecret> {
        Self::lock(&self.renders).get(key, es.metadata.uid.as_deref(), synced_version)
    }

    pub(crate) fn remember(
        &self,
        key: &Key,
        es: &ExternalSecret,
        synced_version: &str,
        desired: &DesiredSecret,
    ) {
        Self::lock(&self.renders).insert(
            key.clone(),
            CachedRender {
                uid: es.metadata.uid.clone(),
                synced_version: synced_version.to_string(),
                desired: desired.clone(),
            },
        );
    }

    /// Drops the cached render of `key` (a render the fallback store served is not kept).
    pub(crate) fn forget_render(&self, key: &Key) {
        Self::lock(&self.renders).remove(key);
    }

    pub(crate) fn forget(&self, key: &Key) {
        Self::lock(&self.renders).remove(key);
        Self::lock(&self.failures).remove(key);
        self.status_writes.forget(key);
    }

    /// Publishes an event on an ExternalSecret; failures are logged, not fatal.
    pub(crate) async fn event(
        &self,
        es: &ExternalSecret,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        self.event_on(&es.object_ref(&()), type_, reason, note)
            .await;
    }

    /// Publishes an event on any object; failures are logged, not fatal.
    pub(crate) async fn event_on(
        &self,
        regarding: &k8s_openapi::api::core::v1::ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let published = self
            .recorder
            .publish(regarding, type_, reason, "Reconcile", &note)
            .await;
        if let Err(e) = published {
            tracing::debug!(name = ?regarding.name, error = %e, "publishing event failed");
        }
    }

    /// The template cache of PushSecret `template.data`.
    pub(crate) fn push_templates(&self) -> &secretsync_engine::templates::TemplateCache {
        &self.push_templates
    }
}
