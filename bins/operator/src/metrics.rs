//! `/metrics`: the controllers' families plus ESO-compatible names and the engine's fetch stats.
//!
//! The controllers (`secretsync_kube::Metrics`) register `secretsync_*` families. So that ESO
//! dashboards keep working, the exposition is extended at scrape time with ESO's names, derived
//! from those samples:
//!
//! | ESO name | derived from |
//! |---|---|
//! | `externalsecret_sync_calls_total` | `secretsync_sync_calls_total{controller="externalsecret"}` |
//! | `externalsecret_sync_calls_error` | sum of `secretsync_sync_errors_total{controller="externalsecret"}` |
//! | `externalsecret_status_condition{name,namespace,condition="Ready",status}` | `secretsync_externalsecret_ready` |
//! | `externalsecret_reconcile_duration` | mean of `secretsync_reconcile_duration_seconds{controller="externalsecret"}` (seconds) |
//! | `externalsecret_provider_api_calls_count{provider,call,status}` | engine fetch stats (`provider="all"`) |
//!
//! Labels are bounded: controller names, error kinds, condition reasons, object name/namespace
//! (as ESO does). No value read from a provider is ever a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use secretsync_engine::{Engine, FetchStats};

/// Everything `/metrics` serves.
pub struct MetricsSource {
    registry: Registry,
    engine: Arc<Engine>,
}

impl MetricsSource {
    /// Registers the controllers' families.
    pub fn new(controllers: &secretsync_kube::Metrics, engine: Arc<Engine>) -> Self {
        let mut registry = Registry::default();
        controllers.register(&mut registry);
        MetricsSource { registry, engine }
    }

    /// The exposition in Prometheus text format 0.0.4.
    pub fn render(&self, leading: bool) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        let mut text = text.replace("# EOF\n", "");
        append_eso_aliases(&mut text);
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

/// One parsed sample line: name, labels, value.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (head, ""),
    };
    let mut map = BTreeMap::new();
    // Label values here are Kubernetes names, error kinds and reasons: no quotes or commas.
    for pair in labels.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=')?;
        map.insert(k, v.trim_matches('"'));
    }
    Some((name, map, value))
}

