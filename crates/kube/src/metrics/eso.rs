//! ESO's metric families under ESO's exact names, so existing dashboards keep working.
//!
//! prometheus-client always appends `_total` to counters, but ESO (client_golang) exposes
//! `externalsecret_sync_calls_error` and `externalsecret_provider_api_calls_count` without it,
//! so these families are kept as plain labelled values and written in the text format here.
//!
//! | Family | Type | Labels |
//! |---|---|---|
//! | `externalsecret_sync_calls_total` | counter | name, namespace |
//! | `externalsecret_sync_calls_error` | counter | name, namespace |
//! | `externalsecret_reconcile_duration`, `secretstore_reconcile_duration` | gauge (nanoseconds, as ESO: `float64(time.Since(start))`) | name, namespace |
//! | `clustersecretstore_reconcile_duration`, `clusterexternalsecret_reconcile_duration` | gauge (nanoseconds) | name |
//! | `externalsecret_status_condition` | gauge | name, namespace, condition, status |
//! | `secretstore_status_condition` | gauge | name, namespace, condition, status |
//! | `clustersecretstore_status_condition` | gauge | name, condition, status |
//! | `clusterexternalsecret_status_condition` | gauge | name, condition, status |
//! | `pushsecret_status_condition`, `pushsecret_reconcile_duration` (nanoseconds) | gauge | name, namespace (+ condition, status) |
//! | `clusterpushsecret_status_condition`, `clusterpushsecret_reconcile_duration` (nanoseconds) | gauge | name (+ condition, status) |
//! | `externalsecret_provider_api_calls_count` | counter | provider, call, status |
//!
//! Per-object series exist only while the object does: they are dropped when it is deleted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// The kinds of object with a `*_status_condition` family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// `ExternalSecret`.
    ExternalSecret,
    /// `SecretStore`.
    SecretStore,
    /// `ClusterSecretStore`.
    ClusterSecretStore,
    /// `ClusterExternalSecret`.
    ClusterExternalSecret,
    /// `PushSecret`.
    PushSecret,
    /// `ClusterPushSecret`.
    ClusterPushSecret,
}

impl From<secretsync_model::external_secret::StoreKind> for ObjectKind {
    fn from(kind: secretsync_model::external_secret::StoreKind) -> Self {
        match kind {
            secretsync_model::external_secret::StoreKind::SecretStore => ObjectKind::SecretStore,
            secretsync_model::external_secret::StoreKind::ClusterSecretStore => {
                ObjectKind::ClusterSecretStore
            }
        }
    }
}

impl ObjectKind {
    const ALL: [ObjectKind; 6] = [
        ObjectKind::ExternalSecret,
        ObjectKind::SecretStore,
        ObjectKind::ClusterSecretStore,
        ObjectKind::ClusterExternalSecret,
        ObjectKind::PushSecret,
        ObjectKind::ClusterPushSecret,
    ];

    fn prefix(self) -> &'static str {
        match self {
            ObjectKind::ExternalSecret => "externalsecret",
            ObjectKind::SecretStore => "secretstore",
            ObjectKind::ClusterSecretStore => "clustersecretstore",
            ObjectKind::ClusterExternalSecret => "clusterexternalsecret",
            ObjectKind::PushSecret => "pushsecret",
            ObjectKind::ClusterPushSecret => "clusterpushsecret",
        }
    }

    fn namespaced(self) -> bool {
        matches!(
            self,
            ObjectKind::ExternalSecret | ObjectKind::SecretStore | ObjectKind::PushSecret
        )
    }
}

/// One object: kind, namespace (empty for cluster-scoped kinds) and name.
pub type ObjectKey = (ObjectKind, String, String);

/// Per-ExternalSecret reconcile figures.
#[derive(Clone, Copy, Debug, Default)]
struct ReconcileFigures {
    calls: u64,
    errors: u64,
}

/// What one object's series show, held under one key (three maps of the same keys took about
/// 250 bytes more per ExternalSecret).
#[derive(Clone, Copy, Debug, Default)]
struct ObjectSeries {
    /// ExternalSecrets: reconciles and failures, once the first is counted.
    reconciles: Option<ReconcileFigures>,
    /// The `Ready` condition, once set.
    ready: Option<bool>,
    /// The last reconcile's duration in nanoseconds, once one finished.
    duration_nanos: Option<f64>,
}

