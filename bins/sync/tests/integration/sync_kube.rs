//! `secretsync sync` and `diff` against the Kubernetes API double: the operator's writer, drift
//! stamp and status; an operator started afterwards writes nothing; `--from-cluster`; one
//! failure does not stop the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use secretsync_engine::{Engine, EngineConfig};
use secretsync_kube::Lifecycle;
use secretsync_kube::metrics::ControllerLabels;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_providers::AllProviders;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;
use support::*;

const OPERATOR_NS: &str = "secretsync-system";

struct Cluster {
    server: KubeApiServer,
    client: kube::Client,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let server = KubeApiServer::start(KubeApiOptions {
            crd_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")),
            namespaces: vec!["apps".into(), OPERATOR_NS.into()],
            ..Default::default()
        })
        .await
        .expect("start the Kubernetes API double");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let client = server.client().unwrap();
        Cluster {
            server,
            client,
            kubeconfig,
            _dir: dir,
        }
    }

    async fn apply(&self, value: serde_json::Value) {
        let kind = value["kind"].as_str().unwrap().to_string();
        let name = value["metadata"]["name"].as_str().unwrap().to_string();
        let ns = value["metadata"]["namespace"].as_str().map(str::to_string);
        let (group, version) = match value["apiVersion"].as_str().unwrap().split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (
                String::new(),
                value["apiVersion"].as_str().unwrap().to_string(),
            ),
        };
        let gvk = kube::api::GroupVersionKind::gvk(&group, &version, &kind);
        let (ar, _) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .unwrap();
        let api: Api<kube::api::DynamicObject> = match &ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        api.patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(value),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {kind}/{name}: {e}"));
    }

    async fn secret(&self, name: &str) -> Option<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), "apps")
            .get_opt(name)
            .await
            .unwrap()
    }

    async fn external_secret(&self, name: &str) -> ExternalSecret {
        Api::<ExternalSecret>::namespaced(self.client.clone(), "apps")
            .get(name)
            .await
            .unwrap()
    }

    /// Runs the CLI (off the async workers) against this cluster.
    async fn cli(&self, args: &[&str], file: Option<&std::path::Path>) -> Run {
        let mut cmd = secretsync();
        cmd.args(args).arg("--kubeconfig").arg(&self.kubeconfig);
        if let Some(f) = file {
            cmd.arg("-f").arg(f);
        }
        tokio::task::spawn_blocking(move || run(&mut cmd))
            .await
            .unwrap()
    }

    /// Writes to Secrets and ExternalSecrets recorded since the last counter reset.
    fn secret_and_es_writes(&self) -> Vec<String> {
        self.server
            .request_log()
            .into_iter()
            .filter(|r| matches!(r.verb.as_str(), "create" | "update" | "patch" | "delete"))
            .filter(|r| r.resource == "secrets" || r.resource == "externalsecrets")
            .map(|r| format!("{} {}/{} {}", r.verb, r.resource, r.name, r.subresource))
            .collect()
    }
}

fn store(data: &[(&str, &str)]) -> serde_json::Value {
    let data: Vec<_> = data
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "fake"},
        "spec": {"provider": {"fake": {"data": data}}}
    })
}

fn external_secret(name: &str, key: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "ClusterSecretStore"},
            "data": [{"secretKey": "password", "remoteRef": {"key": key}}]
        }
    })
}

fn yaml_stream(docs: &[serde_json::Value]) -> String {
    docs.iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap()))
        .collect()
}

