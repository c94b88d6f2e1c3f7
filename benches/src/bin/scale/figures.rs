//! The figures of one run (serialised as the JSON report), and the check that each was produced.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::stats::{percentile, round3};

/// Per-provider, per-call counts (or rates).
pub type CallFigures = BTreeMap<String, BTreeMap<String, f64>>;

/// One run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// How, where and with what the run was made.
    pub run: RunInfo,
    /// All N ExternalSecrets, created before the operator starts, synced the first time.
    pub first_sync: FirstSync,
    /// ExternalSecrets created while the first refresh wave runs.
    pub new_during_wave: Wave,
    /// Steady refresh cycles after the wave.
    pub refresh: Refresh,
    /// Edited target Secrets put back.
    pub drift_repair: Latency,
}

/// The conditions of a run.
#[derive(Debug, Serialize)]
pub struct RunInfo {
    /// Label of the run (its block in docs/benchmarks.md).
    pub label: String,
    /// UTC time the run started.
    pub date: String,
    /// `git describe` of the working tree (`-dirty` when it had changes).
    pub commit: String,
    /// The command line.
    pub command: String,
    /// CPU, cores, memory, kernel, load average before the run.
    pub machine: BTreeMap<String, String>,
    /// "API double" or "real API server".
    pub cluster: String,
    /// The operator binary.
    pub operator: String,
    /// Arguments given to the operator on top of the harness's own.
    pub operator_args: Vec<String>,
    /// ExternalSecrets.
    pub n: usize,
    /// Distinct remote keys.
    pub k: usize,
    /// Unrelated Secrets.
    pub m: usize,
    /// KiB per unrelated Secret.
    pub unrelated_kib: usize,
    /// Namespaces.
    pub namespaces: usize,
    /// `refreshInterval` of every ExternalSecret.
    pub refresh_interval_s: u64,
    /// Remote keys per provider.
    pub keys_per_provider: BTreeMap<String, usize>,
}

/// First sync of all N.
#[derive(Debug, Serialize)]
pub struct FirstSync {
    /// From the operator's start to the last `Ready=True`.
    pub seconds: f64,
    /// N / seconds.
    pub per_second: f64,
    /// From the operator's start to the first `Ready=True`.
    pub first_ready_s: f64,
    /// Kubernetes API requests per ExternalSecret, by kind.
    pub requests_per_object: BTreeMap<String, f64>,
    /// Their sum.
    pub requests_per_object_total: f64,
    /// LIST requests per ExternalSecret.
    pub lists_per_object: f64,
    /// Calls each backend saw during the first sync.
    pub provider_calls: CallFigures,
    /// Operator CPU time (user + system) during the first sync.
    pub cpu_seconds: f64,
    /// Operator `VmHWM` at the end of the first sync.
    pub peak_rss_mib: f64,
}

/// New ExternalSecrets created during a refresh wave.
#[derive(Debug, Serialize)]
pub struct Wave {
    /// Refreshes per second the harness saw while creating them.
    pub refreshes_per_second_meanwhile: f64,
    /// Creation to `Ready=True`.
    pub time_to_ready: Latency,
}

/// Steady refresh cycles.
#[derive(Debug, Serialize)]
pub struct Refresh {
    /// Cycles measured (each one `refreshInterval`).
    pub cycles: u32,
    /// Refreshes seen per cycle (ideally every ExternalSecret once).
    pub refreshes_per_cycle: f64,
    /// Kubernetes API requests per refresh, by kind.
    pub requests_per_refresh: BTreeMap<String, f64>,
    /// Their sum.
    pub requests_per_refresh_total: f64,
    /// LIST requests per refresh.
    pub lists_per_refresh: f64,
    /// Calls each backend saw per cycle.
    pub provider_calls_per_cycle: CallFigures,
    /// Operator CPU seconds per cycle.
    pub cpu_seconds_per_cycle: f64,
    /// Median `VmRSS` over the cycles.
    pub steady_rss_mib: f64,
    /// `VmHWM` at the end of the cycles.
    pub peak_rss_mib: f64,
    /// Busiest bucket / average bucket, buckets of refreshInterval / 60 ("minutes").
    pub spread: Option<f64>,
    /// Bucket length.
    pub spread_bucket_s: f64,
    /// Refreshes in the busiest bucket.
    pub spread_busiest: u64,
    /// Average refreshes per bucket.
    pub spread_average: f64,
    /// Refreshes in each bucket of the window, in order (JSON only).
    pub spread_counts: Vec<u64>,
}

/// A latency distribution.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: usize,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest, ms.
    pub max_ms: Option<f64>,
}

impl Latency {
    /// The distribution of `samples`.
    pub fn of(samples: &[Duration]) -> Latency {
        let ms = |d: Option<Duration>| d.map(|d| round3(d.as_secs_f64() * 1000.0));
        Latency {
            count: samples.len(),
            p50_ms: ms(percentile(samples, 0.5)),
            p99_ms: ms(percentile(samples, 0.99)),
            max_ms: ms(samples.iter().max().copied()),
        }
    }
}

/// Mebibytes of `kib` KiB.
pub fn mib(kib: u64) -> f64 {
    round3(kib as f64 / 1024.0)
}

