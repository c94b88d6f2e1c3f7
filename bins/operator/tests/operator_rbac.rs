//! The operator binary run as its own ServiceAccount under each overlay's RBAC
//! (`deploy/overlays/{cluster-wide,namespace-scoped,ha}`), with the Deployment's own arguments:
//! ready within 10 s, syncs, and no request is forbidden (on the double RBAC is enforced as on
//! a real cluster; there the request log must hold no 403 at all, and on both the operator's log
//! must not mention one).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use support::overlay::{self, NAMESPACE, SERVICE_ACCOUNT};
use support::{Cluster, Operator, wait_for};

fn fake_store(kind: &str, name: &str, namespace: Option<&str>) -> String {
    let ns = namespace.map_or(String::new(), |n| format!("\n  namespace: {n}"));
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: {kind}
metadata:
  name: {name}{ns}
spec:
  provider:
    fake:
      data:
        - key: rbac-key
          value: rbac-value-{kind}
"#
    )
}

fn external_secret(namespace: &str, name: &str, store_kind: &str, store: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {name}
  namespace: {namespace}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: {store}, kind: {store_kind}}}
  target: {{name: {name}}}
  data:
    - secretKey: value
      remoteRef: {{key: rbac-key}}
"#
    )
}

fn cluster_external_secret(name: &str, label: &str, store: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: {name}
spec:
  namespaceSelectors:
    - matchLabels: {{rbac-test: "{label}"}}
  externalSecretName: {name}
  externalSecretSpec:
    refreshInterval: 1h
    secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
    target: {{name: {name}}}
    data:
      - secretKey: value
        remoteRef: {{key: rbac-key}}
"#
    )
}

fn synced(cluster: &Cluster, namespace: &str, name: &str) -> bool {
    cluster
        .get_json(&["secret", "-n", namespace, name])
        .is_some_and(|s| s["data"]["value"].is_string())
}

fn run_overlay(overlay_name: &str) {
    let mut cluster = Cluster::start();
    let docs = overlay::build(&cluster, overlay_name);
    overlay::install(&mut cluster, &docs);
    let args = overlay::operator_args(&docs);
    let namespace_scoped = args.iter().any(|a| a.starts_with("--namespace="));
    let suffix = format!("{:08x}", support::rand_u32());

    // The workload: a SecretStore and its ExternalSecret in the served namespace; cluster-wide
    // also a ClusterSecretStore, an ExternalSecret using it and a ClusterExternalSecret.
    let mut expected = Vec::new();
    let ns = if namespace_scoped {
        NAMESPACE.to_string()
    } else {
        cluster.namespace("rbac")
    };
    let store = format!("store-{suffix}");
    cluster.apply(&fake_store("SecretStore", &store, Some(&ns)));
    let es = format!("es-{suffix}");
    cluster.apply(&external_secret(&ns, &es, "SecretStore", &store));
    expected.push(es);
    if !namespace_scoped {
        let cluster_store = format!("cluster-store-{suffix}");
        cluster.apply(&fake_store("ClusterSecretStore", &cluster_store, None));
        cluster.cleanup.push(vec![
            "delete".into(),
            "clustersecretstore".into(),
            cluster_store.clone(),
        ]);
        let es = format!("es-cluster-{suffix}");
        cluster.apply(&external_secret(
            &ns,
            &es,
            "ClusterSecretStore",
            &cluster_store,
        ));
        expected.push(es);
        cluster.kubectl_ok(&["label", "namespace", &ns, &format!("rbac-test={suffix}")]);
        let ces = format!("ces-{suffix}");
        cluster.apply(&cluster_external_secret(&ces, &suffix, &cluster_store));
        cluster.cleanup.push(vec![
            "delete".into(),
            "clusterexternalsecret".into(),
            ces.clone(),
        ]);
        expected.push(ces);
    }

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig =
        overlay::service_account_kubeconfig(&cluster, NAMESPACE, SERVICE_ACCOUNT, dir.path());
    if let Some(double) = &cluster.double {
        double.reset_counters();
    }
    let started = Instant::now();
    let op = Operator::start_as(
        &kubeconfig,
        &args,
        &[
            ("POD_NAMESPACE", NAMESPACE),
            ("POD_NAME", "secretsync-operator-rbac-test"),
        ],
    );
    wait_for(Duration::from_secs(10), "/readyz to answer 200", || {
        op.ready().then_some(())
    });
    let ready_after = started.elapsed();
    for name in &expected {
        wait_for(
            Duration::from_secs(30),
            &format!("Secret {ns}/{name}"),
            || synced(&cluster, &ns, name).then_some(()),
        );
    }
    eprintln!(
        "{overlay_name}: ready after {ready_after:?}, {} Secrets synced",
        expected.len()
    );

    if let Some(double) = &cluster.double {
        let forbidden: Vec<String> = double
            .request_log()
            .iter()
            .filter(|r| r.code == 403)
            .map(|r| format!("{} {} {}", r.verb, r.path, r.subresource))
            .collect();
        assert!(
            forbidden.is_empty(),
            "{overlay_name}: the operator was denied: {forbidden:?}\n{}",
            op.log_text()
        );
    }
    let log = op.log_text();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "{overlay_name}: a 403 in the operator's log:\n{log}"
    );
}

#[test]
fn cluster_wide_rbac_is_enough() {
    run_overlay("cluster-wide");
}

#[test]
fn namespace_scoped_rbac_is_enough() {
    run_overlay("namespace-scoped");
}

#[test]
fn ha_rbac_is_enough() {
    run_overlay("ha");
}
