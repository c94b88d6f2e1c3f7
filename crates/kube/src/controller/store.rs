//! SecretStore and ClusterSecretStore controllers: build the provider, call `validate()`,
//! report `Ready` with ESO's reasons and the store's capabilities, re-validate periodically.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::reflector;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::ConditionStatus;
use secretsync_model::provider::{StoreContext, Validation};
use secretsync_model::secret_store::{
    ClusterSecretStore, SecretStore, SecretStoreCondition, SecretStoreSpec, SecretStoreStatus,
    store_reasons,
};
use secretsync_model::{ProviderError, StoreId};
use serde_json::json;

use super::{Context, ReconcileError, track_liveness};
use crate::credentials::KubeCredentials;
use crate::environment::serves_class;
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;

/// The outcome of validating a store: Ready, reason, message, capabilities.
pub async fn validate_store(
    ctx: &Context,
    id: &StoreId,
    spec: &SecretStoreSpec,
) -> (
    bool,
    &'static str,
    String,
    Option<secretsync_model::secret_store::StoreCapabilities>,
) {
    if let Err(e) = spec.provider.config() {
        ctx.environment.unreachable_stores().note(id, false);
        return (false, store_reasons::INVALID_STORE, e.to_string(), None);
    }
    // Through the syncer's provider cache: a store whose reads do not depend on the reader's
    // namespace shares its provider (and session) with the ExternalSecrets, so a periodic
    // validation costs no login; a replaced spec builds a new one.
    let context = StoreContext {
        store: id.clone(),
        reader_namespace: None,
    };
    let built = ctx
        .providers()
        .provider(&context, &Arc::new(spec.clone()), |c| {
            Arc::new(KubeCredentials::new(
                ctx.client.clone(),
                c.clone(),
                ctx.index.clone(),
            ))
        })
        .await;
    let provider = match built {
        Ok(p) => p,
        Err(e @ (ProviderError::InvalidStoreConfig(_) | ProviderError::Unsupported(_))) => {
            ctx.environment.unreachable_stores().note(id, false);
            return (
                false,
                store_reasons::INVALID_PROVIDER_CONFIG,
                format!("{id}: {e}"),
                None,
            );
        }
        Err(e) => {
            return (
                false,
                store_reasons::VALIDATION_FAILED,
                format!("{id}: {e}"),
                None,
            );
        }
    };
    let capabilities = Some(provider.capabilities().store);
    let result = provider.validate().await;
    ctx.environment.unreachable_stores().note(
        id,
        matches!(
            result,
            Err(ProviderError::Unavailable(_) | ProviderError::Throttled { .. })
        ),
    );
    match result {
        Ok(Validation::Ready) => (
            true,
            store_reasons::VALID,
            "store validated".to_string(),
            capabilities,
        ),
        Ok(Validation::Unknown(m)) => (true, store_reasons::VALIDATION_UNKNOWN, m, capabilities),
        Err(e) => (
            false,
            store_reasons::VALIDATION_FAILED,
            format!("{id}: {e}"),
            capabilities,
        ),
    }
}

/// The key of store `id`'s validation failures among the context's failure counts; it cannot
/// collide with an ExternalSecret's: namespaces contain no `/`.
pub(crate) fn failure_key(id: &StoreId) -> (String, String) {
    (
        format!(
            "{}/{}",
            id.kind,
            id.namespace.as_deref().unwrap_or_default()
        ),
        id.name.clone(),
    )
}

/// When to validate a store again: at its refresh interval while it is Ready; with the error
/// backoff while it is not (ESO retries failed stores with controller-runtime's rate limiter),
/// so that a recovered backend lifts the flood gate quickly.
fn next_validation(
    ctx: &Context,
    key: (String, String),
    ready: bool,
    spec: &SecretStoreSpec,
) -> Duration {
    let interval = requeue(ctx, spec);
    if ready {
        ctx.clear_failures(&key);
        interval
    } else {
        ctx.config
            .backoff()
            .delay(ctx.note_failure(&key), None)
            .min(interval)
    }
}

fn is_ready(status: &SecretStoreStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
}

fn next_status(
    current: Option<&SecretStoreStatus>,
    (ready, reason, message, capabilities): (
        bool,
        &'static str,
        String,
        Option<secretsync_model::secret_store::StoreCapabilities>,
    ),
) -> SecretStoreStatus {
    let status = if ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let previous = current.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    let transition = match previous {
        Some(p) if p.status == status && p.reason.as_deref() == Some(reason) => {
            p.last_transition_time.clone()
        }
        _ => Some(Time(Timestamp::now())),
    };
    SecretStoreStatus {
        conditions: vec![SecretStoreCondition {
            type_: "Ready".to_string(),
            status,
            reason: Some(reason.to_string()),
            message: Some(message),
            last_transition_time: transition,
        }],
        capabilities: capabilities.or_else(|| current.and_then(|s| s.capabilities)),
    }
}

fn requeue(ctx: &Context, spec: &SecretStoreSpec) -> Duration {
    let configured = match &spec.refresh_interval {
        Some(IntOrString::Int(secs)) if *secs > 0 => Some(Duration::from_secs(*secs as u64)),
        Some(IntOrString::String(s)) => parse_go_duration(s).ok().filter(|d| !d.is_zero()),
        _ => None,
    };
    configured.unwrap_or(ctx.config.store_requeue_interval)
}

async fn reconcile_secret_store(
    store: Arc<SecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let ns = store.namespace().unwrap_or_default();
    let id = StoreId {
        kind: StoreKind::SecretStore,
        namespace: Some(ns.clone()),
        name: store.name_any(),
    };
    let api: Api<SecretStore> = Api::namespaced(ctx.client.clone(), &ns);
    reconcile_store(&ctx, api, id, &store.spec, store.status.as_ref()).await
}

