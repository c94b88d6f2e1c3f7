//! controller-runtime's metric families (names, labels, buckets and meanings of
//! controller-runtime v0.24, which ESO uses), so ESO's Grafana dashboard and alerts work.
//!
//! | Family | Labels | Meaning here |
//! |---|---|---|
//! | `controller_runtime_reconcile_total` | controller, result | reconciles performed; `result` is `success`, `error`, `requeue` (never: we have no rate-limited requeue without a delay, kept at 0 as controller-runtime does) or `requeue_after` |
//! | `controller_runtime_reconcile_errors_total` | controller | reconciles with `result="error"` |
//! | `controller_runtime_reconcile_time_seconds` | controller | histogram of the reconcile (after its slot was taken) |
//! | `controller_runtime_max_concurrent_reconciles` | controller | `--concurrent` |
//! | `controller_runtime_active_workers` | controller | reconciles holding a slot |
//! | `workqueue_depth` | name, controller | reconciles due and waiting for a slot |
//! | `workqueue_adds_total` | name, controller | reconciles that became due |
//! | `workqueue_queue_duration_seconds` | name, controller | histogram of the wait for a slot |
//! | `workqueue_work_duration_seconds` | name, controller | histogram of the work |
//! | `workqueue_retries_total` | name, controller | reconciles ending with a delayed requeue (error backoff or `requeue_after`) |
//! | `workqueue_unfinished_work_seconds` | name, controller | seconds of work in progress (set at scrape) |
//! | `workqueue_longest_running_processor_seconds` | name, controller | the longest reconcile in progress (set at scrape) |
//!
//! `controller` (and the workqueue's `name`) is ESO's controller name: `externalsecret`,
//! `secretstore`, `clustersecretstore`, `clusterexternalsecret`. A reconcile that gives up
//! while still waiting (shutdown) leaves the queue without counting as performed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// controller-runtime's `controller_runtime_reconcile_time_seconds` buckets.
const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

/// The controllers, by ESO's names.
pub const CONTROLLERS: [&str; 4] = [
    "externalsecret",
    "secretstore",
    "clustersecretstore",
    "clusterexternalsecret",
];

/// How a reconcile ended, as controller-runtime labels it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ReconcileResult {
    /// Done, nothing scheduled.
    success,
    /// Failed (requeued with backoff).
    error,
    /// Requeued at once, rate limited (never produced here).
    requeue,
    /// Requeued after a delay (the next refresh or validation).
    requeue_after,
}

impl ReconcileResult {
    const ALL: [ReconcileResult; 4] = [
        ReconcileResult::success,
        ReconcileResult::error,
        ReconcileResult::requeue,
        ReconcileResult::requeue_after,
    ];

    /// The result of a reconcile that `failed` and returned `action`.
    pub fn of(failed: bool, action: &impl Requeues) -> Self {
        if failed {
            ReconcileResult::error
        } else if action.requeues() {
            ReconcileResult::requeue_after
        } else {
            ReconcileResult::success
        }
    }
}

/// A reconcile's answer: whether it asked to run again after a delay.
pub trait Requeues {
    /// Whether a requeue after a delay was asked for.
    fn requeues(&self) -> bool;
}

impl Requeues for kube::runtime::controller::Action {
    fn requeues(&self) -> bool {
        *self != kube::runtime::controller::Action::await_change()
    }
}

impl Requeues for crate::controller::runner::Action {
    fn requeues(&self) -> bool {
        self.requeue_after().is_some()
    }
}

/// `controller` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// ESO's controller name.
    pub controller: String,
}

/// `controller`, `result` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// ESO's controller name.
    pub controller: String,
    /// How the reconcile ended.
    pub result: ReconcileResult,
}

/// The workqueue's `name`, `controller` labels (both the controller name).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// The queue's name (the controller name).
    pub name: String,
    /// ESO's controller name.
    pub controller: String,
}