/// Paths of figures that are missing (`null`, not finite) or that show the operator did no
/// work (no request, no provider call, no refresh).
pub fn missing_figures(report: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    nulls(report, String::new(), &mut missing);
    let empty_map = |path: &str| {
        report
            .pointer(path)
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
    };
    for path in [
        "/first_sync/requests_per_object",
        "/first_sync/provider_calls/vault",
        "/first_sync/provider_calls/aws",
        "/first_sync/provider_calls/azure",
        "/refresh/requests_per_refresh",
        "/refresh/provider_calls_per_cycle",
    ] {
        if empty_map(path) {
            missing.push(format!("{path} (empty)"));
        }
    }
    for path in [
        "/first_sync/per_second",
        "/refresh/refreshes_per_cycle",
        "/new_during_wave/time_to_ready/count",
        "/drift_repair/count",
    ] {
        if report.pointer(path).and_then(Value::as_f64).unwrap_or(0.0) <= 0.0 {
            missing.push(format!("{path} (zero)"));
        }
    }
    missing
}

/// Sessions opened per steady refresh cycle beyond issue #20's targets (0 Vault logins, 0 STS
/// calls, at most 1 Azure token request): the store validations of the cycle reuse the
/// providers the ExternalSecrets read through. These counts do not depend on the machine's
/// speed, so `--check` asserts them.
pub fn extra_sessions_per_cycle(report: &Value) -> Vec<String> {
    let calls = |provider: &str| {
        report
            .pointer(&format!("/refresh/provider_calls_per_cycle/{provider}"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    // (provider, call names that open a session, most allowed per cycle)
    let limits = [
        ("vault", "auth/", 0.0),
        ("aws", "AssumeRole", 0.0),
        ("aws", "GetSessionToken", 0.0),
        ("azure", "token ", 1.0),
    ];
    let mut extra = Vec::new();
    for (provider, marker, most) in limits {
        let n: f64 = calls(provider)
            .iter()
            .filter(|(call, _)| call.contains(marker) && !call.contains("lookup-self"))
            .filter_map(|(_, v)| v.as_f64())
            .sum();
        if n > most {
            extra.push(format!(
                "{provider} {marker:?} calls per cycle: {n} (at most {most})"
            ));
        }
    }
    extra
}

fn nulls(value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Null => out.push(path),
        Value::Object(map) => {
            for (k, v) in map {
                nulls(v, format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                nulls(v, format!("{path}/{i}"), out);
            }
        }
        Value::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => out.push(path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn complete() -> Value {
        json!({
            "first_sync": {"per_second": 3.0, "requests_per_object": {"GET secrets": 1.0},
                "provider_calls": {"vault": {"read secret/data/*": 3.0}, "aws": {"BatchGetSecretValue": 1.0},
                    "azure": {"GetSecret": 3.0}}},
            "refresh": {"refreshes_per_cycle": 10.0, "requests_per_refresh": {"PATCH externalsecrets/status": 1.0},
                "provider_calls_per_cycle": {"vault": {}}, "spread": 1.2},
            "new_during_wave": {"time_to_ready": {"count": 5, "p50_ms": 12.0}},
            "drift_repair": {"count": 3, "p99_ms": 40.0},
        })
    }

    #[test]
    fn a_complete_report_misses_nothing() {
        assert_eq!(missing_figures(&complete()), Vec::<String>::new());
    }

    #[test]
    fn nulls_empty_maps_and_zero_counts_are_reported() {
        let mut r = complete();
        r["refresh"]["spread"] = Value::Null;
        r["first_sync"]["provider_calls"]["aws"] = json!({});
        r["drift_repair"]["count"] = json!(0);
        assert_eq!(
            missing_figures(&r),
            [
                "/refresh/spread",
                "/first_sync/provider_calls/aws (empty)",
                "/drift_repair/count (zero)"
            ]
        );
    }

    #[test]
    fn sessions_per_cycle_beyond_the_targets_are_reported() {
        let mut r = complete();
        r["refresh"]["provider_calls_per_cycle"] = json!({
            "vault": {"read secret/data/*": 34.0, "read auth/token/lookup-self": 1.0},
            "aws": {"BatchGetSecretValue": 2.0},
            "azure": {"GetSecret": 33.0, "token federated": 1.0}});
        assert_eq!(extra_sessions_per_cycle(&r), Vec::<String>::new());
        r["refresh"]["provider_calls_per_cycle"]["vault"]["update auth/kubernetes/login"] =
            json!(1.0);
        r["refresh"]["provider_calls_per_cycle"]["aws"]["AssumeRoleWithWebIdentity"] = json!(0.5);
        r["refresh"]["provider_calls_per_cycle"]["azure"]["token federated"] = json!(2.0);
        assert_eq!(
            extra_sessions_per_cycle(&r).len(),
            3,
            "{:?}",
            extra_sessions_per_cycle(&r)
        );
    }

    #[test]
    fn latency_figures() {
        let l = Latency::of(&[Duration::from_millis(10), Duration::from_millis(30)]);
        assert_eq!(
            (l.count, l.p50_ms, l.p99_ms, l.max_ms),
            (2, Some(10.0), Some(30.0), Some(30.0))
        );
        assert_eq!(Latency::of(&[]).p50_ms, None);
    }
}
