//! PushSecret: publishes keys of a Kubernetes Secret to providers (ESO's
//! `pushsecret_controller.go`).
//!
//! Each reconcile reads the source Secret(s), applies `template.data`, plans one value per
//! `data[]` entry ([`secretsync_engine::push`]), pushes them to every referenced store (the
//! providers write only when the remote differs, so unchanged values cost a read), deletes
//! what is no longer pushed when `deletionPolicy: Delete`, and writes ESO's status
//! (`syncedPushSecrets`, `Ready` with `Synced`/`Errored`/`SourceDeleted`, `refreshTime`,
//! `syncedResourceVersion`). Reconciles run on PushSecret changes, on changes of Secrets in
//! its namespace it selects, and every `refreshInterval` (which restores remote values edited
//! out of band). Providers come from the engine's provider cache ([`Context::providers`]), one
//! per store and namespace shared with the ExternalSecrets: a reconcile costs no login, a store
//! spec change rebuilds the provider, and a change of a credential Secret the store read drops
//! it (see the credential watch in `triggers`).

mod generated;
mod sources;
mod status;
mod targets;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use secretsync_engine::push::data_to::{check_rules_reach_stores, plan_store};
use secretsync_engine::push::refresh::push_refresh_inputs;
use secretsync_engine::push::run::{OpenStore, delete_from_store, open_store, push_to_store};
use secretsync_engine::push::{
    apply_push_template, merge_synced, parse_store_key, stale_entries, store_key, without,
};
use secretsync_engine::refresh::resource_version;
use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::push_secret::{
    FINALIZER, PushSecret, PushSecretDeletionPolicy, SyncedPushSecretsMap, validate_push_secret,
};
use serde_json::json;

pub use generated::GeneratedPushes;
pub use sources::selects_secret;
pub use status::Outcome;

use sources::NoSource;

use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;

const CONTROLLER: &str = "pushsecret";

/// One measured reconcile: controller-runtime's figures and ESO's `pushsecret_*` families.
async fn reconcile(ps: Arc<PushSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let working = ctx.metrics.runtime.queued(CONTROLLER).start();
    let started = std::time::Instant::now();
    let ns = ps.namespace().unwrap_or_default();
    let name = ps.name_any();
    let result = push(&ps, &ctx).await;
    if ps.meta().deletion_timestamp.is_some() {
        ctx.metrics.forget(ObjectKind::PushSecret, &ns, &name);
        ctx.generated_pushes.forget(&(ns.clone(), name.clone()));
    } else {
        ctx.metrics.object_reconciled(
            ObjectKind::PushSecret,
            &ns,
            &name,
            started.elapsed().as_secs_f64(),
        );
    }
    working.finish(match &result {
        Ok(action) => ReconcileResult::of(false, action),
        Err(_) => ReconcileResult::error,
    });
    result
}

fn failure_key(ps: &PushSecret) -> (String, String) {
    (
        format!("PushSecret/{}", ps.namespace().unwrap_or_default()),
        ps.name_any(),
    )
}

/// The stores one reconcile opened (handles on cached providers, not closed after it).
#[derive(Default)]
struct Stores {
    open: BTreeMap<String, OpenStore>,
}

impl Stores {
    async fn get(
        &mut self,
        ctx: &Context,
        namespace: &str,
        kind: StoreKind,
        name: &str,
    ) -> Result<&OpenStore, String> {
        let key = store_key(kind, name);
        if !self.open.contains_key(&key) {
            let store =
                open_store(ctx.providers(), &ctx.environment, namespace, kind, name).await?;
            self.open.insert(key.clone(), store);
        }
        self.open
            .get(&key)
            .ok_or_else(|| format!("{key}: not opened"))
    }
}

