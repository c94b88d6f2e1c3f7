//! End-to-end: the operator binary syncs the ADR's ExternalSecret and reports ESO metrics.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/promql.rs"]
mod promql;
use crate::support;

use std::time::Duration;

use base64::Engine as _;
use support::{Cluster, Operator, family_sum, repo_root, sample, wait_for};

const CANARY: &str = "canary-5f1c2e7a-never-in-metrics";

fn store_yaml(name: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: {name}
spec:
  provider:
    fake:
      data:
        - key: crossplane-azure-credentials
          value: '{{"clientId":"c-1","clientSecret":"{CANARY}"}}'
        - key: app-a
          value: plain-value-a
"#
    )
}

/// The ADR's YAML verbatim except for the namespace and (on a real cluster) the store name.
fn adr_external_secret(namespace: &str, store: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: azure-credentials
  namespace: {namespace}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: {store}  # or "vault" after migration
    kind: ClusterSecretStore
  target:
    name: azure-credentials
    creationPolicy: Owner
  data:
    - secretKey: credentials
      remoteRef:
        key: crossplane-azure-credentials
"#
    )
}

fn simple_external_secret(namespace: &str, store: &str, name: &str, key: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {name}
  namespace: {namespace}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  target: {{name: {name}}}
  data:
    - secretKey: value
      remoteRef: {{key: {key}}}
"#
    )
}

pub fn store_name(cluster: &mut Cluster) -> String {
    if cluster.is_double() {
        "azure-keyvault".to_string()
    } else {
        let name = format!("azure-keyvault-{:08x}", support::rand_u32());
        cluster.cleanup.push(vec![
            "delete".into(),
            "clustersecretstore".into(),
            name.clone(),
        ]);
        name
    }
}

fn secret_value(cluster: &Cluster, ns: &str, name: &str, key: &str) -> Option<String> {
    let secret = cluster.get_json(&["secret", "-n", ns, name])?;
    let b64 = secret["data"][key].as_str()?;
    Some(
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
    )
}

