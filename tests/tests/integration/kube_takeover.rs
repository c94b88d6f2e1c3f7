//! Taking over from ESO: ExternalSecrets whose status ESO wrote (a `syncedResourceVersion`
//! printed by Go, a recent `refreshTime`, `Ready=True`/`SecretSynced`) and whose target Secret is
//! intact as ESO writes it (managed label, ESO's `data-hash` matching the data, ESO's
//! ownerReference, no secretsync fingerprint) cost no provider read when the operator starts.
//! The Go values come from `crates/engine/tests/data/eso_hashes/vectors.json` (printed by Go's
//! own `fmt` and `crypto/sha3`), not from the code under test. A control ExternalSecret whose
//! Secret was edited after ESO wrote it is re-read: the read counter works.

use crate::kube_support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::{Value, json};

/// The Go-printed vectors.
fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/engine/tests/data/eso_hashes/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json")
}

fn case<'a>(v: &'a Value, family: &str, name: &str) -> &'a Value {
    v[family]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("vector {family}/{name}"))
}

/// ExternalSecrets ESO synced, with intact targets, in the takeover test.
const INTACT: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_secrets_synced_by_eso_cost_no_provider_read() {
    let env = TestEnv::start("takeover").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let v = vectors();
    let meta = case(&v, "resourceVersion", "takeover e2e");
    let data = case(&v, "dataHash", "takeover e2e");
    assert_eq!(meta["generation"], 1);
    let value = "s3cret-from-eso";
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "eso"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "intact", "value": value},
                    {"key": "edited", "value": value}
                ]}}}
            }),
        )
        .await;

    let es_api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &ns);
    // ESO refreshed each one at its own time within the last hour (its refreshes are not on
    // secretsync's grid): 20 intact ExternalSecrets refreshed 1 to 59 minutes ago, and one whose
    // Secret was edited by hand.
    let intact: Vec<String> = (0..INTACT).map(|k| format!("intact-{k}")).collect();
    let names: Vec<(&str, &str, u64)> = intact
        .iter()
        .enumerate()
        .map(|(k, name)| (name.as_str(), "intact", 60 + 182 * k as u64))
        .chain([("edited", "edited", 60)])
        .collect();
    for &(name, remote_key, age) in &names {
        let es: ExternalSecret = env
            .apply(
                Some(&ns),
                json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": name, "labels": meta["labels"], "annotations": meta["annotations"]},
                    "spec": {
                        "refreshInterval": "1h",
                        "secretStoreRef": {"name": "eso", "kind": "SecretStore"},
                        "data": [{"secretKey": "password", "remoteRef": {"key": remote_key}}]
                    }
                }),
            )
            .await;
        assert_eq!(
            es.metadata.generation,
            Some(1),
            "a new object has generation 1"
        );
        // The target exactly as ESO writes it.
        let written = if name == "edited" {
            "changed by hand after ESO wrote it"
        } else {
            value
        };
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "labels": {
                    "reconcile.external-secrets.io/managed": "true",
                    "reconcile.external-secrets.io/created-by": secretsync_engine::refresh::created_by(&ns, name),
                },
                "annotations": {"reconcile.external-secrets.io/data-hash": data["hash"]},
                "ownerReferences": [{
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "name": name, "uid": es.uid().expect("uid"),
                    "controller": true, "blockOwnerDeletion": true
                }]
            },
            "type": "Opaque",
            "data": {"password": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, written)}
        }))
        .expect("secret");
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("create the ESO-written Secret");
        // The status exactly as ESO writes it (markAsDone), `age` seconds ago.
        let refreshed = Timestamp::now() - std::time::Duration::from_secs(age);
        es_api
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {
                    "refreshTime": refreshed.to_string(),
                    "syncedResourceVersion": meta["resourceVersion"],
                    "conditions": [{
                        "type": "Ready", "status": "True", "reason": "SecretSynced",
                        "message": "secret synced", "lastTransitionTime": refreshed.to_string()
                    }]
                }})),
            )
            .await
            .expect("ESO's status");
    }
    let mut intact_before = Vec::new();
    for name in &intact {
        intact_before.push(secrets.get(name).await.expect("intact Secret"));
    }

    let operator = start_operator(&env, config);
    wait_for(
        Duration::from_secs(20),
        "the edited Secret repaired",
        || async {
            env.secret(&ns, "edited")
                .await
                .filter(|s| value_of(s, "password").as_deref() == Some(value))
        },
    )
    .await;
    wait_for(
        Duration::from_secs(20),
        "both ExternalSecrets reconciled",
        || async {
            names
                .iter()
                .all(|(name, _, _)| operator.reconciles(&ns, name) >= 1)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        operator.factory.reads_of_stores_in(&ns),
        1,
        "only the edited Secret costs a provider read; the intact ones ESO synced cost none, \
         whenever ESO last refreshed them"
    );
    for (name, before) in intact.iter().zip(&intact_before) {
        let after = secrets.get(name).await.expect("intact Secret");
        assert_eq!(
            after.metadata.resource_version, before.metadata.resource_version,
            "{name}: the intact Secret is not rewritten"
        );
        let status = es_api.get(name).await.expect("es").status.expect("status");
        assert_eq!(
            status.synced_resource_version.as_ref(),
            meta["resourceVersion"]
                .as_str()
                .map(str::to_string)
                .as_ref(),
            "{name}: ESO's syncedResourceVersion stays: it is already the current one"
        );
    }
    env.cleanup().await;
}