/// The families (see the module docs). Cloning shares them.
#[derive(Clone)]
pub struct RuntimeFamilies {
    reconcile_total: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ControllerLabel, Counter>,
    reconcile_time: Family<ControllerLabel, Histogram>,
    max_concurrent: Family<ControllerLabel, Gauge>,
    active_workers: Family<ControllerLabel, Gauge>,
    depth: Family<QueueLabels, Gauge>,
    adds: Family<QueueLabels, Counter>,
    queue_duration: Family<QueueLabels, Histogram>,
    work_duration: Family<QueueLabels, Histogram>,
    retries: Family<QueueLabels, Counter>,
    unfinished: Family<QueueLabels, Gauge<f64, AtomicU64>>,
    longest: Family<QueueLabels, Gauge<f64, AtomicU64>>,
    running: Arc<Mutex<HashMap<u64, (&'static str, Instant)>>>,
    next_id: Arc<AtomicU64>,
}

fn workqueue_histogram() -> Histogram {
    // controller-runtime: prometheus.ExponentialBuckets(10e-9, 10, 12).
    Histogram::new(exponential_buckets(10e-9, 10.0, 12))
}

impl Default for RuntimeFamilies {
    fn default() -> Self {
        RuntimeFamilies {
            reconcile_total: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_time: Family::new_with_constructor(|| Histogram::new(RECONCILE_TIME_BUCKETS)),
            max_concurrent: Family::default(),
            active_workers: Family::default(),
            depth: Family::default(),
            adds: Family::default(),
            queue_duration: Family::new_with_constructor(workqueue_histogram),
            work_duration: Family::new_with_constructor(workqueue_histogram),
            retries: Family::default(),
            unfinished: Family::default(),
            longest: Family::default(),
            running: Arc::default(),
            next_id: Arc::default(),
        }
    }
}

fn controller(name: &str) -> ControllerLabel {
    ControllerLabel {
        controller: name.to_string(),
    }
}

fn queue(name: &str) -> QueueLabels {
    QueueLabels {
        name: name.to_string(),
        controller: name.to_string(),
    }
}

impl RuntimeFamilies {
    /// Registers the families under controller-runtime's names (no prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            self.reconcile_total.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            self.reconcile_errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            self.reconcile_time.clone(),
        );
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            self.max_concurrent.clone(),
        );
        registry.register(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            self.active_workers.clone(),
        );
        registry.register(
            "workqueue_depth",
            "Current depth of workqueue",
            self.depth.clone(),
        );
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            self.adds.clone(),
        );
        registry.register(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            self.queue_duration.clone(),
        );
        registry.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            self.work_duration.clone(),
        );
        registry.register(
            "workqueue_retries",
            "Total number of items added to the workqueue with a non-zero delay",
            self.retries.clone(),
        );
        registry.register(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
            self.unfinished.clone(),
        );
        registry.register(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running",
            self.longest.clone(),
        );
    }

    /// Creates every series of `name` at zero, as controller-runtime does when a controller
    /// starts, with its slot count.
    pub fn start_controller(&self, name: &str, max_concurrent: u16) {
        let c = controller(name);
        for result in ReconcileResult::ALL {
            let _ = self.reconcile_total.get_or_create(&ResultLabels {
                controller: name.to_string(),
                result,
            });
        }
        let _ = self.reconcile_errors.get_or_create(&c);
        let _ = self.reconcile_time.get_or_create(&c);
        self.max_concurrent
            .get_or_create(&c)
            .set(i64::from(max_concurrent));
        let _ = self.active_workers.get_or_create(&c);
        let q = queue(name);
        let _ = self.depth.get_or_create(&q);
        let _ = self.adds.get_or_create(&q);
        let _ = self.queue_duration.get_or_create(&q);
        let _ = self.work_duration.get_or_create(&q);
        let _ = self.retries.get_or_create(&q);
        let _ = self.unfinished.get_or_create(&q);
        let _ = self.longest.get_or_create(&q);
    }

    /// A reconcile of `controller` became due: it waits in the queue until [`Queued::start`].
    pub fn queued(&self, controller: &'static str) -> Queued {
        let q = queue(controller);
        self.adds.get_or_create(&q).inc();
        self.depth.get_or_create(&q).inc();
        Queued {
            families: self.clone(),
            controller,
            since: Instant::now(),
            left: false,
        }
    }

    /// Sets the gauges measured at scrape time (work in progress).
    pub fn refresh(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in CONTROLLERS {
            let elapsed = running
                .values()
                .filter(|(c, _)| *c == name)
                .map(|(_, since)| since.elapsed().as_secs_f64());
            let (sum, max) = elapsed.fold((0.0, 0.0_f64), |(s, m), e| (s + e, m.max(e)));
            let q = queue(name);
            if self.depth.get(&q).is_some() {
                self.unfinished.get_or_create(&q).set(sum);
                self.longest.get_or_create(&q).set(max);
            }
        }
    }

    /// The number of reconciles of `controller` ending with `result` (for tests and checks).
    pub fn reconciles(&self, controller: &str, result: ReconcileResult) -> u64 {
        self.reconcile_total
            .get(&ResultLabels {
                controller: controller.to_string(),
                result,
            })
            .map_or(0, |c| c.get())
    }
}

/// A reconcile waiting in the queue; dropping it (shutdown) just leaves the queue.
pub struct Queued {
    families: RuntimeFamilies,
    controller: &'static str,
    since: Instant,
    left: bool,
}