async fn push(ps: &PushSecret, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = ps.namespace().unwrap_or_default();
    let api: Api<PushSecret> = Api::namespaced(ctx.client.clone(), &ns);
    let has_finalizer = ps.finalizers().iter().any(|f| f == FINALIZER);
    let previous = ps
        .status
        .as_ref()
        .map(|s| s.synced_push_secrets.clone())
        .unwrap_or_default();
    let mut stores = Stores::default();
    if ps.meta().deletion_timestamp.is_some() {
        if !has_finalizer {
            return Ok(Action::await_change());
        }
        let (left, error) = delete_stale(
            ctx,
            &ns,
            &mut stores,
            PushSecretDeletionPolicy::Delete,
            &previous,
            &SyncedPushSecretsMap::new(),
        )
        .await;
        if let Some(message) = error {
            let message = format!("Failed to Delete Secrets from Provider: {message}");
            finish(ps, ctx, &Outcome::Errored(message), &left, false).await?;
            return Ok(retry(ps, ctx));
        }
        set_finalizer(&api, ps, false).await?;
        return Ok(Action::await_change());
    }
    let wants_finalizer = ps.spec.deletion_policy == PushSecretDeletionPolicy::Delete;
    if wants_finalizer != has_finalizer {
        set_finalizer(&api, ps, wants_finalizer).await?;
    }
    let interval = ps
        .spec
        .refresh_interval
        .as_deref()
        .and_then(|r| parse_go_duration(r).ok());

    let problems = validate_push_secret(&ps.spec, "spec");
    if let Some(first) = problems.first() {
        let message = format!("PushSecret {ns}/{}: {first}", ps.name_any());
        finish(ps, ctx, &Outcome::Errored(message), &previous, false).await?;
        return Ok(Action::await_change());
    }

    // A generated source is produced again only when ESO would (spec change, interval over,
    // or the last push failed); any other reconcile leaves the pushed value alone.
    let key = (ns.clone(), ps.name_any());
    let generated = ps.spec.selector.generator_ref.is_some();
    if generated && let Some(wait) = ctx.generated_pushes.wait(ps, &key, SystemTime::now()) {
        return Ok(wait.map_or_else(Action::await_change, |d| {
            Action::requeue(d + Duration::from_secs(1))
        }));
    }
    let (sources, template_sources) = match sources::resolve(ps, ctx, &ns).await? {
        Ok(found) => (found.data, found.template),
        Err(NoSource::Failed(message)) => {
            finish(ps, ctx, &Outcome::Errored(message), &previous, false).await?;
            return Ok(retry(ps, ctx));
        }
        Err(NoSource::Missing) => {
            let policy = ps.spec.deletion_policy;
            if policy == PushSecretDeletionPolicy::Delete && !previous.is_empty() {
                let (left, error) = delete_stale(
                    ctx,
                    &ns,
                    &mut stores,
                    policy,
                    &previous,
                    &SyncedPushSecretsMap::new(),
                )
                .await;
                let outcome = match error {
                    Some(m) => Outcome::Errored(format!("failed to cleanup provider secrets: {m}")),
                    None => Outcome::SourceDeleted,
                };
                finish(ps, ctx, &outcome, &left, false).await?;
                return Ok(Action::await_change());
            }
            let outcome = Outcome::Errored("could not get source secret".to_string());
            finish(ps, ctx, &outcome, &previous, false).await?;
            return Ok(retry(ps, ctx));
        }
    };
    let check_reach = |t: &[targets::Target]| {
        let views: Vec<_> = t.iter().map(targets::Target::view).collect();
        check_rules_reach_stores(&ps.spec.data_to, &views)
            .map_err(|e| format!("PushSecret {ns}/{}: {e}", ps.name_any()))
    };
    let targets = match targets::target_stores(ps, ctx, &ns)
        .await
        .and_then(|t| check_reach(&t).map(|()| t))
    {
        Ok(t) => t,
        Err(message) => {
            finish(ps, ctx, &Outcome::Errored(message), &previous, false).await?;
            return Ok(retry(ps, ctx));
        }
    };

    let mut current = SyncedPushSecretsMap::new();
    let mut error = None;
    'stores: for target in &targets {
        let name = &target.name;
        let store = match stores.get(ctx, &ns, target.kind, name).await {
            Ok(s) => s,
            Err(m) => {
                error = Some(format!(
                    "could not get secrets client for store {name}: {m}"
                ));
                break;
            }
        };
        let slot = current.entry(store.key.clone()).or_default();
        for data in &sources {
            let planned = apply_push_template(
                ps.spec.template.as_ref(),
                &template_sources,
                data.clone(),
                ctx.push_templates(),
            )
            .and_then(|d| {
                plan_store(
                    &ps.spec.data,
                    &ps.spec.data_to,
                    target.view(),
                    &d,
                    ctx.push_templates(),
                )
            });
            let planned = match planned {
                Ok(p) => p,
                Err(e) => {
                    error = Some(format!("set secret failed: {e}"));
                    break 'stores;
                }
            };
            let pushed = push_to_store(store, &planned, ps.spec.update_policy).await;
            slot.extend(pushed.synced);
            if let Some(m) = pushed.error {
                error = Some(format!("set secret failed: {m}"));
                break 'stores;
            }
        }
    }
    if let Some(message) = error {
        let merged = merge_synced(&current, &previous);
        finish(ps, ctx, &Outcome::Errored(message), &merged, false).await?;
        return Ok(retry(ps, ctx));
    }
    let (left, delete_error) = delete_stale(
        ctx,
        &ns,
        &mut stores,
        ps.spec.deletion_policy,
        &previous,
        &current,
    )
    .await;
    if let Some(m) = delete_error {
        let message = format!("Failed to Delete Secrets from Provider: {m}");
        finish(
            ps,
            ctx,
            &Outcome::Errored(message),
            &merge_synced(&current, &left),
            false,
        )
        .await?;
        return Ok(retry(ps, ctx));
    }
    ctx.clear_failures(&failure_key(ps));
    finish(ps, ctx, &Outcome::Synced, &current, true).await?;
    if generated {
        let now = SystemTime::now();
        let version = push_refresh_inputs(ps, now).current_resource_version;
        ctx.generated_pushes.record(key, version, now);
    }
    Ok(match interval.filter(|d| !d.is_zero()) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

fn retry(ps: &PushSecret, ctx: &Context) -> Action {
    let failures = ctx.note_failure(&failure_key(ps));
    Action::requeue(ctx.config.backoff().delay(failures, None))
}

/// Deletes what `policy` says is no longer pushed; returns the synced map without what was
/// deleted (entries it could not reach are kept) and the first error.
async fn delete_stale(
    ctx: &Context,
    namespace: &str,
    stores: &mut Stores,
    policy: PushSecretDeletionPolicy,
    previous: &SyncedPushSecretsMap,
    current: &SyncedPushSecretsMap,
) -> (SyncedPushSecretsMap, Option<String>) {
    let stale = stale_entries(policy, previous, current);
    let mut deleted = Vec::new();
    let mut error = None;
    for (store, entry) in stale {
        let Some((kind, name)) = parse_store_key(&store) else {
            // A key ESO would not write: nothing we can reach; forget it.
            deleted.push((store, entry));
            continue;
        };
        let result = match stores.get(ctx, namespace, kind, name).await {
            Ok(open) => delete_from_store(open, &entry).await,
            Err(m) => Err(format!(
                "could not get secrets client for store {store}: {m}"
            )),
        };
        match result {
            Ok(_) => deleted.push((store, entry)),
            Err(m) => {
                error = Some(m);
                break;
            }
        }
    }
    let mut left = merge_synced(current, previous);
    if policy == PushSecretDeletionPolicy::None {
        left = current.clone();
    }
    (without(left, &deleted), error)
}

/// Adds or removes ESO's finalizer (optimistic on the resourceVersion).
async fn set_finalizer(
    api: &Api<PushSecret>,
    ps: &PushSecret,
    present: bool,
) -> Result<(), ReconcileError> {
    let mut finalizers: Vec<String> = ps
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(FINALIZER.to_string());
    }
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": ps.resource_version(),
    }});
    api.patch(
        &ps.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(())
}

