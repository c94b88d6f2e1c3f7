//! End-to-end: the operator binary syncs the ADR's ExternalSecret and reports ESO metrics.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use support::{Cluster, Operator, family_sum, sample, wait_for};

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
    assert!(op.ready(), "/readyz");

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
