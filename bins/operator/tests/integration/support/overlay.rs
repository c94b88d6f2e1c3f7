//! The RBAC and Deployment of a `deploy/overlays/<name>` install, for running the operator
//! binary as its own ServiceAccount under that RBAC.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Cluster, Operator, repo_root, wait_for};

/// The objects `kubectl kustomize` builds for `source` (an overlay directory or a file of
/// rendered manifests).
pub fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// `kubectl kustomize deploy/overlays/<overlay>`.
pub fn build(cluster: &Cluster, overlay: &str) -> Vec<Value> {
    let dir = repo_root().join("deploy/overlays").join(overlay);
    documents(&cluster.kubectl_ok(&["kustomize", &dir.to_string_lossy()]))
}

/// Applies everything but the CRDs (already installed) and the Deployment (the test runs the
/// binary itself): Namespace, ServiceAccount, RBAC, Service, PodDisruptionBudget. On a real
/// cluster they are deleted again when the test ends.
pub fn install(cluster: &mut Cluster, docs: &[Value]) {
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap();
        if matches!(kind, "CustomResourceDefinition" | "Deployment") {
            continue;
        }
        cluster.apply(&serde_json::to_string(doc).unwrap());
        if kind != "Namespace" {
            let mut cleanup = vec![
                "delete".to_string(),
                kind.to_lowercase(),
                doc["metadata"]["name"].as_str().unwrap().to_string(),
                "--ignore-not-found".into(),
                "--wait=false".into(),
            ];
            if let Some(ns) = doc["metadata"]["namespace"].as_str() {
                cleanup.extend(["-n".to_string(), ns.to_string()]);
            }
            cluster.cleanup.push(cleanup);
        }
    }
}

/// The operator container's arguments, without the listen addresses (the harness picks
/// free ports).
pub fn operator_args(docs: &[Value]) -> Vec<String> {
    deployment(docs)["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .filter(|a| !a.starts_with("--metrics-addr") && !a.starts_with("--health-addr"))
        .collect()
}

/// Every flag of the Deployment in `docs` is one the binary accepts.
pub fn assert_flags_accepted(docs: &[Value]) {
    let args = deployment(docs)["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(!args.is_empty());
    for arg in args {
        let flag = arg.as_str().unwrap();
        let out = std::process::Command::new(super::operator_bin())
            .args([flag, "--help"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{flag} is not accepted by secretsync-operator: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The Deployment among `docs`.
pub fn deployment(docs: &[Value]) -> &Value {
    docs.iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment")
}

/// A kubeconfig for `namespace/service_account`: the cluster's server and CA, and a token
/// from `kubectl create token` (a TokenRequest, as the kubelet would mount).
pub fn service_account_kubeconfig(
    cluster: &Cluster,
    namespace: &str,
    service_account: &str,
    dir: &Path,
) -> PathBuf {
    let token = cluster
        .kubectl_ok(&[
            "create",
            "token",
            service_account,
            "-n",
            namespace,
            "--duration=1h",
        ])
        .trim()
        .to_string();
    let config: Value = serde_json::from_str(&cluster.kubectl_ok(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]))
    .unwrap();
    let server = &config["clusters"][0]["cluster"];
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": service_account, "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": service_account, "namespace": namespace}}],
        "current-context": "c",
    });
    let path = dir.join(format!("{service_account}.kubeconfig"));
    std::fs::write(&path, serde_json::to_string(&kubeconfig).unwrap()).unwrap();
    path
}

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

/// Runs the binary as the ServiceAccount of the Deployment in `docs` (whose RBAC is installed)
/// with the Deployment's arguments: ready within 10 s, syncs a workload, and no request was
/// forbidden. `what` names the install in messages.
pub fn run_as_service_account(cluster: &mut Cluster, docs: &[Value], what: &str) {
    let args = operator_args(docs);
    let pod = &deployment(docs)["spec"]["template"]["spec"];
    let service_account = pod["serviceAccountName"].as_str().unwrap().to_string();
    let operator_namespace = deployment(docs)["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let scope = args
        .iter()
        .find_map(|a| a.strip_prefix("--namespace="))
        .map(String::from);
    let namespace_scoped = scope.is_some();
    let suffix = format!("{:08x}", super::rand_u32());

    // The workload: a SecretStore and its ExternalSecret in the served namespace; cluster-wide
    // also a ClusterSecretStore, an ExternalSecret using it and a ClusterExternalSecret.
    let mut expected = Vec::new();
    let ns = match &scope {
        Some(ns) => ns.clone(),
        None => cluster.namespace("rbac"),
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
        service_account_kubeconfig(cluster, &operator_namespace, &service_account, dir.path());
    if let Some(double) = &cluster.double {
        double.reset_counters();
    }
    let started = Instant::now();
    let op = Operator::start_as(
        &kubeconfig,
        &args,
        &[
            ("POD_NAMESPACE", operator_namespace.as_str()),
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
            || synced(cluster, &ns, name).then_some(()),
        );
    }
    eprintln!(
        "{what}: ready after {ready_after:?}, {} Secrets synced",
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
            "{what}: the operator was denied: {forbidden:?}\n{}",
            op.log_text()
        );
    }
    let log = op.log_text();
    // On a shared real cluster an event into another test's namespace that is being deleted
    // is refused with 403 too ("unable to create new content in namespace ... because it is
    // being terminated"); that is not a missing permission.
    let denied: Vec<&str> = log
        .lines()
        .filter(|l| l.to_lowercase().contains("forbidden"))
        .filter(|l| !l.contains("because it is being terminated"))
        .collect();
    assert!(
        denied.is_empty(),
        "{what}: a 403 in the operator's log:\n{}\n\nwhole log:\n{log}",
        denied.join("\n")
    );
}