impl Queued {
    /// The reconcile took its slot: it leaves the queue and becomes active.
    pub fn start(mut self) -> Working {
        self.leave();
        let f = &self.families;
        let q = queue(self.controller);
        f.queue_duration
            .get_or_create(&q)
            .observe(self.since.elapsed().as_secs_f64());
        f.active_workers
            .get_or_create(&controller(self.controller))
            .inc();
        let id = f.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        f.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, (self.controller, started));
        Working {
            families: f.clone(),
            controller: self.controller,
            id,
            started,
            done: false,
        }
    }

    fn leave(&mut self) {
        if !self.left {
            self.left = true;
            self.families
                .depth
                .get_or_create(&queue(self.controller))
                .dec();
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A reconcile holding a slot; [`Working::finish`] counts it. Dropped unfinished (a panic
/// unwinding past it), it stops being active without being counted.
pub struct Working {
    families: RuntimeFamilies,
    controller: &'static str,
    id: u64,
    started: Instant,
    done: bool,
}

impl Working {
    /// Counts the reconcile with its result.
    pub fn finish(mut self, result: ReconcileResult) {
        let f = &self.families;
        let seconds = self.started.elapsed().as_secs_f64();
        let c = controller(self.controller);
        let q = queue(self.controller);
        f.reconcile_total
            .get_or_create(&ResultLabels {
                controller: self.controller.to_string(),
                result,
            })
            .inc();
        if result == ReconcileResult::error {
            f.reconcile_errors.get_or_create(&c).inc();
        }
        if matches!(
            result,
            ReconcileResult::error | ReconcileResult::requeue_after
        ) {
            f.retries.get_or_create(&q).inc();
        }
        f.reconcile_time.get_or_create(&c).observe(seconds);
        f.work_duration.get_or_create(&q).observe(seconds);
        self.stop();
    }

    fn stop(&mut self) {
        if !self.done {
            self.done = true;
            self.families
                .active_workers
                .get_or_create(&controller(self.controller))
                .dec();
            self.families
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&self.id);
        }
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::controller::Action;
    use std::time::Duration;

    fn text(f: &RuntimeFamilies) -> String {
        let mut registry = Registry::default();
        f.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn results_follow_controller_runtime() {
        let cases = [
            (false, Action::await_change(), ReconcileResult::success),
            (
                false,
                Action::requeue(Duration::from_secs(60)),
                ReconcileResult::requeue_after,
            ),
            (
                true,
                Action::requeue(Duration::from_secs(1)),
                ReconcileResult::error,
            ),
            (true, Action::await_change(), ReconcileResult::error),
        ];
        for (failed, action, expected) in cases {
            assert_eq!(ReconcileResult::of(failed, &action), expected, "{action:?}");
        }
    }

    #[test]
    fn a_reconcile_moves_from_the_queue_to_a_worker_and_is_counted() {
        let f = RuntimeFamilies::default();
        f.start_controller("externalsecret", 3);
        let queued = f.queued("externalsecret");
        let given_up = f.queued("externalsecret");
        assert!(
            text(&f).contains(
                "workqueue_depth{name=\"externalsecret\",controller=\"externalsecret\"} 2"
            )
        );
        drop(given_up);
        let working = queued.start();
        f.refresh();
        let during = text(&f);
        assert!(
            during.contains(
                "workqueue_depth{name=\"externalsecret\",controller=\"externalsecret\"} 0"
            ),
            "{during}"
        );
        assert!(
            during.contains("controller_runtime_active_workers{controller=\"externalsecret\"} 1"),
            "{during}"
        );
        working.finish(ReconcileResult::error);
        let after = text(&f);
        for line in [
            "controller_runtime_reconcile_total{controller=\"externalsecret\",result=\"error\"} 1",
            "controller_runtime_reconcile_total{controller=\"externalsecret\",result=\"success\"} 0",
            "controller_runtime_reconcile_total{controller=\"externalsecret\",result=\"requeue\"} 0",
            "controller_runtime_reconcile_errors_total{controller=\"externalsecret\"} 1",
            "controller_runtime_reconcile_time_seconds_count{controller=\"externalsecret\"} 1",
            "controller_runtime_max_concurrent_reconciles{controller=\"externalsecret\"} 3",
            "controller_runtime_active_workers{controller=\"externalsecret\"} 0",
            "workqueue_adds_total{name=\"externalsecret\",controller=\"externalsecret\"} 2",
            "workqueue_retries_total{name=\"externalsecret\",controller=\"externalsecret\"} 1",
            "workqueue_queue_duration_seconds_count{name=\"externalsecret\",controller=\"externalsecret\"} 1",
            "workqueue_work_duration_seconds_count{name=\"externalsecret\",controller=\"externalsecret\"} 1",
        ] {
            assert!(
                after.lines().any(|l| l == line),
                "missing {line:?} in\n{after}"
            );
        }
        assert_eq!(f.reconciles("externalsecret", ReconcileResult::error), 1);
    }
}
