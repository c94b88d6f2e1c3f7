//! The kustomize overlays in deploy/ build and apply client-side, and every flag they pass is
//! one the binary accepts.
//!
//! Against the API double each overlay is installed with a plain client-side
//! `kubectl apply -k <overlay>` (the CRDs stay under the 262,144-byte last-applied limit).
//! On a real cluster (`SECRETSYNC_TEST_KUBECONFIG`) each overlay goes through
//! `kubectl apply -k <overlay> --dry-run=server` (full server validation, nothing installed).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use support::overlay::{assert_flags_accepted, documents};
use support::{Cluster, repo_root};

#[test]
fn every_overlay_applies_with_kubectl() {
    let cluster = Cluster::start();
    for overlay in ["cluster-wide", "namespace-scoped", "ha"] {
        let dir = repo_root()
            .join("deploy/overlays")
            .join(overlay)
            .to_string_lossy()
            .into_owned();
        let built = cluster.kubectl_ok(&["kustomize", &dir]);
        let docs = documents(&built);
        let deployment = support::overlay::deployment(&docs);
        assert_flags_accepted(&docs);
        if overlay == "ha" {
            let args = format!(
                "{:?}",
                deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            );
            assert!(args.contains("--leader-elect"), "{args}");
        }
        if cluster.is_double() {
            let out = cluster.kubectl_ok(&["apply", "-k", &dir]);
            for expected in [
                "customresourcedefinition.apiextensions.k8s.io/externalsecrets.external-secrets.io",
                "deployment.apps/secretsync-operator",
                "poddisruptionbudget.policy/secretsync-operator",
                "service/secretsync-metrics",
            ] {
                assert!(
                    out.contains(expected),
                    "{overlay}: {expected} missing from: {out}"
                );
            }
        } else {
            // A server-side dry run does not create the overlay's Namespace, so its namespaced
            // objects would be refused (NotFound) unless it exists already.
            cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: secretsync-system}\n");
            let out = cluster.kubectl_ok(&["apply", "-k", &dir, "--dry-run=server"]);
            assert!(
                out.contains("deployment.apps/secretsync-operator"),
                "{overlay}: {out}"
            );
        }
    }
    if cluster.is_double() {
        let sa = cluster.get_json(&["serviceaccount", "-n", "secretsync-system", "secretsync"]);
        assert!(
            sa.is_some(),
            "the ServiceAccount from deploy/base was applied"
        );
        let deployment = cluster
            .get_json(&[
                "deployment",
                "-n",
                "secretsync-system",
                "secretsync-operator",
            ])
            .expect("the Deployment was applied");
        assert_eq!(
            deployment["spec"]["replicas"], 2,
            "the ha overlay, applied last, runs two replicas"
        );
    }
}