fn value_of(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret.data.as_ref()?.get(key).map(|b| b.0.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_then_operator_start_changes_nothing() {
    let cluster = Cluster::start().await;
    let docs = [store(&[("db", CANARY)]), external_secret("app", "db")];
    for d in &docs {
        cluster.apply(d.clone()).await;
    }
    let (_dir, file) = manifest(&yaml_stream(&docs));

    let first = cluster.cli(&["sync"], Some(&file)).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(CANARY) && !first.stdout_text().contains(CANARY));
    let secret = cluster.secret("app").await.expect("Secret written");
    assert_eq!(
        value_of(&secret, "password").as_deref(),
        Some(CANARY.as_bytes())
    );
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    assert!(annotations.contains_key(secretsync_kube::drift::HMAC_ANNOTATION));
    let es = cluster.external_secret("app").await;
    let owners = secret.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1, "owned by the cluster's ExternalSecret");
    assert_eq!(Some(&owners[0].uid), es.metadata.uid.as_ref());
    let status = es.status.expect("status written");
    assert!(status.refresh_time.is_some() && status.synced_resource_version.is_some());
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("SecretSynced"));

    // A second run finds the Secret as it wrote it: no Secret write.
    cluster.server.reset_counters();
    let second = cluster.cli(&["sync"], Some(&file)).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        cluster
            .secret_and_es_writes()
            .iter()
            .all(|w| !w.contains(" secrets/app ")),
        "{:?}",
        cluster.secret_and_es_writes()
    );
    let before = cluster
        .secret("app")
        .await
        .unwrap()
        .metadata
        .resource_version;

    // The operator starts and reconciles the ExternalSecret: nothing to write.
    cluster.server.reset_counters();
    let metrics = secretsync_kube::Metrics::default();
    let factory = Arc::new(AllProviders::default());
    let engine = Arc::new(Engine::new(factory.clone(), EngineConfig::default()));
    let config = secretsync_kube::Config {
        operator_namespace: OPERATOR_NS.into(),
        cluster_external_secrets: false,
        ..Default::default()
    };
    let lifecycle = Lifecycle::default();
    let operator = tokio::spawn(secretsync_kube::run_with(
        cluster.client.clone(),
        config,
        engine,
        factory,
        metrics.clone(),
        lifecycle.clone(),
    ));
    let labels = ControllerLabels {
        controller: "externalsecret".into(),
    };
    wait_for("the operator's reconcile of the ExternalSecret", || async {
        (metrics.sync_calls.get_or_create(&labels).get() >= 1).then_some(())
    })
    .await;
    lifecycle.shutdown.cancel();
    operator.await.unwrap().unwrap();
    assert_eq!(cluster.secret_and_es_writes(), Vec::<String>::new());
    assert_eq!(
        cluster
            .secret("app")
            .await
            .unwrap()
            .metadata
            .resource_version,
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_cluster_diff_and_one_failure_does_not_stop_the_others() {
    let cluster = Cluster::start().await;
    cluster.apply(store(&[("db", "v1"), ("other", "o")])).await;
    cluster.apply(external_secret("good", "db")).await;
    cluster
        .apply(external_secret("broken", "no-such-key"))
        .await;
    // Only in the cluster, not in any file: --from-cluster finds them.
    let run = cluster
        .cli(&["sync", "--from-cluster", "-n", "apps"], None)
        .await;
    assert_eq!(run.code, 1, "a missing key is exit code 1: {}", run.stderr);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("cluster: ExternalSecret apps/broken: spec.data[0]")
            && errors[0].contains("no-such-key"),
        "{}",
        errors[0]
    );
    assert!(
        cluster.secret("good").await.is_some(),
        "the good one synced"
    );
    let broken = cluster.external_secret("broken").await;
    let ready = broken
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("SecretSyncedError"));

    // diff: nothing changes for "good" ...
    let diff = cluster
        .cli(
            &["diff", "--from-cluster", "-l", "app!=x", "--exit-code"],
            None,
        )
        .await;
    assert!(
        diff.stdout_text().contains("unchanged Secret apps/good"),
        "{}",
        diff.stdout_text()
    );
    // ... until the remote value changes.
    cluster
        .apply(store(&[("db", CANARY), ("other", "o")]))
        .await;
    let diff = cluster
        .cli(&["diff", "--from-cluster", "--exit-code"], None)
        .await;
    let out = diff.stdout_text();
    assert!(out.contains("update Secret apps/good"), "{out}");
    assert!(out.contains("  ~ password  hmac:"), "{out}");
    assert!(
        !out.contains(CANARY) && !diff.stderr.contains(CANARY),
        "{out} {}",
        diff.stderr
    );
    assert_eq!(diff.code, 1, "changes and a missing key: {}", diff.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_external_secret_not_in_the_cluster_is_written_without_owner() {
    let cluster = Cluster::start().await;
    let docs = [store(&[("db", "v")]), external_secret("files-only", "db")];
    let (_dir, file) = manifest(&yaml_stream(&docs));
    let run = cluster.cli(&["sync", "-q"], Some(&file)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secret = cluster.secret("files-only").await.expect("written");
    assert!(
        secret
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
    // No cluster: sync says so with exit code 3.
    let mut cmd = secretsync();
    cmd.args(["sync", "-f"]).arg(&file);
    let run = tokio::task::spawn_blocking(move || support::run(&mut cmd))
        .await
        .unwrap();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("this command needs a cluster"),
        "{}",
        run.stderr
    );
}

/// Issue #15 / #20: a first `sync --from-cluster` costs two requests per ExternalSecret (create
/// its Secret, patch its status); reads and lists are per run, not per object (one managed
/// Secret LIST instead of a GET per target). Run twice with different N, so a per-object cost
/// shows as a difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_from_cluster_costs_two_requests_per_external_secret() {
    let mut per_run = Vec::new();
    for objects in [5usize, 25] {
        let cluster = Cluster::start().await;
        let data: Vec<(String, String)> = (0..objects)
            .map(|i| (format!("key-{i}"), format!("value-{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for i in 0..objects {
            cluster
                .apply(external_secret(&format!("es-{i}"), &format!("key-{i}")))
                .await;
        }
        // The store comes from the file (as in the CLI benchmark).
        let (_dir, file) = manifest(&yaml_stream(&[store(&pairs)]));
        cluster.server.reset_counters();
        let run = cluster
            .cli(&["sync", "-q", "--from-cluster", "-n", "apps"], Some(&file))
            .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let log = cluster.server.request_log();
        let count = |verb: &str, resource: &str, subresource: &str| {
            log.iter()
                .filter(|r| r.namespace == "apps")
                .filter(|r| {
                    r.verb == verb && r.resource == resource && r.subresource == subresource
                })
                .count()
        };
        assert_eq!(count("create", "secrets", ""), objects);
        assert_eq!(count("patch", "externalsecrets", "status"), objects);
        assert_eq!(count("get", "secrets", ""), 0, "no target is read: {log:?}");
        let value = cluster
            .secret(&format!("es-{}", objects - 1))
            .await
            .unwrap();
        assert_eq!(
            value_of(&value, "password").as_deref(),
            Some(format!("value-{}", objects - 1).as_bytes())
        );
        per_run.push(log.len());
    }
    assert_eq!(
        per_run[1] - per_run[0],
        2 * 20,
        "20 more ExternalSecrets cost 40 more requests: {per_run:?}"
    );
}
