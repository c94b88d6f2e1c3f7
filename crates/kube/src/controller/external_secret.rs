//! The ExternalSecret reconciler.
//!
//! 1. Deletion: run `deletionPolicy: Delete` cleanup behind the finalizer, then release it.
//! 2. Decide whether a refresh is due (ESO's `shouldRefresh`). When it is not, and the last
//!    rendered Secret of this spec is cached, the target is checked and repaired from that cache
//!    without a provider call (drift repair). Otherwise the engine syncs.
//! 3. A failed sync never touches the Secret: status `Ready=False`, event `UpdateFailed`,
//!    retry with exponential backoff.
//! 4. Write through the [`Writer`](crate::writer::Writer); status only when changed; requeue at
//!    the next refresh, early by a deterministic per-object lead ([`super::priority::refresh_lead`]).
//!
//! Every reconcile first takes a slot of the [`SyncGate`](super::priority::SyncGate)
//! (`concurrency` slots): first syncs overtake waiting refreshes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use secretsync_engine::{DesiredSecret, KeyState, SyncResult};
use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::{
    DeletionPolicy, ExternalSecret, RefreshPolicy, labels, reasons,
};
use serde_json::json;

use super::priority::{SyncClass, refresh_lead};
use super::{Context, ReconcileError};
use crate::drift;
use crate::metrics::eso::ObjectKind;
use crate::status::{Readiness, next_status, write_status};
use crate::writer::{WriteError, WriteOutcome};

const CONTROLLER: &str = "externalsecret";

/// Reconciles one ExternalSecret.
pub async fn reconcile(
    es: Arc<ExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    // Small future while waiting for a slot; the reconcile itself is boxed once admitted.
    // On shutdown a reconcile still waiting gives up: only those holding a slot finish.
    // Retries after a failure queue as refreshes (as in the engine's Scheduler), so broken
    // ExternalSecrets cannot starve refreshes.
    let class = match sync_class(&es) {
        SyncClass::First
            if es.meta().deletion_timestamp.is_none() && ctx.is_failing(&key_of(&es)) =>
        {
            SyncClass::Refresh
        }
        class => class,
    };
    let _permit = tokio::select! {
        biased;
        () = ctx.shutdown.cancelled() => return Ok(Action::await_change()),
        permit = ctx.gate.acquire(class) => permit,
    };
    let started = Instant::now();
    let result = Box::pin(reconcile_inner(&es, &ctx)).await;
    let (ns, name) = key_of(&es);
    if es.meta().deletion_timestamp.is_some() {
        ctx.metrics.forget(ObjectKind::ExternalSecret, &ns, &name);
    } else {
        ctx.metrics
            .external_secret_reconciled(&ns, &name, started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            ctx.metrics.external_secret_failed(&ns, &name, e.kind());
        }
    }
    result
}

/// Requeue after a reconcile error that was not handled inside the reconciler (API failures).
pub fn error_policy(es: Arc<ExternalSecret>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let failures = ctx.note_failure(&key_of(&es));
    tracing::warn!(namespace = %es.namespace().unwrap_or_default(), name = %es.name_any(), error = %error, "reconcile failed");
    Action::requeue(ctx.config.backoff(failures))
}

/// First syncs (never synced, spec/labels/annotations changed since the last sync, or being
/// deleted) overtake refreshes at the [`SyncGate`](super::priority::SyncGate).
pub fn sync_class(es: &ExternalSecret) -> SyncClass {
    if es.meta().deletion_timestamp.is_some() {
        return SyncClass::First;
    }
    let Some(status) = es.status.as_ref() else {
        return SyncClass::First;
    };
    let generation = es.metadata.generation.unwrap_or(0);
    let current = drift::synced_resource_version(generation, es.labels(), es.annotations());
    if status.refresh_time.is_none()
        || status.synced_resource_version.as_deref() != Some(current.as_str())
    {
        SyncClass::First
    } else {
        SyncClass::Refresh
    }
}

