//! An operator restart (or a failover to a fresh replica) costs no provider reads for
//! ExternalSecrets whose refresh is not due and whose Secret is provably as it was written
//! (keyed fingerprint), and still repairs a Secret that was edited while no operator ran.

use crate::kube_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

/// Each ExternalSecret reads its own key, so coalescing cannot hide a read.
fn external_secret(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "restart", "kind": "SecretStore"},
            "data": [{"secretKey": "password", "remoteRef": {"key": name}}]
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reads_no_provider_for_intact_secrets_and_repairs_edited_ones() {
    let env = TestEnv::start("restart").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "restart"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "intact", "value": "s3cret"},
                    {"key": "edited", "value": "s3cret"}
                ]}}}
            }),
        )
        .await;
    for name in ["intact", "edited"] {
        let _: ExternalSecret = env.apply(Some(&ns), external_secret(name)).await;
    }

    let first = start_operator(&env, config.clone());
    for name in ["intact", "edited"] {
        wait_for(Duration::from_secs(10), "first sync", || async {
            ready_of(&env, &ns, name).await.filter(|r| r.0 == "True")
        })
        .await;
    }
    assert!(first.factory.reads.load(Ordering::SeqCst) >= 1);
    drop(first);
    let intact_before = env.secret(&ns, "intact").await.expect("Secret intact");

    // While no operator runs, someone edits one Secret.
    let api: Api<Secret> = Api::namespaced(env.client.clone(), &ns);
    api.patch(
        "edited",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"password": "dGFtcGVyZWQ="}})),
    )
    .await
    .expect("edit the Secret");

    let second = start_operator(&env, config);
    wait_for(
        Duration::from_secs(10),
        "the edited Secret repaired",
        || async {
            env.secret(&ns, "edited")
                .await
                .filter(|s| value_of(s, "password").as_deref() == Some("s3cret"))
        },
    )
    .await;
    // The intact one has been reconciled by the new operator (its reconcile count proves the
    // chance to read was there), without a read.
    wait_for(
        Duration::from_secs(10),
        "the intact ExternalSecret reconciled",
        || async {
            (second.reconciles(&ns, "intact") >= 1 && second.reconciles(&ns, "edited") >= 1)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        second.factory.reads_of_stores_in(&ns),
        1,
        "after the restart only the edited Secret costs a provider read"
    );
    let intact_after = env.secret(&ns, "intact").await.expect("Secret intact");
    assert_eq!(
        intact_after.metadata.resource_version, intact_before.metadata.resource_version,
        "the intact Secret is not rewritten"
    );
    assert_eq!(
        ready_of(&env, &ns, "intact").await.map(|r| r.0),
        Some("True".to_string())
    );
    env.cleanup().await;
}
