//! `/metrics`: the controllers' families, ESO's names, the engine's fetch totals, leadership.
//!
//! `secretsync_kube::Metrics` holds everything per controller, provider and object:
//! `secretsync_*` prometheus-client families (reconcile and provider-call histograms, coalesced
//! reads per provider) and ESO's families under ESO's exact names
//! (`externalsecret_sync_calls_total`, `externalsecret_sync_calls_error`,
//! `externalsecret_status_condition`, `externalsecret_reconcile_duration`,
//! `externalsecret_provider_api_calls_count`, `*_status_condition` of stores). The engine reports
//! provider calls to it through its `FetchObserver` hook, and controller-runtime's
//! `controller_runtime_*` / `workqueue_*` families. This module adds the engine's overall
//! fetch totals and the leader gauge.
//!
//! Labels are bounded: controller names, error kinds, ESO provider/call names and the names of
//! existing objects (as ESO does). No value read from a provider is ever a label.

use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use secretsync_engine::{Engine, FetchStats};

/// Everything `/metrics` serves.
pub struct MetricsSource {
    registry: Registry,
    controllers: secretsync_kube::Metrics,
    engine: Arc<Engine>,
}

impl MetricsSource {
    /// Registers the controllers' families.
    pub fn new(controllers: &secretsync_kube::Metrics, engine: Arc<Engine>) -> Self {
        let mut registry = Registry::default();
        controllers.register(&mut registry);
        MetricsSource {
            registry,
            controllers: controllers.clone(),
            engine,
        }
    }

    /// The exposition in Prometheus text format 0.0.4.
    pub fn render(&self, leading: bool) -> String {
        self.controllers.before_scrape();
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        let mut text = text.replace("# EOF\n", "");
        self.controllers.encode_eso(&mut text);
        append_fetch_stats(&mut text, &self.engine.fetch_stats());
        let _ = writeln!(
            text,
            "# HELP secretsync_leader 1 while this process holds the leader Lease (or runs without leader election)."
        );
        let _ = writeln!(text, "# TYPE secretsync_leader gauge");
        let _ = writeln!(text, "secretsync_leader {}", u8::from(leading));
        text
    }
}

fn append_fetch_stats(text: &mut String, stats: &FetchStats) {
    for (name, help, value) in [
        (
            "secretsync_provider_reads_requested_total",
            "Reads asked for by syncs.",
            stats.reads_requested,
        ),
        (
            "secretsync_provider_calls_total",
            "Calls actually made to providers.",
            stats.provider_calls,
        ),
        (
            "secretsync_provider_reads_coalesced_total",
            "Reads served by an identical in-flight or recent read.",
            stats.coalesced,
        ),
        (
            "secretsync_provider_errors_total",
            "Provider calls that failed.",
            stats.provider_errors,
        ),
        (
            "secretsync_provider_throttled_total",
            "Provider calls answered with throttling.",
            stats.throttled,
        ),
        (
            "secretsync_providers_built_total",
            "Providers built (first use or spec change).",
            stats.providers_built,
        ),
        (
            "secretsync_provider_retries_total",
            "Provider calls repeated under the store's retry settings.",
            stats.retries,
        ),
    ] {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} counter");
        let _ = writeln!(text, "{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_stats_are_exposed() {
        let stats = FetchStats {
            reads_requested: 10,
            provider_calls: 4,
            coalesced: 6,
            provider_errors: 1,
            throttled: 0,
            providers_built: 2,
            retries: 3,
        };
        let mut text = String::new();
        append_fetch_stats(&mut text, &stats);
        assert!(
            text.contains("secretsync_provider_reads_coalesced_total 6\n"),
            "{text}"
        );
    }
}
