//! Metrics hooks: the controllers' and the fetch layer's figures, for the operator's `/metrics`.
//!
//! - `secretsync_*` families are prometheus-client families ([`Metrics::register`]):
//!   reconcile counters and latency histograms per controller, provider-call latency per
//!   provider and call, coalesced reads.
//! - ESO's own names ([`eso`]) are written by [`Metrics::encode_eso`], so ESO dashboards work.
//! - per-ExternalSecret secretsync families written next to ESO's, with the same pruning:
//!   [`fallback`] (`secretsync_externalsecret_served_from_fallback`).
//! - controller-runtime's `controller_runtime_*` and `workqueue_*` families ([`runtime`]), which
//!   ESO's dashboard and alerts query.
//!
//! Labels are bounded: controller names, error kinds, ESO provider/call names and the names of
//! existing objects (as ESO does); series of deleted objects are dropped. No value read from a
//! provider is ever a label.

pub mod eso;
pub mod fallback;
pub mod runtime;

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels identifying a controller.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// `externalsecret`, `secretstore`, `clustersecretstore`, `clusterexternalsecret`.
    pub controller: String,
}

/// Labels of a sync error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Controller name.
    pub controller: String,
    /// Short error kind (`Unavailable`, `NotFound`, `WriteFailed`, ...).
    pub kind: String,
}

/// Labels of a provider call (ESO's provider and call names).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderCallLabels {
    /// ESO's provider label, e.g. `HashiCorp/Vault`.
    pub provider: String,
    /// ESO's call label, e.g. `ReadSecretData`.
    pub call: String,
}

/// Tells whether an object still exists (backed by a controller's reflector store).
type Liveness = Box<dyn Fn(&eso::ObjectKey) -> Option<bool> + Send + Sync>;

/// Labels of per-class gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    /// `first` or `refresh`.
    pub class: String,
}

/// All controller and fetch-layer metrics. Cloning shares the families.
#[derive(Clone)]
pub struct Metrics {
    /// Reconciles started.
    pub sync_calls: Family<ControllerLabels, Counter>,
    /// Reconciles that ended in an error.
    pub sync_errors: Family<ErrorLabels, Counter>,
    /// Writes to Secrets (create/update/delete).
    pub secret_writes: Family<ControllerLabels, Counter>,
    /// Number of objects per controller whose `Ready` condition is True.
    pub ready_objects: Family<ControllerLabels, Gauge>,
    /// Reconcile duration in seconds.
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
    /// Provider call duration in seconds.
    pub provider_call_duration: Family<ProviderCallLabels, Histogram>,
    /// Reads served by an identical read in flight or within the coalescing window.
    pub reads_coalesced: Family<ProviderCallLabels, Counter>,
    /// ExternalSecret reconciles waiting for a sync slot, per class (`first`, `refresh`).
    pub sync_waiting: Family<ClassLabels, Gauge>,
    /// ESO's families under ESO's names.
    pub eso: Arc<eso::EsoFamilies>,
    /// controller-runtime's families.
    pub runtime: runtime::RuntimeFamilies,
    /// ExternalSecrets served by their fallback store.
    pub served_from_fallback: Arc<fallback::ServedFromFallback>,
    /// Routine events not published (over the budget of [`crate::events::RoutineEvents`]).
    pub routine_events_skipped: Counter,
    liveness: Arc<Mutex<Vec<Liveness>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            sync_calls: Family::default(),
            sync_errors: Family::default(),
            secret_writes: Family::default(),
            ready_objects: Family::default(),
            reconcile_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            }),
            provider_call_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            }),
            reads_coalesced: Family::default(),
            sync_waiting: Family::default(),
            eso: Arc::default(),
            runtime: runtime::RuntimeFamilies::default(),
            served_from_fallback: Arc::default(),
            routine_events_skipped: Counter::default(),
            liveness: Arc::default(),
        }
    }
}

impl secretsync_engine::FetchObserver for Metrics {
    fn provider_call(&self, call: &secretsync_engine::fetch::ProviderCall) {
        self.eso.provider_call(
            call.labels.provider,
            call.labels.call,
            call.status.as_label(),
        );
        self.provider_call_duration
            .get_or_create(&ProviderCallLabels {
                provider: call.labels.provider.to_string(),
                call: call.labels.call.to_string(),
            })
            .observe(call.elapsed.as_secs_f64());
    }

    fn read_coalesced(&self, labels: secretsync_engine::fetch::CallLabels) {
        self.reads_coalesced
            .get_or_create(&ProviderCallLabels {
                provider: labels.provider.to_string(),
                call: labels.call.to_string(),
            })
            .inc();
    }
}