pub(super) fn key_of(es: &ExternalSecret) -> (String, String) {
    (es.namespace().unwrap_or_default(), es.name_any())
}

async fn reconcile_inner(es: &ExternalSecret, ctx: &Context) -> Result<Action, ReconcileError> {
    let (ns, name) = key_of(es);
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &ns);
    let has_finalizer = es.finalizers().iter().any(|f| f == labels::FINALIZER);
    if es.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            cleanup(es, ctx).await?;
            let rest: Vec<&String> = es
                .finalizers()
                .iter()
                .filter(|f| *f != labels::FINALIZER)
                .collect();
            api.patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": rest}})),
            )
            .await?;
        }
        ctx.forget(&(ns, name));
        return Ok(Action::await_change());
    }
    if !ctx
        .environment
        .serves_external_secret(&ns, es.spec.secret_store_ref.as_ref())
        .await
    {
        return Ok(Action::await_change());
    }
    if es.spec.target.deletion_policy == DeletionPolicy::Delete && !has_finalizer {
        let mut all: Vec<String> = es.finalizers().to_vec();
        all.push(labels::FINALIZER.to_string());
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": all}})),
        )
        .await?;
    }

    let now = Timestamp::now();
    let generation = es.metadata.generation.unwrap_or(0);
    let synced_version = drift::synced_resource_version(generation, es.labels(), es.annotations());
    let forced = ctx.take_forced(&(ns.clone(), name.clone()));
    let due = forced || should_refresh(es, &synced_version, now, ctx.config.refresh_jitter);
    let cached = if due {
        None
    } else {
        ctx.cached(&(ns.clone(), name.clone()), es, &synced_version)
    };
    // Not due and nothing cached (first reconcile after a restart or a failover): when the last
    // sync succeeded and the target is provably as we wrote it, there is nothing to do until
    // the next refresh, so no provider is called (ESO's `isSecretValid` shortcut, made keyed).
    if !due && cached.is_none() && last_sync_succeeded(es) && ctx.writer.is_intact(es).await? {
        set_ready_metric(ctx, es, true);
        let last = es
            .status
            .as_ref()
            .and_then(|s| s.refresh_time.as_ref().map(|t| t.0));
        return Ok(next_refresh(es, last, ctx));
    }

    let (result, keys, refreshed) = match cached {
        Some(desired) => (Ok(SyncResult::Write(desired)), None, None),
        None => {
            let outcome = ctx.syncer.sync(es, &ctx.environment).await;
            for k in &outcome.keys {
                if let KeyState::Missing { reason } = &k.state {
                    ctx.event(
                        es,
                        EventType::Normal,
                        reasons::MISSING_PROVIDER_SECRET,
                        format!("{}: {reason}", k.location),
                    )
                    .await;
                }
            }
            let keys = outcome.key_statuses();
            (outcome.result, Some(keys), Some(now))
        }
    };

    let result = match result {
        Err(e) => {
            // A failed fetch never touches the Secret.
            let failures = ctx.note_failure(&(ns.clone(), name.clone()));
            ctx.metrics
                .external_secret_failed(&ns, &name, e.kind_label());
            ctx.event(
                es,
                EventType::Warning,
                reasons::UPDATE_FAILED,
                e.to_string(),
            )
            .await;
            let status = next_status(es, &Readiness::error(e.to_string()), None, None, keys);
            write_status(&api, es, &status).await?;
            set_ready_metric(ctx, es, false);
            let delay = e
                .retry_after()
                .unwrap_or_default()
                .max(ctx.config.backoff(failures));
            return Ok(Action::requeue(delay));
        }
        Ok(r) => r,
    };

    let readiness = match &result {
        SyncResult::Write(desired) => match ctx.writer.write(es, desired).await {
            Ok(outcome) => {
                ctx.remember(&(ns.clone(), name.clone()), es, &synced_version, desired);
                write_event(ctx, es, desired, outcome).await;
                match outcome {
                    WriteOutcome::Missing => Readiness {
                        ready: true,
                        reason: reasons::SECRET_MISSING,
                        message: format!(
                            "Secret {ns}/{} does not exist and creationPolicy is Merge",
                            desired.name
                        ),
                    },
                    _ => Readiness::synced("secret synced"),
                }
            }
            Err(e) => return write_failed(es, ctx, &api, e, keys).await,
        },
        SyncResult::Delete {
            name: target,
            namespace,
        } => match ctx.writer.delete_owned(es, namespace, target).await {
            Ok(outcome) => {
                if outcome == WriteOutcome::Deleted {
                    ctx.metrics
                        .secret_writes
                        .get_or_create(&crate::metrics::Metrics::controller(CONTROLLER))
                        .inc();
                    ctx.event(es, EventType::Normal, reasons::DELETED, format!("Secret {namespace}/{target} deleted: the provider returned no data (deletionPolicy Delete)")).await;
                }
                ctx.forget(&(ns.clone(), name.clone()));
                Readiness {
                    ready: false,
                    reason: reasons::SECRET_DELETED,
                    message:
                        "the provider returned no data; Secret deleted (deletionPolicy Delete)"
                            .to_string(),
                }
            }
            Err(e) => return write_failed(es, ctx, &api, e, keys).await,
        },
        SyncResult::Retain { .. } => Readiness::synced(
            "the provider returned no data; Secret retained (deletionPolicy Retain)",
        ),
    };
    ctx.clear_failures(&(ns.clone(), name.clone()));
    let refreshed_version = refreshed.map(|_| synced_version.clone());
    let status = next_status(es, &readiness, refreshed, refreshed_version, keys);
    write_status(&api, es, &status).await?;
    set_ready_metric(ctx, es, readiness.ready);
    let last_refresh = refreshed.or_else(|| {
        es.status
            .as_ref()
            .and_then(|s| s.refresh_time.as_ref().map(|t| t.0))
    });
    Ok(next_refresh(es, last_refresh, ctx))
}

