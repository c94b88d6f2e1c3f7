//! The ExternalSecret reconciler: a thin shell performing what the pure decisions say.
//!
//! 1. Deletion: run `deletionPolicy: Delete` cleanup behind the finalizer, then release it.
//! 2. [`decide_refresh`]: ESO's `shouldRefresh` (the engine's
//!    [`secretsync_engine::refresh::should_refresh`]), then the cached render (drift repair
//!    without a provider read), then the intact-target shortcut (ESO's `isSecretValid`, keyed).
//! 3. Sync through the engine; a failed sync never touches the Secret.
//! 4. Write through the [`Writer`](crate::writer::Writer) ([`crate::writer::plan_write`]
//!    decides), then [`report`] decides the status, the event and the next reconcile.
//!
//! Every reconcile first takes a slot of the [`SyncGate`](super::priority::SyncGate): first
//! syncs overtake waiting refreshes, namespaces share slots fairly. Each admitted reconcile runs
//! under `Config::reconcile_timeout` and a panic inside it is caught: either becomes this
//! object's sync error (`Ready=False`, retried with backoff), never a stuck slot or a process exit.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use secretsync_engine::refresh::{self, RefreshInputs};
use secretsync_engine::{KeyState, SyncResult};
use secretsync_model::external_secret::{
    DeletionPolicy, ExternalSecret, KeyOutcomeStatus, labels, reasons,
};
use serde_json::json;

use super::decide::lease::LeasePlan;
use super::decide::{
    FreshnessFacts, Next, RefreshDecision, RefreshFacts, Report, Step, decide_refresh,
    reads_fresh_since, report,
};
use super::leases;
use super::own_writes::Seen;
use super::priority::SyncClass;
use super::runner::{Action, Observed};
use super::{Context, ReconcileError};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;
use crate::rollout;
use crate::status::{StatusWrite, next_status, write_status};
use crate::writer::{WriteOutcome, WriteReport};

const CONTROLLER: &str = "externalsecret";

/// The shortest requeue after a completed reconcile.
const MIN_REQUEUE: Duration = Duration::from_millis(50);

/// The retry of a reconcile handed a version older than our own last status write (the
/// watch cache catches up within milliseconds; no request is sent meanwhile).
const STALE_RETRY: Duration = Duration::from_millis(100);

/// The retry of a reconcile whose store has not been validated yet (no request is sent).
const VALIDATION_RETRY: Duration = Duration::from_secs(1);