/// Writes the status (only when it changes), the event and the condition metric.
async fn finish(
    ps: &PushSecret,
    ctx: &Context,
    outcome: &Outcome,
    synced: &SyncedPushSecretsMap,
    refreshed: bool,
) -> Result<(), ReconcileError> {
    let ns = ps.namespace().unwrap_or_default();
    let name = ps.name_any();
    let now = Time(Timestamp::now());
    let condition = status::ready_condition(
        ps.status.as_ref(),
        outcome,
        ps.spec.update_policy,
        now.clone(),
    );
    let version = resource_version(
        ps.meta().generation.unwrap_or(0),
        ps.labels(),
        ps.annotations(),
    );
    let refreshed = refreshed.then_some((now, version));
    let patch = status::status_patch(ps.status.as_ref(), &condition, synced, refreshed);
    let (event_type, reason) = match outcome {
        Outcome::Errored(_) => (EventType::Warning, condition.reason.clone()),
        _ => (EventType::Normal, condition.reason.clone()),
    };
    ctx.metrics.set_ready(
        ObjectKind::PushSecret,
        &ns,
        &name,
        matches!(outcome, Outcome::Synced),
    );
    Api::<PushSecret>::namespaced(ctx.client.clone(), &ns)
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    ctx.event_on(
        &ps.object_ref(&()),
        event_type,
        reason.as_deref().unwrap_or_default(),
        condition.message.clone().unwrap_or_default(),
    )
    .await;
    Ok(())
}

fn error_policy(_: Arc<PushSecret>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "PushSecret reconcile failed");
    Action::requeue(
        ctx.config
            .error_backoff_max
            .min(std::time::Duration::from_secs(30)),
    )
}

/// The PushSecret controller, stopping gracefully on `shutdown`; its watches join `lists`.
pub(crate) fn run(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
) -> BoxFuture<'static, ()> {
    let ns = ctx.config.namespace.clone();
    let api: Api<PushSecret> = match &ns {
        Some(n) => Api::namespaced(ctx.client.clone(), n),
        None => Api::all(ctx.client.clone()),
    };
    let controller = Controller::new(api, watcher::Config::default());
    let reader = controller.store();
    lists.store(reader.clone());
    let secrets_api: Api<PartialObjectMeta<Secret>> = match &ns {
        Some(n) => Api::namespaced(ctx.client.clone(), n),
        None => Api::all(ctx.client.clone()),
    };
    let secrets = lists
        .watch(watcher(secrets_api, watcher::Config::default()).default_backoff())
        .touched_objects();
    super::track_liveness(&ctx, ObjectKind::PushSecret, reader.clone());
    controller
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency.max(1)))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .watches_stream(secrets, move |s: PartialObjectMeta<Secret>| {
            let sns = s.namespace().unwrap_or_default();
            let sname = s.name_any();
            reader
                .state()
                .iter()
                .filter(|ps| ps.namespace().as_deref() == Some(sns.as_str()))
                .filter(|ps| selects_secret(ps, &sname, s.labels()))
                .map(|ps| ObjectRef::from_obj(ps.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()))
        .boxed()
}