async fn write_failed(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<ExternalSecret>,
    error: WriteError,
    keys: Option<Vec<secretsync_model::external_secret::KeyOutcomeStatus>>,
) -> Result<Action, ReconcileError> {
    let (ns, name) = key_of(es);
    ctx.metrics
        .external_secret_failed(&ns, &name, "WriteFailed");
    ctx.event(
        es,
        EventType::Warning,
        reasons::UPDATE_FAILED,
        error.to_string(),
    )
    .await;
    let status = next_status(es, &Readiness::error(error.to_string()), None, None, keys);
    write_status(api, es, &status).await?;
    set_ready_metric(ctx, es, false);
    if !error.is_retryable() {
        return Ok(Action::await_change());
    }
    let failures = ctx.note_failure(&key_of(es));
    Ok(Action::requeue(ctx.config.backoff(failures)))
}

async fn write_event(
    ctx: &Context,
    es: &ExternalSecret,
    desired: &DesiredSecret,
    outcome: WriteOutcome,
) {
    let (reason, verb) = match outcome {
        WriteOutcome::Created => (reasons::CREATED, "created"),
        WriteOutcome::Updated => (reasons::UPDATED, "updated"),
        _ => return,
    };
    ctx.metrics
        .secret_writes
        .get_or_create(&crate::metrics::Metrics::controller(CONTROLLER))
        .inc();
    ctx.event(
        es,
        EventType::Normal,
        reason,
        format!("Secret {}/{} {verb}", desired.namespace, desired.name),
    )
    .await;
}

/// True when the status says the last sync wrote the target successfully.
fn last_sync_succeeded(es: &ExternalSecret) -> bool {
    es.status.as_ref().is_some_and(|s| {
        s.conditions.iter().any(|c| {
            c.type_ == "Ready"
                && c.status == secretsync_model::meta::ConditionStatus::True
                && c.reason.as_deref() == Some(reasons::SECRET_SYNCED)
        })
    })
}