/// Reconciles one ExternalSecret, as the runner `observed` it.
pub async fn reconcile(
    es: Arc<ExternalSecret>,
    ctx: Arc<Context>,
    observed: Observed,
) -> Result<Action, ReconcileError> {
    // Small future while waiting for a slot; the reconcile itself is boxed once admitted.
    // On shutdown a reconcile still waiting gives up: only those holding a slot finish.
    // Retries after a failure queue as refreshes, so broken ExternalSecrets cannot starve
    // first syncs.
    let (ns, name) = key_of(&es);
    let key = (ns.clone(), name.clone());
    if ctx
        .status_writes
        .check(&key, es.metadata.resource_version.as_deref())
        == Seen::Superseded
    {
        // Our own status write has not reached the cache yet: judged on this version the
        // object would look unsynced (a first sync again). Wait for the cache instead.
        return Ok(Action::requeue(STALE_RETRY));
    }
    if es.meta().deletion_timestamp.is_none() && ctx.store_awaiting_validation(&es) {
        // Requeued as soon as the store turns Ready; the retry covers a failed validation.
        return Ok(Action::requeue(VALIDATION_RETRY));
    }
    let class = match sync_class(&es) {
        SyncClass::First if es.meta().deletion_timestamp.is_none() && ctx.is_failing(&key) => {
            SyncClass::Refresh
        }
        class => class,
    };
    let waiting = ctx
        .metrics
        .sync_waiting
        .get_or_create(&crate::metrics::ClassLabels {
            class: match class {
                SyncClass::First => "first",
                SyncClass::Refresh => "refresh",
            }
            .to_string(),
        })
        .clone();
    waiting.inc();
    let queued = ctx.metrics.runtime.queued(CONTROLLER);
    let permit = tokio::select! {
        biased;
        () = ctx.shutdown.cancelled() => None,
        permit = async {
            ctx.caches_ready().await;
            ctx.gate.acquire(class, &ns).await
        } => Some(permit),
    };
    waiting.dec();
    let Some(_permit) = permit else {
        return Ok(Action::await_change());
    };
    let working = queued.start();
    let failures_before = ctx.failure_count(&key);
    let started = Instant::now();
    // Boxed: a reconcile waiting for its slot stays small (its task is allocated at that size).
    let result = Box::pin(guarded(&es, &ctx, observed)).await;
    // ESO returns its sync errors to controller-runtime: a reconcile that failed (and backs
    // off) counts as `result="error"` whatever it returned.
    working.finish(match &result {
        Ok(action) => ReconcileResult::of(ctx.failure_count(&key) > failures_before, action),
        Err(_) => ReconcileResult::error,
    });
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

/// Runs the reconcile under the deadline, catching panics: either becomes the object's sync
/// error, retried with backoff.
async fn guarded(
    es: &ExternalSecret,
    ctx: &Context,
    observed: Observed,
) -> Result<Action, ReconcileError> {
    let deadline = ctx.config.reconcile_timeout;
    let work =
        std::panic::AssertUnwindSafe(Box::pin(reconcile_inner(es, ctx, observed))).catch_unwind();
    let message = match tokio::time::timeout(deadline, work).await {
        Ok(Ok(result)) => return result,
        Ok(Err(_panic)) => {
            tracing::error!(namespace = %es.namespace().unwrap_or_default(), name = %es.name_any(), "the reconcile panicked; reported as a sync error");
            "internal error: the reconcile of this ExternalSecret panicked (a bug in secretsync; \
             see the operator log); retrying with backoff"
                .to_string()
        }
        Err(_elapsed) => {
            tracing::warn!(namespace = %es.namespace().unwrap_or_default(), name = %es.name_any(), ?deadline, "reconcile deadline exceeded");
            format!(
                "the reconcile did not finish within its deadline of {deadline:?} (operator flag \
                 --reconcile-timeout); retrying with backoff"
            )
        }
    };
    if es.meta().deletion_timestamp.is_some() {
        return Ok(Action::requeue(
            ctx.config
                .backoff()
                .delay(ctx.note_failure(&key_of(es)), None),
        ));
    }
    finish(es, ctx, &Step::Aborted { message }, None, None, None).await
}

/// Requeue after a reconcile error that was not handled inside the reconciler (API failures).
pub fn error_policy(es: Arc<ExternalSecret>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let failures = ctx.note_failure(&key_of(&es));
    tracing::warn!(namespace = %es.namespace().unwrap_or_default(), name = %es.name_any(), error = %error, "reconcile failed");
    Action::requeue(ctx.config.backoff().delay(failures, None))
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
    let current = refresh::current_resource_version(es);
    if status.refresh_time.is_none()
        || status.synced_resource_version.as_deref() != Some(current.as_str())
    {
        SyncClass::First
    } else {
        SyncClass::Refresh
    }
}

/// The wall-clock time of the monotonic instant `at` (in the past); `None` if the wall clock
/// cannot represent it.
fn wall_time_of(at: tokio::time::Instant) -> Option<SystemTime> {
    SystemTime::now().checked_sub(at.elapsed())
}

pub(super) fn key_of(es: &ExternalSecret) -> (String, String) {
    (es.namespace().unwrap_or_default(), es.name_any())
}

/// The refresh inputs of `es` now, with its deterministic lead: on its read group's grid when
/// refreshes are aligned (each member then runs its own settle after the group's instant) and
/// the grid instant did not pass before the object was `seen` ([`refresh::unless_missed`]),
/// else its own jitter.
fn refresh_inputs(
    es: &ExternalSecret,
    ctx: &Context,
    now: SystemTime,
    seen: Option<SystemTime>,
) -> RefreshInputs {
    let (ns, name) = key_of(es);
    let interval = refresh::refresh_interval(es);
    let refresh_time = es
        .status
        .as_ref()
        .and_then(|s| s.refresh_time.as_ref())
        .map(|t| SystemTime::from(t.0));
    let aligned = ctx
        .config
        .align_refreshes
        .then(|| {
            batch_slot(es, ctx)
                .and_then(|(store, slot)| refresh::slot_lead(&store, slot, interval, refresh_time))
                .or_else(|| {
                    refresh::read_group(es)
                        .and_then(|group| refresh::aligned_lead(&group, interval, refresh_time))
                })
        })
        .flatten()
        .and_then(|lead| refresh::unless_missed(lead, interval, refresh_time, seen));
    let member = format!("{ns}/{name}");
    match aligned {
        Some(lead) => RefreshInputs {
            settle: refresh::member_settle(&member, interval),
            ..RefreshInputs::of(es, now, lead)
        },
        None => RefreshInputs::of(
            es,
            now,
            refresh::refresh_lead(&member, interval, ctx.config.refresh_jitter),
        ),
    }
}

/// The batch slot of the one value `es` reads, when it reads one through a batching provider
/// (the store's name for its phase, and the slot).
fn batch_slot(
    es: &ExternalSecret,
    ctx: &Context,
) -> Option<(String, secretsync_engine::fetch::Slot)> {
    let (store, key) = refresh::single_read(es)?;
    let namespace = es.namespace().unwrap_or_default();
    let slot = ctx.providers().batch_slot(&store, &namespace, key)?;
    Some((store.to_string(), slot))
}

async fn reconcile_inner(
    es: &ExternalSecret,
    ctx: &Context,
    observed: Observed,
) -> Result<Action, ReconcileError> {
    let (ns, name) = key_of(es);
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &ns);
    let has_finalizer = es.finalizers().iter().any(|f| f == labels::FINALIZER);
    if es.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            if leases::has_generators(es) {
                leases::release_all(es, ctx).await?;
            }
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
    let needs_finalizer =
        es.spec.target.deletion_policy == DeletionPolicy::Delete || leases::has_generators(es);
    if needs_finalizer && !has_finalizer {
        let mut all: Vec<String> = es.finalizers().to_vec();
        all.push(labels::FINALIZER.to_string());
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": all}})),
        )
        .await?;
        if leases::has_generators(es) {
            // Issue only from the version holding the finalizer: judged on this one, the
            // reconcile its patch triggers would look like a first sync and issue again.
            return Ok(Action::requeue(STALE_RETRY));
        }
    }

    let now = Timestamp::now();
    let seen = observed.changed_at.and_then(wall_time_of);
    let inputs = refresh_inputs(es, ctx, SystemTime::from(now), seen);
    let synced_version = inputs.current_resource_version.clone();
    let key = (ns.clone(), name.clone());
    let cached = ctx.cached(&key, es, &synced_version);
    let forced = ctx.take_forced(&key);
    let leases = if leases::has_generators(es) {
        let spec_changed = sync_class(es) == SyncClass::First;
        // A store or credential change (`forced`) does not re-issue a valid lease; a spec,
        // label or annotation change (e.g. `force-sync`) does.
        match leases::Leases::prepare(es, ctx, spec_changed).await? {
            Ok(leases) => Some(leases),
            Err(message) => {
                let step = Step::FetchFailed {
                    message,
                    retry_after: None,
                };
                return finish(es, ctx, &step, None, None, Some(&inputs)).await;
            }
        }
    } else {
        None
    };
    if let Some(until) = leases.as_ref().and_then(leases::Leases::keep_until) {
        // Lease valid, renewal point not reached (or renewed just now): no Vault call, the
        // Secret stays as it is, the next reconcile is the renewal point. A changed or
        // deleted Secret is repaired below (from the cached render, else by a new issue).
        if ctx.writer.is_intact(es).await? {
            set_ready_metric(ctx, es, true);
            return Ok(requeue_at(until));
        }
    }
    let lease_reissue = leases
        .as_ref()
        .is_some_and(|l| !l.is_empty() && l.plan == LeasePlan::Reissue);
    let facts = RefreshFacts {
        forced: forced || lease_reissue,
        due: refresh::should_refresh(&inputs),
        cached: cached.is_some(),
        last_sync_succeeded: last_sync_succeeded(es),
    };
    let decision = decide_refresh(facts);
    if decision == RefreshDecision::SkipIfIntact && ctx.writer.is_intact(es).await? {
        set_ready_metric(ctx, es, true);
        return Ok(next_refresh(&inputs));
    }

    let (result, keys, refreshed, generated, fallbacks) = match (decision, cached) {
        (RefreshDecision::RepairFromCache, Some(desired)) => {
            (Ok(SyncResult::Write(desired)), None, None, None, Vec::new())
        }
        _ => {
            // A periodic refresh shares the reads its aligned group made since it fell due; a
            // first sync those made since its spec was first seen.
            let fresh_since = reads_fresh_since(FreshnessFacts {
                forced: facts.forced,
                first_sync: sync_class(es) == SyncClass::First,
                periodic_due: refresh::periodic_due_at(&inputs),
                changed_at: seen,
            });
            let outcome = match fresh_since {
                Some(since) => {
                    ctx.syncer
                        .sync_fresh_since(es, &ctx.environment, since)
                        .await
                }
                None => ctx.syncer.sync(es, &ctx.environment).await,
            };
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
            if !outcome.fallbacks.is_empty() && outcome.result.is_ok() {
                ctx.event(
                    es,
                    EventType::Warning,
                    reasons::SERVED_FROM_FALLBACK,
                    format!(
                        "store unavailable, served from the fallback store: {}",
                        outcome.fallbacks.join(", ")
                    ),
                )
                .await;
            }
            let keys = outcome.key_statuses();
            (
                outcome.result,
                Some(keys),
                Some(now),
                Some(outcome.generated),
                outcome.fallbacks,
            )
        }
    };
    let generated = generated.unwrap_or_default();

    let result = match result {
        Err(e) => {
            leases::discard(ctx, es, &generated).await;
            ctx.metrics
                .external_secret_failed(&ns, &name, e.kind_label());
            let step = Step::FetchFailed {
                message: e.to_string(),
                retry_after: e.retry_after(),
            };
            return finish(es, ctx, &step, None, keys, Some(&inputs)).await;
        }
        Ok(r) => r,
    };

    let write_error;
    let target;
    let mut lease_wake = None;
    let step = match &result {
        SyncResult::Write(desired) => {
            target = format!("{}/{}", desired.namespace, desired.name);
            match ctx.writer.write_reporting(es, desired).await {
                Ok(WriteReport {
                    outcome,
                    data_changed,
                }) => {
                    // A render served by the fallback is not cached: drift repair then syncs,
                    // trying the primary first.
                    if fallbacks.is_empty() {
                        ctx.remember(&key, es, &synced_version, desired);
                    } else {
                        ctx.forget_render(&key);
                    }
                    if refreshed.is_some() {
                        ctx.metrics
                            .served_from_fallback
                            .set(&ns, &name, !fallbacks.is_empty());
                    }
                    if data_changed {
                        restart_workloads(es, ctx).await;
                    }
                    if let Some(kept) = leases.as_ref().filter(|_| refreshed.is_some()) {
                        lease_wake = kept.replaced(es, ctx, &generated).await?;
                    }
                    Step::Wrote {
                        outcome,
                        target: &target,
                        fallbacks: &fallbacks,
                    }
                }
                Err(e) => {
                    leases::discard(ctx, es, &generated).await;
                    write_error = e;
                    Step::WriteFailed(&write_error)
                }
            }
        }
        SyncResult::Delete {
            name: secret,
            namespace,
        } => {
            target = format!("{namespace}/{secret}");
            match ctx.writer.delete_owned(es, namespace, secret).await {
                Ok(outcome) => {
                    ctx.forget(&key);
                    Step::Deleted {
                        outcome,
                        target: &target,
                    }
                }
                Err(e) => {
                    write_error = e;
                    Step::WriteFailed(&write_error)
                }
            }
        }
        SyncResult::Retain { .. } => Step::Retained,
    };
    if matches!(step, Step::WriteFailed(_)) {
        ctx.metrics
            .external_secret_failed(&ns, &name, "WriteFailed");
    }
    let synced = refreshed.map(|t| (t, synced_version.clone()));
    let action = finish(es, ctx, &step, synced, keys, Some(&inputs)).await?;
    // With leases the next reconcile is the renewal (or re-issue, or revocation) point.
    Ok(lease_wake.map_or(action, requeue_at))
}

