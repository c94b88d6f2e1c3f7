//! The RBAC and Deployment of a `deploy/overlays/<name>` install, for running the operator
//! binary as its own ServiceAccount under that RBAC.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Cluster, repo_root};

/// Namespace and ServiceAccount of every overlay.
pub const NAMESPACE: &str = "secretsync-system";
/// The operator's ServiceAccount.
pub const SERVICE_ACCOUNT: &str = "secretsync";

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
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .filter(|a| !a.starts_with("--metrics-addr") && !a.starts_with("--health-addr"))
        .collect()
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