async fn reconcile_cluster_store(
    store: Arc<ClusterSecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let id = StoreId {
        kind: StoreKind::ClusterSecretStore,
        namespace: None,
        name: store.name_any(),
    };
    let api: Api<ClusterSecretStore> = Api::all(ctx.client.clone());
    reconcile_store(&ctx, api, id, &store.spec.store, store.status.as_ref()).await
}

/// One measured store reconcile: controller-runtime's reconcile and workqueue figures (a failed
/// validation is `result="error"`, as ESO returns it to controller-runtime) and ESO's
/// `*_reconcile_duration`.
async fn reconcile_store<K>(
    ctx: &Context,
    api: Api<K>,
    id: StoreId,
    spec: &SecretStoreSpec,
    current: Option<&SecretStoreStatus>,
) -> Result<Action, ReconcileError>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let kind = ObjectKind::from(id.kind);
    let controller = match id.kind {
        StoreKind::SecretStore => "secretstore",
        StoreKind::ClusterSecretStore => "clustersecretstore",
    };
    let working = ctx.metrics.runtime.queued(controller).start();
    let started = std::time::Instant::now();
    let outcome = validate_and_report(ctx, api, &id, spec, current).await;
    let namespace = match id.kind {
        StoreKind::SecretStore => id.namespace.clone().unwrap_or_default(),
        StoreKind::ClusterSecretStore => String::new(),
    };
    ctx.metrics
        .object_reconciled(kind, &namespace, &id.name, started.elapsed().as_secs_f64());
    working.finish(match &outcome {
        Ok((action, ready)) => ReconcileResult::of(!ready, action),
        Err(_) => ReconcileResult::error,
    });
    outcome.map(|(action, _)| action)
}

/// Both store kinds: controller class, validation, status (patched only when changed), the
/// `*_status_condition` metric, and the next validation; with whether the store is ready.
async fn validate_and_report<K>(
    ctx: &Context,
    api: Api<K>,
    id: &StoreId,
    spec: &SecretStoreSpec,
    current: Option<&SecretStoreStatus>,
) -> Result<(Action, bool), ReconcileError>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    if !serves_class(
        ctx.config.controller_class.as_deref(),
        spec.controller.as_deref(),
    ) {
        return Ok((Action::await_change(), true));
    }
    let status = next_status(current, validate_store(ctx, id, spec).await);
    let ready = is_ready(&status);
    let namespace = match id.kind {
        StoreKind::SecretStore => id.namespace.clone().unwrap_or_default(),
        StoreKind::ClusterSecretStore => String::new(),
    };
    ctx.metrics
        .set_ready(ObjectKind::from(id.kind), &namespace, &id.name, ready);
    if current != Some(&status) {
        api.patch_status(
            &id.name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await?;
    }
    let next = Action::requeue(next_validation(ctx, failure_key(id), ready, spec));
    Ok((next, ready))
}

fn error_policy<K: Resource>(_: Arc<K>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "store reconcile failed");
    Action::requeue(ctx.config.backoff().delay(3, None))
}

/// For a store cache's event stream: a deleted store is forgotten
/// ([`Context::store_deleted`]). This runs after the cache dropped it, so no sync or validation
/// starting later finds the store and builds its provider again.
fn forget_deleted<K>(ctx: Arc<Context>, kind: StoreKind) -> impl FnMut(&watcher::Event<K>)
where
    K: Resource,
{
    move |event| {
        if let watcher::Event::Delete(store) = event {
            ctx.store_deleted(&StoreId {
                kind,
                namespace: match kind {
                    StoreKind::SecretStore => store.meta().namespace.clone(),
                    StoreKind::ClusterSecretStore => None,
                },
                name: store.meta().name.clone().unwrap_or_default(),
            });
        }
    }
}

/// The SecretStore controller, stopping gracefully on `shutdown`; its cache (filled through
/// `cache`, read by the ExternalSecret reconciles) joins `lists`.
pub(crate) fn run_secret_stores(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
    cache: Writer<SecretStore>,
) -> BoxFuture<'static, ()> {
    let api: Api<SecretStore> = match &ctx.config.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let reader = ctx.caches.secret_store_reader();
    let stream = reflector(
        cache,
        watcher(api, watcher::Config::default()).default_backoff(),
    )
    .inspect_ok(forget_deleted(ctx.clone(), StoreKind::SecretStore))
    .applied_objects();
    track_liveness(&ctx, ObjectKind::SecretStore, reader.clone());
    lists.store(reader.clone());
    Controller::for_stream(stream, reader)
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency.max(1)))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile_secret_store, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()))
        .boxed()
}

/// The ClusterSecretStore controller, stopping gracefully on `shutdown`; its cache (filled
/// through `cache`) joins `lists`.
pub(crate) fn run_cluster_secret_stores(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
    cache: Writer<ClusterSecretStore>,
) -> BoxFuture<'static, ()> {
    let api: Api<ClusterSecretStore> = Api::all(ctx.client.clone());
    let reader = ctx.caches.cluster_store_reader();
    let stream = reflector(
        cache,
        watcher(api, watcher::Config::default()).default_backoff(),
    )
    .inspect_ok(forget_deleted(ctx.clone(), StoreKind::ClusterSecretStore))
    .applied_objects();
    track_liveness(&ctx, ObjectKind::ClusterSecretStore, reader.clone());
    lists.store(reader.clone());
    Controller::for_stream(stream, reader)
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency.max(1)))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile_cluster_store, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()))
        .boxed()
}