#[test]
fn adr_external_secret_is_synced_and_metrics_match_the_workload() {
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("crossplane-system");
    let store = store_name(&mut cluster);
    cluster.apply(&store_yaml(&store));
    cluster.apply(&adr_external_secret(&ns, &store));
    cluster.apply(&simple_external_secret(&ns, &store, "app-a", "app-a"));
    cluster.apply(&simple_external_secret(
        &ns,
        &store,
        "broken",
        "no-such-key",
    ));
    // A SecretStore and a ClusterExternalSecret, so every controller has reconciled something.
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: local, namespace: {ns}}}\n\
         spec: {{provider: {{fake: {{data: [{{key: k, value: v}}]}}}}}}\n"
    ));
    let ces = format!("fan-out-{:08x}", support::rand_u32());
    cluster.cleanup.push(vec![
        "delete".into(),
        "clusterexternalsecret".into(),
        ces.clone(),
    ]);
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {{name: {ces}}}\n\
         spec:\n  namespaceSelectors: [{{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}]\n  \
         externalSecretSpec:\n    secretStoreRef: {{name: local, kind: SecretStore}}\n    \
         target: {{name: fanned}}\n    data: [{{secretKey: k, remoteRef: {{key: k}}}}]\n"
    ));

    let mut op = Operator::start(
        &cluster,
        &[
            format!("--operator-namespace={ns}"),
            "--concurrency=2".into(),
        ],
    );

    let value = wait_for(
        Duration::from_secs(60),
        "Secret azure-credentials to be synced",
        || secret_value(&cluster, &ns, "azure-credentials", "credentials"),
    );
    assert_eq!(
        value,
        format!(r#"{{"clientId":"c-1","clientSecret":"{CANARY}"}}"#)
    );
    let owner = cluster
        .get_json(&["secret", "-n", &ns, "azure-credentials"])
        .unwrap();
    assert_eq!(
        owner["metadata"]["ownerReferences"][0]["kind"], "ExternalSecret",
        "creationPolicy Owner"
    );
    assert_eq!(
        wait_for(Duration::from_secs(30), "Secret app-a", || secret_value(
            &cluster, &ns, "app-a", "value"
        )),
        "plain-value-a"
    );

    let cond = |name: &str, status: &str| {
        format!(
            "externalsecret_status_condition{{name=\"{name}\",namespace=\"{ns}\",condition=\"Ready\",status=\"{status}\"}}"
        )
    };
    let text = wait_for(
        Duration::from_secs(30),
        "metrics for all three ExternalSecrets",
        || {
            let text = op.metrics()?;
            (sample(&text, &cond("azure-credentials", "True")) == Some(1.0)
                && sample(&text, &cond("app-a", "True")) == Some(1.0)
                && sample(&text, &cond("broken", "False")) == Some(1.0)
                // (the flood gate may fail "broken" before its store is validated: wait for
                // the provider's own answer)
                && sample(
                    &text,
                    "externalsecret_provider_api_calls_count{provider=\"Fake\",call=\"GetSecret\",status=\"error\"}",
                )
                .is_some())
            .then_some(text)
        },
    );
    assert_eq!(sample(&text, &cond("broken", "True")), Some(0.0), "{text}");
    let per_object = |family: &str, name: &str| {
        sample(
            &text,
            &format!("{family}{{name=\"{name}\",namespace=\"{ns}\"}}"),
        )
    };
    for name in ["azure-credentials", "app-a", "broken"] {
        assert!(
            per_object("externalsecret_sync_calls_total", name).unwrap() >= 1.0,
            "{name}: {text}"
        );
        assert!(
            per_object("externalsecret_reconcile_duration", name).is_some(),
            "{name}: {text}"
        );
    }
    // (app-a may have one error too: with the flood gate its first reconcile can come before
    // the store's first validation.)
    assert!(
        per_object("externalsecret_sync_calls_error", "broken").unwrap() >= 1.0,
        "the broken one fails: {text}"
    );
    // Two independent counting paths agree: the fetch layer's totals and the per-provider
    // families fed by the engine's observer hook.
    let calls = family_sum(&text, "externalsecret_provider_api_calls_count").unwrap();
    assert_eq!(
        Some(calls),
        sample(&text, "secretsync_provider_calls_total"),
        "{text}"
    );
    // (prometheus-client writes nothing for a family without series)
    assert_eq!(
        family_sum(&text, "secretsync_provider_coalesced_reads_total").unwrap_or(0.0),
        sample(&text, "secretsync_provider_reads_coalesced_total").unwrap(),
        "{text}"
    );
    let fake = |status: &str| {
        sample(
            &text,
            &format!(
                "externalsecret_provider_api_calls_count{{provider=\"Fake\",call=\"GetSecret\",status=\"{status}\"}}"
            ),
        )
        .unwrap_or(0.0)
    };
    assert!(
        fake("success") >= 2.0,
        "two reads succeed at least once: {text}"
    );
    assert!(fake("error") >= 1.0, "the missing key is an error: {text}");
    assert!(
        text.contains("secretsync_reconcile_duration_seconds_bucket"),
        "reconcile latency histogram: {text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                "clustersecretstore_status_condition{{name=\"{store}\",condition=\"Ready\",status=\"True\"}}"
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("secretsync_provider_call_duration_seconds_bucket{"),
        "provider call latency histogram: {text}"
    );
    assert_eq!(sample(&text, "secretsync_leader"), Some(1.0));
    assert!(!text.contains(CANARY), "secret value leaked into /metrics");
    // Ready once every watch has listed: on the double at once, on a real cluster holding many
    // Secrets the metadata watch may still be listing after this ExternalSecret synced.
    wait_for(Duration::from_secs(60), "/readyz", || {
        op.ready().then_some(())
    });
    dashboards_and_alerts_find_their_series(&cluster, &op, &ces);

    // A deleted ExternalSecret leaves no stale series behind.
    cluster.kubectl_ok(&["delete", "externalsecret", "-n", &ns, "broken"]);
    wait_for(
        Duration::from_secs(30),
        "the deleted ExternalSecret's series to disappear",
        || {
            let text = op.metrics()?;
            (!text.contains("name=\"broken\"")).then_some(())
        },
    );

    let status = cluster
        .get_json(&["externalsecret", "-n", &ns, "azure-credentials"])
        .unwrap();
    let ready = status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap();
    assert_eq!(ready["status"], "True", "{status}");

    let exit = op.terminate(Duration::from_secs(20));
    assert!(
        exit.success(),
        "graceful SIGTERM exits 0, got {exit:?}\n{}",
        op.log_text()
    );
    assert!(
        !op.log_text().contains(CANARY),
        "secret value leaked into logs"
    );
}

#[test]
fn bad_flags_fail_at_start_with_a_clear_message() {
    for (flags, expected) in [
        (
            vec![
                "--leader-elect",
                "--leader-election-lease-duration=5s",
                "--leader-election-renew-deadline=5s",
            ],
            "--leader-election-renew-deadline (5s) must be shorter than --leader-election-lease-duration (5s)",
        ),
        (
            vec!["--metrics-addr=not-an-address"],
            "--metrics-addr: expected an address like 0.0.0.0:8080",
        ),
        (
            vec!["--refresh-jitter=2"],
            "--refresh-jitter: expected a fraction between 0 and 0.5",
        ),
    ] {
        let out = std::process::Command::new(support::operator_bin())
            .args(&flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} must fail");
        assert!(stderr.contains(expected), "{flags:?}: stderr was {stderr}");
    }
}

#[test]
fn missing_crds_fail_with_a_clear_message() {
    let double =
        secretsync_testkit::kube_api::KubeApiServer::start_blocking(Default::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kubeconfig).unwrap();
    let port = support::free_port();
    let out = std::process::Command::new(support::operator_bin())
        .env("KUBECONFIG", &kubeconfig)
        .args([
            format!("--metrics-addr=127.0.0.1:{port}"),
            format!("--health-addr=127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is the external-secrets.io CRD installed"),
        "{stderr}"
    );
}

/// Every query of the shipped dashboard and alerts selects series of this scrape; every query of
/// ESO's dashboard names only families the operator exports (except its webhook's: there is no
/// webhook) and selects series (except the webhook's and PushSecret's: no such controller);
/// `controller_runtime_reconcile_total` counts the reconciles performed.
fn dashboards_and_alerts_find_their_series(cluster: &Cluster, op: &Operator, ces: &str) {
    // Every ExternalSecret reconcile is counted twice: in controller-runtime's total and in its
    // object's `externalsecret_sync_calls_total` series. A deleted object's series is dropped
    // (as ESO drops it), so the two meet exactly only while no ExternalSecret this operator
    // reconciled has been deleted: on the double, which this test has to itself. On a shared
    // real cluster this cluster-wide operator also reconciles other tests' ExternalSecrets,
    // which they then delete; there the total is at least the sum of the surviving series.
    let exclusive = cluster.is_double();
    let mut last = (0.0, 0.0);
    // The series of all four controllers, the ClusterExternalSecret's included.
    let text = wait_for(
        Duration::from_secs(30),
        "every controller's figures (see the counts printed above)",
        || {
            let text = op.metrics()?;
            let performed = |c: &str| {
                family_sum_where(
                    &text,
                    "controller_runtime_reconcile_total",
                    &format!("controller=\"{c}\""),
                )
            };
            let es_reconciles = performed("externalsecret");
            let sync_calls = family_sum(&text, "externalsecret_sync_calls_total").unwrap_or(-1.0);
            if (es_reconciles, sync_calls) != last {
                last = (es_reconciles, sync_calls);
                eprintln!(
                    "externalsecret reconciles: controller_runtime_reconcile_total {es_reconciles}, \
                     sum of externalsecret_sync_calls_total {sync_calls}"
                );
            }
            let counts_agree = if exclusive {
                es_reconciles == sync_calls
            } else {
                es_reconciles >= sync_calls
            };
            (["secretstore", "clustersecretstore", "clusterexternalsecret"]
                .iter()
                .all(|c| performed(c) >= 1.0)
                && text.contains(&format!(
                    "clusterexternalsecret_reconcile_duration{{name=\"{ces}\"}}"
                ))
                && es_reconciles >= 1.0
                && sync_calls >= 1.0
                && counts_agree)
                .then_some(text)
        },
    );
    let series = promql::parse_scrape(&text);
    // The Service Prometheus scrapes: the chart's, installed as ESO users name the release.
    let rendered = cluster.helm_ok(&[
        "template",
        "external-secrets",
        &repo_root().join("deploy/helm/secretsync").to_string_lossy(),
        "--show-only",
        "templates/service.yaml",
    ]);
    let service: serde_yaml::Value = serde_yaml::from_str(&rendered).unwrap();
    let service = service["metadata"]["name"].as_str().unwrap().to_string();
    let target = [("service", service.as_str()), ("job", service.as_str())];

    let check = |origin: &str, query: &str, vars: &[(&str, &str)]| -> Vec<(String, bool)> {
        let expanded = promql::expand_grafana(query, vars);
        let selectors =
            promql::selectors(&expanded).unwrap_or_else(|e| panic!("{origin}: {e} in {expanded}"));
        assert!(!selectors.is_empty(), "{origin}: no selector in {expanded}");
        selectors
            .iter()
            .map(|s| {
                (
                    s.metric.clone(),
                    !promql::select(s, &series, &target).is_empty(),
                )
            })
            .collect()
    };

    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/monitoring/grafana-dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let default_service = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "service")
        .unwrap()["query"]
        .as_str()
        .unwrap()
        .to_string();
    let vars = [("service", default_service.as_str()), ("controller", ".*")];
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let query = target["expr"].as_str().unwrap();
            for (metric, found) in check(panel["title"].as_str().unwrap(), query, &vars) {
                assert!(
                    found,
                    "dashboard panel {}: no series for {metric} in {query}\n{text}",
                    panel["title"]
                );
            }
            queries += 1;
        }
    }
    assert!(queries >= 20, "{queries}");
    // The kustomize Service matches the default too.
    assert!(
        regex::Regex::new(&format!("^(?:{default_service})$"))
            .unwrap()
            .is_match("secretsync-metrics")
    );

    let rules: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/monitoring/prometheus-rules.yaml"))
            .unwrap(),
    )
    .unwrap();
    let mut alerts = 0;
    for group in rules["spec"]["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let expr = rule["expr"].as_str().unwrap();
            for (metric, found) in check(rule["alert"].as_str().unwrap(), expr, &[]) {
                assert!(
                    found,
                    "alert {:?}: no series for {metric} in {expr}",
                    rule["alert"]
                );
            }
            alerts += 1;
        }
    }
    assert!(alerts >= 8, "{alerts}");

    // ESO's dashboard, unchanged ($controller takes each of its values in turn).
    let eso = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/eso_dashboard_queries.txt"),
    )
    .unwrap();
    let body: String = eso
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let webhook = [
        "controller_runtime_webhook_requests_total",
        "controller_runtime_webhook_latency_seconds_bucket",
        "controller_runtime_webhook_requests_in_flight",
    ];
    let mut empty = std::collections::BTreeSet::new();
    let mut eso_queries = 0;
    for query in body.split("\n---\n") {
        eso_queries += 1;
        for controller in [
            "externalsecret",
            "secretstore",
            "clustersecretstore",
            "clusterexternalsecret",
        ] {
            for (metric, found) in check("ESO dashboard", query, &[("controller", controller)]) {
                let exported = series.iter().any(|s| s.metric == metric);
                assert!(
                    exported || webhook.contains(&metric.as_str()),
                    "ESO dashboard: {metric} is not exported ({query})"
                );
                if !found {
                    empty.insert((metric, query.contains("pushsecret")));
                }
            }
        }
    }
    assert_eq!(eso_queries, 26);
    for (metric, pushsecret) in &empty {
        assert!(
            webhook.contains(&metric.as_str()) || *pushsecret,
            "ESO dashboard: {metric} selects nothing outside the webhook and PushSecret panels"
        );
    }
}

/// Sum of the samples of `family` whose labels contain `label` (e.g. `controller="x"`).
fn family_sum_where(text: &str, family: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
