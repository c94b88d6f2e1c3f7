//! The kustomize overlays in deploy/ apply client-side (`kubectl apply -k`).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use support::{Cluster, repo_root};

#[test]
fn every_overlay_applies_with_kubectl() {
    let cluster = Cluster::start();
    for overlay in ["cluster-wide", "namespace-scoped", "ha"] {
        let dir = repo_root().join("deploy/overlays").join(overlay);
        let mut args = vec!["apply", "-k"];
        let dir = dir.to_string_lossy().into_owned();
        args.push(&dir);
        if !cluster.is_double() {
            // Never install the Deployment into a real test cluster: the server validates only.
            args.push("--dry-run=server");
        }
        let out = cluster.kubectl_ok(&args);
        assert!(out.contains("deployment.apps/secretsync-operator"), "{overlay}: {out}");
    }
    if cluster.is_double() {
        let d = cluster.get_json(&["deployment", "-n", "secretsync-system", "secretsync-operator"]).unwrap();
        let args = d["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap().clone();
        assert!(args.iter().any(|a| a == "--leader-elect"), "ha overlay applied last: {args:?}");
        // Every flag in the manifests is one the binary accepts.
        for arg in args {
            let flag = arg.as_str().unwrap();
            let out = std::process::Command::new(support::operator_bin()).args([flag, "--help"]).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{flag} is not accepted by secretsync-operator: {err}");
        }
    }
}