fn append_eso_aliases(text: &mut String) {
    let mut sync_calls = 0.0;
    let mut sync_errors = 0.0;
    let mut duration_sum = 0.0;
    let mut duration_count = 0.0;
    // (namespace, name) -> ready
    let mut ready: BTreeMap<(String, String), bool> = BTreeMap::new();
    for line in text.lines() {
        let Some((name, labels, value)) = parse_sample(line) else {
            continue;
        };
        let es = labels.get("controller") == Some(&"externalsecret");
        match name {
            "secretsync_sync_calls_total" if es => sync_calls += value,
            "secretsync_sync_errors_total" if es => sync_errors += value,
            "secretsync_reconcile_duration_seconds_sum" if es => duration_sum += value,
            "secretsync_reconcile_duration_seconds_count" if es => duration_count += value,
            "secretsync_externalsecret_ready" => {
                let key = (
                    labels
                        .get("namespace")
                        .copied()
                        .unwrap_or_default()
                        .to_string(),
                    labels.get("name").copied().unwrap_or_default().to_string(),
                );
                *ready.entry(key).or_default() |= value >= 1.0;
            }
            _ => {}
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP externalsecret_sync_calls_total Total number of ExternalSecret reconciles (ESO name)."
    );
    let _ = writeln!(out, "# TYPE externalsecret_sync_calls_total counter");
    let _ = writeln!(out, "externalsecret_sync_calls_total {sync_calls}");
    let _ = writeln!(
        out,
        "# HELP externalsecret_sync_calls_error Total number of failed ExternalSecret reconciles (ESO name)."
    );
    let _ = writeln!(out, "# TYPE externalsecret_sync_calls_error counter");
    let _ = writeln!(out, "externalsecret_sync_calls_error {sync_errors}");
    let mean = if duration_count > 0.0 {
        duration_sum / duration_count
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "# HELP externalsecret_reconcile_duration Mean ExternalSecret reconcile duration in seconds."
    );
    let _ = writeln!(out, "# TYPE externalsecret_reconcile_duration gauge");
    let _ = writeln!(out, "externalsecret_reconcile_duration {mean}");
    let _ = writeln!(
        out,
        "# HELP externalsecret_status_condition The status condition of an ExternalSecret (ESO name)."
    );
    let _ = writeln!(out, "# TYPE externalsecret_status_condition gauge");
    for ((namespace, name), is_ready) in &ready {
        for (status, value) in [("True", *is_ready), ("False", !*is_ready)] {
            let _ = writeln!(
                out,
                "externalsecret_status_condition{{name=\"{name}\",namespace=\"{namespace}\",condition=\"Ready\",status=\"{status}\"}} {}",
                u8::from(value)
            );
        }
    }
    text.push_str(&out);
}

fn append_fetch_stats(text: &mut String, stats: &FetchStats) {
    let ok = stats.provider_calls.saturating_sub(stats.provider_errors);
    let _ = writeln!(
        text,
        "# HELP externalsecret_provider_api_calls_count Provider API calls (ESO name; provider=\"all\")."
    );
    let _ = writeln!(
        text,
        "# TYPE externalsecret_provider_api_calls_count counter"
    );
    let _ = writeln!(
        text,
        "externalsecret_provider_api_calls_count{{provider=\"all\",call=\"read\",status=\"success\"}} {ok}"
    );
    let _ = writeln!(
        text,
        "externalsecret_provider_api_calls_count{{provider=\"all\",call=\"read\",status=\"error\"}} {}",
        stats.provider_errors
    );
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
    fn eso_aliases_are_derived_from_controller_samples() {
        let mut text = String::from(
            "secretsync_sync_calls_total{controller=\"externalsecret\"} 5\n\
             secretsync_sync_calls_total{controller=\"secretstore\"} 7\n\
             secretsync_sync_errors_total{controller=\"externalsecret\",kind=\"NotFound\"} 2\n\
             secretsync_sync_errors_total{controller=\"externalsecret\",kind=\"WriteFailed\"} 1\n\
             secretsync_reconcile_duration_seconds_sum{controller=\"externalsecret\"} 1.0\n\
             secretsync_reconcile_duration_seconds_count{controller=\"externalsecret\"} 4\n\
             secretsync_externalsecret_ready{namespace=\"ns\",name=\"a\",reason=\"SecretSynced\"} 1\n\
             secretsync_externalsecret_ready{namespace=\"ns\",name=\"b\",reason=\"SecretSyncedError\"} 0\n",
        );
        append_eso_aliases(&mut text);
        assert!(
            text.contains("\nexternalsecret_sync_calls_total 5\n"),
            "{text}"
        );
        assert!(
            text.contains("\nexternalsecret_sync_calls_error 3\n"),
            "{text}"
        );
        assert!(
            text.contains("\nexternalsecret_reconcile_duration 0.25\n"),
            "{text}"
        );
        assert!(text.contains("externalsecret_status_condition{name=\"a\",namespace=\"ns\",condition=\"Ready\",status=\"True\"} 1"));
        assert!(text.contains("externalsecret_status_condition{name=\"b\",namespace=\"ns\",condition=\"Ready\",status=\"False\"} 1"));
        assert!(text.contains("externalsecret_status_condition{name=\"b\",namespace=\"ns\",condition=\"Ready\",status=\"True\"} 0"));
    }

    #[test]
    fn fetch_stats_are_exposed() {
        let stats = FetchStats {
            reads_requested: 10,
            provider_calls: 4,
            coalesced: 6,
            provider_errors: 1,
            throttled: 0,
            providers_built: 2,
        };
        let mut text = String::new();
        append_fetch_stats(&mut text, &stats);
        assert!(text.contains("status=\"success\"} 3\n"), "{text}");
        assert!(text.contains("status=\"error\"} 1\n"), "{text}");
        assert!(
            text.contains("secretsync_provider_reads_coalesced_total 6\n"),
            "{text}"
        );
    }
}
