//! Validation at apply time without a webhook: the CRDs carry ESO's webhook rules as CEL
//! `x-kubernetes-validations` (`secretsync_model::admission::RULES`) and ESO's `secretKey`
//! pattern, so `kubectl apply` of a bad ExternalSecret (wrong policy pair, no data, conflicting
//! dataFrom, bad key, ...) is rejected by the API server with ESO's message; the good manifests of `examples/` and the engine's golden
//! cases are accepted. The API double evaluates the rules with a CEL interpreter; the same test
//! runs against a real cluster.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use secretsync_model::admission::{PUSH_RULES, RULES, bad_spec_yaml, push_bad_spec_yaml};
use secretsync_model::external_secret::ExternalSecretSpec;
use secretsync_model::validate::validate_external_secret;
use serde_json::{Value, json};
use support::overlay::documents;
use support::{Cluster, repo_root};

fn external_secret(namespace: &str, name: &str, spec: Value) -> String {
    serde_json::to_string(&json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }))
    .unwrap()
}

fn rejected(cluster: &Cluster, manifest: &str) -> String {
    let out = cluster.kubectl(&["apply", "-f", "-"], Some(manifest));
    assert!(
        !out.status.success(),
        "accepted, but must be rejected:\n{manifest}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn each_webhook_rule_rejects_its_bad_manifest_with_esos_message() {
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("admission");
    for (i, rule) in RULES.iter().enumerate() {
        let spec: Value = serde_yaml::from_str(&bad_spec_yaml(rule)).unwrap();
        let stderr = rejected(
            &cluster,
            &external_secret(&ns, &format!("bad-{i}"), spec.clone()),
        );
        assert!(
            stderr.contains(rule.message),
            "ExternalSecret bad-{i}: expected ESO's message {:?}, got: {stderr}",
            rule.message
        );
        // The double, like older API servers, prints `Invalid value: "object": ...`; v1.36 leaves
        // the value out.
        assert!(
            stderr.contains("is invalid") && stderr.contains("Invalid value: "),
            "{stderr}"
        );
        // The same rules guard the spec a ClusterExternalSecret stamps out.
        let ces = serde_json::to_string(&json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterExternalSecret",
            "metadata": {"name": format!("bad-{i}-{ns}")},
            "spec": {"namespaceSelectors": [{"matchLabels": {"none": "none"}}], "externalSecretSpec": spec},
        }))
        .unwrap();
        let stderr = rejected(&cluster, &ces);
        assert!(
            stderr.contains(rule.message),
            "ClusterExternalSecret bad-{i}: {stderr}"
        );
    }
    // Several broken rules at once: every message is reported.
    let stderr = rejected(
        &cluster,
        &external_secret(
            &ns,
            "many",
            json!({"secretStoreRef": {"name": "s"},
                "target": {"creationPolicy": "Merge", "deletionPolicy": "Delete"},
                "dataFrom": [{"extract": {"key": "a"}, "find": {"path": "b"}}]}),
        ),
    );
    for message in [RULES[0].message, RULES[3].message] {
        assert!(stderr.contains(message), "{message} missing in {stderr}");
    }
    // Key format, as ESO's CRD schema has it (pattern and length on secretKey).
    let stderr = rejected(
        &cluster,
        &external_secret(
            &ns,
            "bad-key",
            json!({"secretStoreRef": {"name": "s"},
                "data": [{"secretKey": "no/slashes", "remoteRef": {"key": "r"}}]}),
        ),
    );
    assert!(
        stderr.contains("spec.data[0].secretKey in body should match '^[-._a-zA-Z0-9]+$'"),
        "{stderr}"
    );
    // The held-back style: each fixed, it is accepted.
    cluster.apply(&external_secret(
        &ns,
        "fixed",
        json!({"secretStoreRef": {"name": "s"},
            "target": {"creationPolicy": "Owner", "deletionPolicy": "Delete"},
            "dataFrom": [{"extract": {"key": "a"}}, {"find": {"path": "b"}}]}),
    ));
    push_rules_reject_their_bad_manifests(&cluster, &ns);
}

