//! Metrics hooks: plain prometheus-client families the operator binary registers.

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

/// Labels of a status condition gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
    /// Condition reason.
    pub reason: String,
}

/// All controller metrics.
#[derive(Clone)]
pub struct Metrics {
    /// Reconciles started.
    pub sync_calls: Family<ControllerLabels, Counter>,
    /// Reconciles that ended in an error.
    pub sync_errors: Family<ErrorLabels, Counter>,
    /// Writes to Secrets (create/update/delete).
    pub secret_writes: Family<ControllerLabels, Counter>,
    /// 1 when an ExternalSecret is Ready, 0 otherwise.
    pub ready: Family<ConditionLabels, Gauge>,
    /// Reconcile duration in seconds.
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            sync_calls: Family::default(),
            sync_errors: Family::default(),
            secret_writes: Family::default(),
            ready: Family::default(),
            reconcile_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            }),
        }
    }
}

impl Metrics {
    /// Registers every family under the `secretsync` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("secretsync");
        sub.register("sync_calls", "Reconciles started", self.sync_calls.clone());
        sub.register("sync_errors", "Reconciles that failed", self.sync_errors.clone());
        sub.register("secret_writes", "Secret create/update/delete requests", self.secret_writes.clone());
        sub.register("externalsecret_ready", "1 when the ExternalSecret is Ready", self.ready.clone());
        sub.register("reconcile_duration_seconds", "Reconcile duration", self.reconcile_duration.clone());
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