/// A requeue at `at` (at least [`MIN_REQUEUE`] from now).
fn requeue_at(at: Timestamp) -> Action {
    let delay = at
        .duration_since(Timestamp::now())
        .try_into()
        .unwrap_or(Duration::ZERO);
    Action::requeue(delay.max(MIN_REQUEUE))
}

/// Performs a step's [`report`]: event, status (only when changed), metrics, next reconcile.
/// `synced` is the (start, syncedResourceVersion) of a provider read that succeeded.
async fn finish(
    es: &ExternalSecret,
    ctx: &Context,
    step: &Step<'_>,
    synced: Option<(Timestamp, String)>,
    keys: Option<Vec<KeyOutcomeStatus>>,
    inputs: Option<&RefreshInputs>,
) -> Result<Action, ReconcileError> {
    let Report {
        readiness,
        event,
        next,
        wrote,
    } = report(step);
    let (ns, name) = key_of(es);
    if wrote {
        ctx.metrics
            .secret_writes
            .get_or_create(&crate::metrics::Metrics::controller(CONTROLLER))
            .inc();
    }
    if let Some(e) = event {
        let type_ = if e.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        if ctx.routine_events.admit(e.warning, e.reason, &ns) {
            ctx.event(es, type_, e.reason, e.note).await;
        } else {
            ctx.metrics.routine_events_skipped.inc();
        }
    }
    let succeeded = next == Next::Refresh;
    let (refreshed, synced_version) = match synced.filter(|_| succeeded) {
        Some((t, v)) => (Some(t), Some(v)),
        None => (None, None),
    };
    let status = next_status(
        es,
        &readiness,
        refreshed,
        synced_version,
        keys,
        Timestamp::now(),
    );
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &ns);
    if let StatusWrite::Written { resource_version } = write_status(&api, es, &status).await? {
        ctx.status_writes.record(
            &(ns.clone(), name.clone()),
            es.metadata.resource_version.as_deref(),
            resource_version.as_deref(),
        );
    }
    set_ready_metric(ctx, es, readiness.ready);
    match next {
        Next::Refresh => {
            ctx.clear_failures(&(ns, name));
            let mut after = match inputs {
                Some(i) => i.clone(),
                None => refresh_inputs(es, ctx, SystemTime::now(), None),
            };
            after.refresh_time = refreshed.map(SystemTime::from).or(after.refresh_time);
            after.now = SystemTime::now();
            Ok(next_refresh(&after))
        }
        Next::Backoff { retry_after } => {
            let failures = ctx.note_failure(&(ns, name));
            Ok(Action::requeue(
                ctx.config.backoff().delay(failures, retry_after),
            ))
        }
        Next::AwaitChange => Ok(Action::await_change()),
    }
}