/// ESO's CEL rules on PushSecrets (all on `dataTo`), in PushSecret and ClusterPushSecret.
fn push_rules_reject_their_bad_manifests(cluster: &Cluster, ns: &str) {
    for (i, rule) in PUSH_RULES.iter().enumerate() {
        let spec: Value = serde_yaml::from_str(&push_bad_spec_yaml(rule)).unwrap();
        let push = serde_json::to_string(&json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": format!("bad-push-{i}"), "namespace": ns},
            "spec": spec,
        }))
        .unwrap();
        let stderr = rejected(cluster, &push);
        assert!(
            stderr.contains(rule.message),
            "PushSecret bad-push-{i}: expected ESO's message {:?}, got: {stderr}",
            rule.message
        );
        let cluster_push = serde_json::to_string(&json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "ClusterPushSecret",
            "metadata": {"name": format!("bad-push-{i}-{ns}")},
            "spec": {"namespaceSelectors": [{"matchLabels": {"none": "none"}}], "pushSecretSpec": spec},
        }))
        .unwrap();
        let stderr = rejected(cluster, &cluster_push);
        assert!(
            stderr.contains(rule.message),
            "ClusterPushSecret bad-push-{i}: {stderr}"
        );
    }
    // fixed: a dataTo rule with a store and one rewrite operation is accepted
    cluster.apply(
        &serde_json::to_string(&json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": "good-push", "namespace": ns},
            "spec": {"secretStoreRefs": [{"name": "vault"}], "selector": {"secret": {"name": "src"}},
                     "dataTo": [{"storeRef": {"name": "vault"},
                                 "rewrite": [{"regexp": {"source": "a", "target": "b"}}]}]},
        }))
        .unwrap(),
    );
}

/// ExternalSecret specs from `examples/` and the engine's golden cases that secretsync's own
/// validation accepts, with whether they are manifests as users write them (the golden cases
/// are ESO unit-test inputs, some with fields the strict decoder refuses).
fn good_specs() -> Vec<(String, Value, bool)> {
    let mut out = Vec::new();
    let mut push = |origin: String, spec: &Value, strict: bool| {
        let typed: ExternalSecretSpec = serde_json::from_value(spec.clone()).unwrap();
        if validate_external_secret(&typed).is_empty() {
            out.push((origin, spec.clone(), strict));
        }
    };
    for dir in ["examples/adr-002", "examples/quickstart"] {
        for entry in std::fs::read_dir(repo_root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                for doc in documents(&std::fs::read_to_string(&path).unwrap()) {
                    if doc["kind"] == "ExternalSecret" {
                        push(path.display().to_string(), &doc["spec"], true);
                    }
                }
            }
        }
    }
    for entry in std::fs::read_dir(repo_root().join("crates/engine/tests/golden")).unwrap() {
        let path = entry.unwrap().path();
        let golden: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in golden["cases"].as_array().into_iter().flatten() {
            if case["externalSecret"]["spec"].is_object() {
                push(
                    format!("{} {}", path.display(), case["name"]),
                    &case["externalSecret"]["spec"],
                    false,
                );
            }
        }
    }
    out
}

#[test]
fn good_manifests_are_accepted() {
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("admission-ok");
    let specs = good_specs();
    assert!(specs.len() >= 10, "only {} good specs found", specs.len());
    for (i, (origin, spec, strict)) in specs.iter().enumerate() {
        let validate = if *strict {
            "--validate=strict"
        } else {
            "--validate=false"
        };
        let out = cluster.kubectl(
            &["apply", validate, "-f", "-"],
            Some(&external_secret(&ns, &format!("good-{i}"), spec.clone())),
        );
        assert!(
            out.status.success(),
            "{origin} was rejected: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
