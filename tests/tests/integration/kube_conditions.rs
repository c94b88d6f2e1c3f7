//! A ClusterSecretStore's `conditions` decide which namespaces may read through it; a namespace
//! not admitted gets no Secret and a status saying why.

use crate::kube_support;

use std::collections::BTreeMap;
use std::time::Duration;

use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::ClusterSecretStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conditions_are_enforced() {
    let mut env = TestEnv::start("cond").await;
    let by_name = env.create_namespace("by-name", BTreeMap::new()).await;
    let by_label = env
        .create_namespace(
            "by-label",
            BTreeMap::from([("secretsync-test".to_string(), env.suffix.clone())]),
        )
        .await;
    let denied = env.create_namespace("denied", BTreeMap::new()).await;
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let store = format!("restricted-{}", env.suffix);
    let _: ClusterSecretStore = env
        .apply(
            None,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                "metadata": {"name": store},
                "spec": {
                    "controller": class,
                    "provider": {"fake": {"data": [{"key": "k", "value": "v"}]}},
                    "conditions": [
                        {"namespaces": [by_name]},
                        {"namespaceSelector": {"matchLabels": {"secretsync-test": env.suffix}}}
                    ]
                }
            }),
        )
        .await;
    let _operator = start_operator(&env, config);
    for ns in [&by_name, &by_label, &denied] {
        let _: ExternalSecret = env
            .apply(
                Some(ns),
                json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": "es"},
                    "spec": {
                        "secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
                        "data": [{"secretKey": "k", "remoteRef": {"key": "k"}}]
                    }
                }),
            )
            .await;
    }
    for ns in [&by_name, &by_label] {
        wait_for(
            Duration::from_secs(10),
            &format!("{ns}: Secret"),
            || async { env.secret(ns, "es").await },
        )
        .await;
    }
    let status = wait_for(Duration::from_secs(10), "denied: Ready=False", || async {
        ready_of(&env, &denied, "es")
            .await
            .filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(status.1, "SecretSyncedError");
    assert!(
        status.2.contains("does not admit namespace") && status.2.contains(&denied),
        "status explains the refusal: {}",
        status.2
    );
    assert!(
        env.secret(&denied, "es").await.is_none(),
        "no Secret in a namespace the store does not admit"
    );
    env.cleanup().await;
}