fn set_ready_metric(ctx: &Context, es: &ExternalSecret, ready: bool) {
    let (namespace, name) = key_of(es);
    ctx.metrics
        .set_ready(ObjectKind::ExternalSecret, &namespace, &name, ready);
}

/// `deletionPolicy: Delete` on ExternalSecret deletion: delete the target if we control it.
async fn cleanup(es: &ExternalSecret, ctx: &Context) -> Result<(), ReconcileError> {
    if es.spec.target.deletion_policy != DeletionPolicy::Delete {
        return Ok(());
    }
    let ns = es.namespace().unwrap_or_default();
    let target = es.target_name();
    if ctx.writer.delete_owned(es, &ns, &target).await? == WriteOutcome::Deleted {
        ctx.event(
            es,
            EventType::Normal,
            reasons::DELETED,
            format!("Secret {ns}/{target} deleted with its ExternalSecret (deletionPolicy Delete)"),
        )
        .await;
    }
    Ok(())
}

/// The refresh interval of an ExternalSecret (`None`: never refresh periodically).
pub fn refresh_interval(es: &ExternalSecret) -> Option<Duration> {
    let raw = es.spec.refresh_interval.as_deref().unwrap_or("1h");
    parse_go_duration(raw).ok().filter(|d| !d.is_zero())
}

/// ESO's `shouldRefresh`.
/// `tolerance` (the refresh jitter) lets a refresh scheduled early by the jitter count as due.
/// `spec.syncWindows` gates only the periodic path (interval elapsed), as ESO's PR #6452: the
/// first sync and spec/label/annotation changes (force-sync) are never held back.
pub fn should_refresh(
    es: &ExternalSecret,
    synced_version: &str,
    now: Timestamp,
    tolerance: f64,
) -> bool {
    let status = es.status.clone().unwrap_or_default();
    let synced = status.synced_resource_version.as_deref();
    match es.spec.effective_refresh_policy() {
        RefreshPolicy::CreatedOnce => synced.is_none() || status.refresh_time.is_none(),
        RefreshPolicy::OnChange => synced != Some(synced_version),
        RefreshPolicy::Periodic => {
            if synced != Some(synced_version) {
                return true;
            }
            let Some(interval) = refresh_interval(es) else {
                return false;
            };
            match status.refresh_time {
                None => true,
                Some(t) if t.0 > now => true,
                Some(t) => {
                    elapsed(t.0, now) >= interval.mul_f64(1.0 - tolerance.clamp(0.0, 0.5))
                        && secretsync_engine::sync_windows::periodic_refresh_allowed(
                            &es.spec,
                            std::time::SystemTime::from(now),
                        )
                }
            }
        }
    }
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    let nanos = to.as_nanosecond() - from.as_nanosecond();
    Duration::from_nanos(nanos.max(0) as u64)
}

fn next_refresh(es: &ExternalSecret, last: Option<Timestamp>, ctx: &Context) -> Action {
    if es.spec.effective_refresh_policy() != RefreshPolicy::Periodic {
        return Action::await_change();
    }
    let Some(interval) = refresh_interval(es) else {
        return Action::await_change();
    };
    let since = last
        .map(|t| elapsed(t, Timestamp::now()))
        .unwrap_or_default();
    let remaining = interval.saturating_sub(since);
    let (ns, name) = key_of(es);
    let early = refresh_lead(&ns, &name, interval, ctx.config.refresh_jitter);
    let delay = remaining
        .mul_f64(1.0 - early)
        .max(Duration::from_millis(50));
    // spec.syncWindows: a refresh that would fall outside the windows waits for the next
    // instant they allow (never earlier than the interval); if they never will, requeue as usual.
    let now = std::time::SystemTime::now();
    let delay =
        secretsync_engine::sync_windows::next_periodic_refresh_allowed(&es.spec, now + delay)
            .and_then(|open| open.duration_since(now).ok())
            .map_or(delay, |wait| wait.max(delay));
    Action::requeue(delay)
}
