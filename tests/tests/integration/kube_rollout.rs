//! Rollout restart on change: a Deployment named by `secretsync.io/rollout-restart` gets a new
//! `kubectl.kubernetes.io/restartedAt` exactly once per change of the Secret's data, never on
//! the first creation nor on refreshes that changed nothing.

use crate::kube_support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

fn store(class: &str, value: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "rollout"},
        "spec": {"controller": class, "provider": {"fake": {"data": [
            {"key": "db", "value": value}
        ]}}}
    })
}

async fn restarted_at(env: &TestEnv) -> Option<String> {
    let d = Api::<Deployment>::namespaced(env.client.clone(), &env.namespace)
        .get("web")
        .await
        .expect("the Deployment");
    d.spec?
        .template
        .metadata?
        .annotations?
        .get("kubectl.kubernetes.io/restartedAt")
        .cloned()
}

/// Waits until the operator reconciled `es` `more` further times (each a chance to restart).
async fn reconciled(operator: &Operator, ns: &str, more: u64) {
    let start = operator.reconciles(ns, "app");
    wait_for(Duration::from_secs(20), "further reconciles", || async {
        (operator.reconciles(ns, "app") >= start + more).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_restarts_once_per_data_change() {
    let env = TestEnv::start("rollout").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _: SecretStore = env.apply(Some(&ns), store(&class, "v1")).await;
    env.apply_manifest(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}
            }
        }
    }))
    .await;
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "app",
                             "annotations": {"secretsync.io/rollout-restart": "deployment/web"}},
                "spec": {
                    "refreshInterval": "1s",
                    "secretStoreRef": {"name": "rollout", "kind": "SecretStore"},
                    "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]
                }
            }),
        )
        .await;
    let operator = start_operator(&env, config);
    let value = |v: &'static str| {
        let env = &env;
        let ns = ns.clone();
        async move {
            env.secret(&ns, "app")
                .await
                .filter(|s| value_of(s, "password").as_deref() == Some(v))
        }
    };
    wait_for(Duration::from_secs(20), "first sync", || value("v1")).await;
    reconciled(&operator, &ns, 2).await;
    assert_eq!(restarted_at(&env).await, None, "creation restarts nothing");

    let _: SecretStore = env.apply(Some(&ns), store(&class, "v2")).await;
    wait_for(Duration::from_secs(20), "the new value", || value("v2")).await;
    let first = wait_for(Duration::from_secs(20), "the restart", || {
        restarted_at(&env)
    })
    .await;
    reconciled(&operator, &ns, 3).await;
    assert_eq!(
        restarted_at(&env).await,
        Some(first.clone()),
        "unchanged refreshes restart nothing"
    );

    let _: SecretStore = env.apply(Some(&ns), store(&class, "v3")).await;
    wait_for(Duration::from_secs(20), "the third value", || value("v3")).await;
    let second = wait_for(Duration::from_secs(20), "the second restart", || async {
        restarted_at(&env).await.filter(|at| *at != first)
    })
    .await;
    reconciled(&operator, &ns, 3).await;
    assert_eq!(restarted_at(&env).await, Some(second));
    let events = env.events(&ns).await;
    let restarts = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("RolloutRestarted"))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum::<i32>();
    assert_eq!(restarts, 2, "one event per restart");
    env.cleanup().await;
}