/// The requeue for the next periodic refresh (the engine's [`refresh::next_refresh_in`]).
fn next_refresh(inputs: &RefreshInputs) -> Action {
    match refresh::next_refresh_in(inputs) {
        Some(delay) => Action::requeue(delay.max(MIN_REQUEUE)),
        None => Action::await_change(),
    }
}

/// True when the status says the last sync wrote the target successfully.
fn last_sync_succeeded(es: &ExternalSecret) -> bool {
    es.status.as_ref().is_some_and(|s| {
        s.conditions.iter().any(|c| {
            c.type_ == reasons::READY
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

/// After the target's data changed: restarts the workloads the ExternalSecret names in
/// [`rollout::ANNOTATION`] (its own namespace only), each reported by an event; a failure never
/// fails the sync.
async fn restart_workloads(es: &ExternalSecret, ctx: &Context) {
    let Some(value) = es.annotations().get(rollout::ANNOTATION) else {
        return;
    };
    let workloads = match rollout::parse(value) {
        Ok(w) => w,
        Err(message) => {
            ctx.event(es, EventType::Warning, "RolloutRestartFailed", message)
                .await;
            return;
        }
    };
    let ns = es.namespace().unwrap_or_default();
    let at = Timestamp::now().to_string();
    for workload in workloads {
        let what = format!("{}/{}", workload.kind, workload.name);
        match rollout::restart(&ctx.client, &ns, &workload, &at).await {
            Ok(()) => {
                ctx.event(
                    es,
                    EventType::Normal,
                    "RolloutRestarted",
                    format!(
                        "{what} restarted: the data of Secret {ns}/{} changed",
                        es.target_name()
                    ),
                )
                .await;
            }
            Err(e) => {
                ctx.event(
                    es,
                    EventType::Warning,
                    "RolloutRestartFailed",
                    format!("{what}: {}", crate::sanitize::api_error(&e)),
                )
                .await;
            }
        }
    }
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

#[cfg(test)]
mod tests;