/// The ESO families (see the module docs).
#[derive(Default)]
pub struct EsoFamilies {
    objects: Mutex<BTreeMap<ObjectKey, ObjectSeries>>,
    provider_calls: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EsoFamilies {
    /// Records one ExternalSecret reconcile that took `seconds`.
    pub fn reconciled(&self, namespace: &str, name: &str, seconds: f64) {
        let mut objects = lock(&self.objects);
        let series = objects.entry(external_secret(namespace, name)).or_default();
        series.reconciles.get_or_insert_default().calls += 1;
        series.duration_nanos = Some(seconds * 1e9);
    }

    /// Records how long the last reconcile of any object took (`*_reconcile_duration`).
    pub fn took(&self, key: ObjectKey, seconds: f64) {
        lock(&self.objects).entry(key).or_default().duration_nanos = Some(seconds * 1e9);
    }

    /// Completed reconciles of one ExternalSecret.
    pub fn reconcile_count(&self, namespace: &str, name: &str) -> u64 {
        lock(&self.objects)
            .get(&external_secret(namespace, name))
            .and_then(|s| s.reconciles)
            .map_or(0, |f| f.calls)
    }

    /// Records one failed ExternalSecret sync (provider, template or write error).
    pub fn failed(&self, namespace: &str, name: &str) {
        lock(&self.objects)
            .entry(external_secret(namespace, name))
            .or_default()
            .reconciles
            .get_or_insert_default()
            .errors += 1;
    }

    /// Sets the `Ready` condition of an object.
    pub fn set_ready(&self, key: ObjectKey, ready: bool) {
        lock(&self.objects).entry(key).or_default().ready = Some(ready);
    }

    /// Counts one provider API call.
    pub fn provider_call(&self, provider: &'static str, call: &'static str, status: &'static str) {
        *lock(&self.provider_calls)
            .entry((provider, call, status))
            .or_default() += 1;
    }

    /// Drops every series of a deleted object.
    pub fn forget(&self, key: &ObjectKey) {
        lock(&self.objects).remove(key);
    }

    /// Drops the series of every object for which `alive` answers false.
    pub fn retain(&self, alive: impl Fn(&ObjectKey) -> bool) {
        lock(&self.objects).retain(|k, _| alive(k));
    }

    /// Calls `report` with each kind's controller name and its number of Ready objects.
    pub fn count_ready(&self, mut report: impl FnMut(&'static str, i64)) {
        let objects = lock(&self.objects);
        for kind in ObjectKind::ALL {
            let n = objects
                .iter()
                .filter(|((k, _, _), s)| *k == kind && s.ready == Some(true))
                .count();
            report(kind.prefix(), i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Appends the families in the Prometheus text format (0.0.4).
    pub fn encode(&self, out: &mut String) {
        let objects = lock(&self.objects).clone();
        let reconciles: Vec<(&str, &str, ReconcileFigures)> = objects
            .iter()
            .filter(|((k, _, _), _)| *k == ObjectKind::ExternalSecret)
            .filter_map(|((_, ns, name), s)| Some((ns.as_str(), name.as_str(), s.reconciles?)))
            .collect();
        header(
            out,
            "externalsecret_sync_calls_total",
            "counter",
            "Total number of ExternalSecret reconciles.",
        );
        for (ns, name, f) in &reconciles {
            sample(
                out,
                "externalsecret_sync_calls_total",
                &[("name", name), ("namespace", ns)],
                f.calls as f64,
            );
        }
        header(
            out,
            "externalsecret_sync_calls_error",
            "counter",
            "Total number of ExternalSecret reconciles that failed.",
        );
        for (ns, name, f) in &reconciles {
            sample(
                out,
                "externalsecret_sync_calls_error",
                &[("name", name), ("namespace", ns)],
                f.errors as f64,
            );
        }
        for kind in ObjectKind::ALL {
            let family = format!("{}_reconcile_duration", kind.prefix());
            header(
                out,
                &family,
                "gauge",
                "The duration of the last reconcile in nanoseconds (ESO name and unit).",
            );
            for ((k, ns, name), s) in &objects {
                if let (true, Some(nanos)) = (*k == kind, s.duration_nanos) {
                    sample(out, &family, &object_labels(kind, ns, name), nanos);
                }
            }
        }

        for kind in ObjectKind::ALL {
            let family = format!("{}_status_condition", kind.prefix());
            header(
                out,
                &family,
                "gauge",
                "The status condition of an object (ESO name).",
            );
            for ((k, ns, name), s) in &objects {
                let (true, Some(ready)) = (*k == kind, s.ready) else {
                    continue;
                };
                for (status, value) in [("True", ready), ("False", !ready)] {
                    let mut labels = object_labels(kind, ns, name);
                    labels.push(("condition", "Ready"));
                    labels.push(("status", status));
                    sample(out, &family, &labels, f64::from(u8::from(value)));
                }
            }
        }

        header(
            out,
            "externalsecret_provider_api_calls_count",
            "counter",
            "Number of API calls towards the secret provider.",
        );
        for ((provider, call, status), n) in lock(&self.provider_calls).iter() {
            sample(
                out,
                "externalsecret_provider_api_calls_count",
                &[("provider", provider), ("call", call), ("status", status)],
                *n as f64,
            );
        }
    }
}

/// The key of ExternalSecret `namespace/name`.
fn external_secret(namespace: &str, name: &str) -> ObjectKey {
    (
        ObjectKind::ExternalSecret,
        namespace.to_string(),
        name.to_string(),
    )
}

/// `name` (and `namespace` for namespaced kinds).
fn object_labels<'a>(kind: ObjectKind, ns: &'a str, name: &'a str) -> Vec<(&'static str, &'a str)> {
    let mut labels = vec![("name", name)];
    if kind.namespaced() {
        labels.push(("namespace", ns));
    }
    labels
}

pub(super) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub(super) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(out, v);
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}

/// Escapes a label value as the text format requires (backslash, quote, newline).
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es(ns: &str, name: &str) -> ObjectKey {
        (ObjectKind::ExternalSecret, ns.to_string(), name.to_string())
    }

    #[test]
    fn families_carry_eso_names_and_labels() {
        let f = EsoFamilies::default();
        f.reconciled("ns", "a", 0.5);
        f.reconciled("ns", "a", 0.25);
        f.failed("ns", "a");
        f.set_ready(es("ns", "a"), false);
        f.set_ready(
            (
                ObjectKind::ClusterSecretStore,
                String::new(),
                "vault".into(),
            ),
            true,
        );
        f.provider_call("AWS/SecretsManager", "GetSecretValue", "success");
        f.provider_call("AWS/SecretsManager", "GetSecretValue", "success");
        let mut text = String::new();
        f.encode(&mut text);
        for line in [
            "externalsecret_sync_calls_total{name=\"a\",namespace=\"ns\"} 2",
            "externalsecret_sync_calls_error{name=\"a\",namespace=\"ns\"} 1",
            "externalsecret_reconcile_duration{name=\"a\",namespace=\"ns\"} 250000000",
            "externalsecret_status_condition{name=\"a\",namespace=\"ns\",condition=\"Ready\",status=\"False\"} 1",
            "externalsecret_status_condition{name=\"a\",namespace=\"ns\",condition=\"Ready\",status=\"True\"} 0",
            "clustersecretstore_status_condition{name=\"vault\",condition=\"Ready\",status=\"True\"} 1",
            "externalsecret_provider_api_calls_count{provider=\"AWS/SecretsManager\",call=\"GetSecretValue\",status=\"success\"} 2",
            "# TYPE externalsecret_sync_calls_error counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn a_condition_has_one_pair_of_series_whatever_the_reason_history() {
        let f = EsoFamilies::default();
        f.set_ready(es("ns", "a"), false);
        f.set_ready(es("ns", "a"), true);
        let mut text = String::new();
        f.encode(&mut text);
        let series = text
            .lines()
            .filter(|l| l.starts_with("externalsecret_status_condition{"))
            .count();
        assert_eq!(series, 2, "{text}");
        assert!(text.contains("status=\"True\"} 1"), "{text}");
    }

    #[test]
    fn deleted_objects_lose_their_series() {
        let f = EsoFamilies::default();
        f.reconciled("ns", "a", 0.1);
        f.set_ready(es("ns", "a"), true);
        f.reconciled("ns", "b", 0.1);
        f.set_ready(es("ns", "b"), true);
        f.forget(&es("ns", "a"));
        f.retain(|k| k.2 != "b");
        let mut text = String::new();
        f.encode(&mut text);
        assert!(!text.contains("name=\"a\""), "{text}");
        assert!(!text.contains("name=\"b\""), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("l", "a\"b\\c\nd")], 1.0);
        assert_eq!(out, "m{l=\"a\\\"b\\\\c\\nd\"} 1\n");
    }
}
