//! The ExternalSecret reconcile loop: one [`DueQueue`] slot per object, at most `in_flight`
//! reconciles at once, each object reconciled by one task at a time.
//!
//! It replaces kube-runtime's `Controller` for ExternalSecrets (the stores, ClusterExternalSecrets
//! and PushSecrets still use it) for memory: kube-runtime's scheduler, predicate cache and
//! runner tables grew to every object during a first sync and never shrank (about 1.2 kB per
//! ExternalSecret, `docs/benchmarks.md`). Semantics kept from it:
//! - no reconcile starts before the object cache has listed
//!   ([`CompactStore::wait_until_ready`]);
//! - an object is reconciled by one task at a time; a trigger meanwhile runs it again after;
//! - of several requests for an object the earliest wins, including the reconcile's own
//!   requeue ([`Action`]);
//! - watch objects trigger only when their fingerprint changes (here: generation, labels,
//!   annotations, finalizers, deletion, uid);
//! - on shutdown no new reconcile starts, and those running finish.

mod queue;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use secretsync_model::external_secret::ExternalSecret;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cache::compact_store::CompactStore;

use queue::{DueQueue, Key};

/// What a reconcile asks for next: to run again after a delay, or only when something changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Run again after `delay` (or earlier, when something changes).
    pub const fn requeue(delay: Duration) -> Self {
        Action {
            requeue_after: Some(delay),
        }
    }

    /// Run again only when something changes.
    pub const fn await_change() -> Self {
        Action {
            requeue_after: None,
        }
    }

    /// The delay asked for, if any.
    pub const fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }
}

/// What the runner knows of the object a reconcile is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// When its current spec, labels and annotations (its trigger fingerprint) were first seen
    /// on the watch; every change to them was written before this instant. `None` when the
    /// runner has not seen the object on the watch.
    pub changed_at: Option<Instant>,
}

/// The retry of an object whose reconcile task panicked outside the reconcile's own guard.
const PANIC_RETRY: Duration = Duration::from_secs(5);

/// The fingerprint of what triggers a reconcile: `changed` for a watch object; see the module
/// docs.
pub(crate) type Fingerprint = fn(&ExternalSecret) -> u64;

/// Runs the loop until `shutdown` is cancelled and the running reconciles have finished.
///
/// - `objects`: the ExternalSecret watch, already feeding `cache`.
/// - `triggers`: other watches mapped to the ExternalSecrets they concern.
/// - `reconcile`: one reconcile of the cached object, given when its current spec, labels and
///   annotations were first seen ([`Observed`]), returning what to do next; it never fails (errors
///   are turned into an [`Action`] by the caller).
pub(crate) async fn run<Objects, Triggers, Reconcile, Fut>(
    cache: CompactStore<ExternalSecret>,
    objects: Objects,
    triggers: Triggers,
    fingerprint: Fingerprint,
    in_flight: usize,
    shutdown: CancellationToken,
    reconcile: Reconcile,
) where
    Objects: Stream<Item = watcher::Event<ExternalSecret>> + Send,
    Triggers: Stream<Item = ObjectRef<ExternalSecret>> + Send,
    Reconcile: Fn(Arc<ExternalSecret>, Observed) -> Fut,
    Fut: Future<Output = Action> + Send + 'static,
{
    let in_flight = in_flight.max(1);
    let mut queue = DueQueue::default();
    let mut running: JoinSet<(Key, Action)> = JoinSet::new();
    let objects = objects.fuse();
    let triggers = triggers.fuse();
    futures::pin_mut!(objects, triggers);
    let listed = cache.wait_until_ready();
    futures::pin_mut!(listed);
    let mut ready = false;
    let mut stopping = false;
    loop {
        if ready && !stopping {
            start_due(&cache, &mut queue, &mut running, in_flight, &reconcile);
        }
        if stopping && running.is_empty() {
            return;
        }
        let wake = queue
            .next_due()
            .filter(|_| ready && !stopping && running.len() < in_flight);
        tokio::select! {
            biased;
            () = shutdown.cancelled(), if !stopping => stopping = true,
            Some(done) = running.join_next(), if !running.is_empty() => match done {
                Ok(((namespace, name), action)) => {
                    queue.finish(&namespace, &name, due_after(action));
                }
                // Only at runtime shutdown: panics are caught in the task.
                Err(error) => tracing::debug!(%error, "a reconcile task ended abnormally"),
            },
            () = &mut listed, if !ready => ready = true,
            Some(event) = objects.next() => {
                observe(&cache, &mut queue, fingerprint, event, Instant::now());
            }
            Some(object) = triggers.next() => {
                if let Some(namespace) = object.namespace.as_deref() {
                    queue.schedule(namespace, &object.name, Instant::now());
                }
            }
            () = sleep_until(wake), if wake.is_some() => {}
            else => return,
        }
    }
}

/// When a reconcile that returned `action` is due again; a delay beyond what the clock can
/// represent waits for a change instead (never a panic, whatever the object asked for).
fn due_after(action: Action) -> Option<Instant> {
    action
        .requeue_after()
        .and_then(|delay| Instant::now().checked_add(delay))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Applies one watch event, received at `now`, to the queue: a changed object is due now; a
/// deleted one is forgotten; after a re-list, objects that went away are dropped.
fn observe(
    cache: &CompactStore<ExternalSecret>,
    queue: &mut DueQueue,
    fingerprint: Fingerprint,
    event: watcher::Event<ExternalSecret>,
    now: Instant,
) {
    match event {
        watcher::Event::Apply(es) | watcher::Event::InitApply(es) => {
            let (Some(namespace), Some(name)) = (
                es.metadata.namespace.as_deref(),
                es.metadata.name.as_deref(),
            ) else {
                return;
            };
            if queue.changed(namespace, name, fingerprint(&es), now) {
                queue.schedule(namespace, name, now);
            }
        }
        watcher::Event::Delete(es) => {
            if let (Some(namespace), Some(name)) = (
                es.metadata.namespace.as_deref(),
                es.metadata.name.as_deref(),
            ) {
                queue.forget(namespace, name);
            }
        }
        watcher::Event::InitDone => {
            queue.retain_existing(|namespace, name| cache.contains(namespace, name));
        }
        watcher::Event::Init => {}
    }
}

/// Starts the due reconciles while slots are free; an object no longer cached is dropped.
fn start_due<Reconcile, Fut>(
    cache: &CompactStore<ExternalSecret>,
    queue: &mut DueQueue,
    running: &mut JoinSet<(Key, Action)>,
    in_flight: usize,
    reconcile: &Reconcile,
) where
    Reconcile: Fn(Arc<ExternalSecret>, Observed) -> Fut,
    Fut: Future<Output = Action> + Send + 'static,
{
    let now = Instant::now();
    while running.len() < in_flight {
        let Some((namespace, name)) = queue.pop_due(now) else {
            return;
        };
        let Some(es) = cache.get(&namespace, &name) else {
            queue.finish(&namespace, &name, None);
            queue.forget(&namespace, &name);
            continue;
        };
        let observed = Observed {
            changed_at: queue.changed_at(&namespace, &name),
        };
        let span = tracing::info_span!("reconciling object", object.ref = %format_args!("{namespace}/{name}"));
        let work = AssertUnwindSafe(reconcile(es, observed)).catch_unwind();
        running.spawn(
            async move {
                let action = work.await.unwrap_or_else(|_panic| {
                    tracing::error!("the reconcile task panicked; retrying");
                    Action::requeue(PANIC_RETRY)
                });
                ((namespace, name), action)
            }
            .instrument(span),
        );
    }
}

#[cfg(test)]
mod tests;