impl Metrics {
    /// Registers controller-runtime's families under their names and every other family
    /// under the `secretsync` prefix.
    pub fn register(&self, registry: &mut Registry) {
        self.runtime.register(registry);
        let sub = registry.sub_registry_with_prefix("secretsync");
        sub.register("sync_calls", "Reconciles started", self.sync_calls.clone());
        sub.register(
            "sync_errors",
            "Reconciles that failed",
            self.sync_errors.clone(),
        );
        sub.register(
            "secret_writes",
            "Secret create/update/delete requests",
            self.secret_writes.clone(),
        );
        sub.register(
            "routine_events_skipped",
            "Created/Updated events on ExternalSecrets not published: over the routine event budget",
            self.routine_events_skipped.clone(),
        );
        sub.register(
            "ready_objects",
            "Objects whose Ready condition is True, per controller",
            self.ready_objects.clone(),
        );
        sub.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            self.reconcile_duration.clone(),
        );
        sub.register(
            "provider_call_duration_seconds",
            "Provider call duration, per ESO provider and call name",
            self.provider_call_duration.clone(),
        );
        sub.register(
            "provider_coalesced_reads",
            "Reads served by an identical in-flight or recent read, per ESO provider and call name",
            self.reads_coalesced.clone(),
        );
        sub.register(
            "sync_waiting",
            "ExternalSecret reconciles waiting for a sync slot, per class (first, refresh)",
            self.sync_waiting.clone(),
        );
    }

    /// Completed reconciles of one ExternalSecret so far (ESO's `externalsecret_sync_calls_total`).
    pub fn external_secret_reconciles(&self, namespace: &str, name: &str) -> u64 {
        self.eso.reconcile_count(namespace, name)
    }

    /// Reconciles waiting for a sync slot in `class` (`first` or `refresh`).
    pub fn waiting_for_slot(&self, class: &str) -> i64 {
        self.sync_waiting
            .get_or_create(&ClassLabels {
                class: class.to_string(),
            })
            .get()
    }

    /// Sets the gauges measured at scrape time; call before encoding the registry.
    pub fn before_scrape(&self) {
        self.runtime.refresh();
    }

    /// Appends ESO's families and secretsync's per-object families in the text format, after
    /// dropping series of deleted objects.
    pub fn encode_eso(&self, out: &mut String) {
        self.prune_deleted();
        self.eso.encode(out);
        self.served_from_fallback.encode(out);
        self.count_ready();
    }

    /// Registers a way to tell whether objects still exist; `alive` answers `None` for kinds
    /// it does not know.
    pub(crate) fn track_liveness(
        &self,
        alive: impl Fn(&eso::ObjectKey) -> Option<bool> + Send + Sync + 'static,
    ) {
        lock(&self.liveness).push(Box::new(alive));
    }

    fn prune_deleted(&self) {
        let trackers = lock(&self.liveness);
        let alive = |key: &eso::ObjectKey| trackers.iter().all(|alive| alive(key) != Some(false));
        self.eso.retain(alive);
        self.served_from_fallback.retain(|ns, name| {
            alive(&(
                eso::ObjectKind::ExternalSecret,
                ns.to_string(),
                name.to_string(),
            ))
        });
    }

    fn count_ready(&self) {
        self.eso.count_ready(|kind, n| {
            self.ready_objects
                .get_or_create(&Self::controller(kind))
                .set(n);
        });
    }

    /// Records the end of an ExternalSecret reconcile.
    pub(crate) fn external_secret_reconciled(&self, namespace: &str, name: &str, seconds: f64) {
        let labels = Self::controller("externalsecret");
        self.sync_calls.get_or_create(&labels).inc();
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(seconds);
        self.eso.reconciled(namespace, name, seconds);
    }

    /// Records how long the last reconcile of a store or ClusterExternalSecret took
    /// (ESO's `*_reconcile_duration`).
    pub(crate) fn object_reconciled(
        &self,
        kind: eso::ObjectKind,
        namespace: &str,
        name: &str,
        seconds: f64,
    ) {
        self.eso
            .took((kind, namespace.to_string(), name.to_string()), seconds);
    }

    /// Records a failed ExternalSecret sync with a short error kind.
    pub(crate) fn external_secret_failed(&self, namespace: &str, name: &str, kind: &str) {
        self.error("externalsecret", kind);
        self.eso.failed(namespace, name);
    }

    /// Sets the `Ready` condition series of an object.
    pub(crate) fn set_ready(
        &self,
        kind: eso::ObjectKind,
        namespace: &str,
        name: &str,
        ready: bool,
    ) {
        self.eso
            .set_ready((kind, namespace.to_string(), name.to_string()), ready);
    }

    /// Drops the series of a deleted object.
    pub(crate) fn forget(&self, kind: eso::ObjectKind, namespace: &str, name: &str) {
        if kind == eso::ObjectKind::ExternalSecret {
            self.served_from_fallback.forget(namespace, name);
        }
        self.eso
            .forget(&(kind, namespace.to_string(), name.to_string()));
    }

    pub(crate) fn controller(name: &str) -> ControllerLabels {
        ControllerLabels {
            controller: name.to_string(),
        }
    }

    pub(crate) fn error(&self, controller: &str, kind: &str) {
        self.sync_errors
            .get_or_create(&ErrorLabels {
                controller: controller.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
