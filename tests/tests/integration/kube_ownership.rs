//! `creationPolicy: Owner` never takes over a Secret it did not create (ESO's documented
//! conflict): an existing unowned `kubernetes.io/tls` Secret stays byte-identical, the
//! ExternalSecret reports the conflict, and deleting the ExternalSecret leaves the Secret alone.
//! Also: API-server errors reach status and events without echoed values.

use crate::kube_support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

fn store(class: &str, data: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake"},
        "spec": {"controller": class, "provider": {"fake": {"data": data}}}
    })
}

fn external_secret(name: &str, target: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "target": {"name": target},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_never_takes_over_an_existing_unowned_secret() {
    let env = TestEnv::start("ownership").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &ns);
    // A cert-manager-style TLS Secret nobody owns.
    let tls: Secret = serde_json::from_value(json!({
        "metadata": {"name": "web-tls", "labels": {"app": "web"},
                     "annotations": {"cert-manager.io/issuer-name": "ca"}},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &tls)
        .await
        .expect("create the TLS Secret");
    let before = serde_json::to_value(secrets.get("web-tls").await.expect("get")).expect("json");

    let _: SecretStore = env
        .apply(
            Some(&ns),
            store(&class, json!([{"key": "db", "value": "s3cret"}])),
        )
        .await;
    let _: ExternalSecret = env
        .apply(Some(&ns), external_secret("web", "web-tls"))
        .await;
    let operator = start_operator(&env, config);
    let (status, reason, message) = wait_for(Duration::from_secs(20), "the conflict", || async {
        ready_of(&env, &ns, "web")
            .await
            .filter(|r| r.0 == "False" && r.2.contains("conflict"))
    })
    .await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("conflict")
            && message.contains("already exists and is not owned by this ExternalSecret"),
        "{status} {message}"
    );
    let event = wait_for(
        Duration::from_secs(10),
        "the UpdateFailed event",
        || async {
            env.events(&ns).await.into_iter().find(|e| {
                e.reason.as_deref() == Some("UpdateFailed")
                    && e.note.as_deref().is_some_and(|n| n.contains("conflict"))
            })
        },
    )
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let after = serde_json::to_value(secrets.get("web-tls").await.expect("get")).expect("json");
    assert_eq!(
        after, before,
        "the Secret is byte-identical (data, metadata, resourceVersion)"
    );

    // Deleting the ExternalSecret: nothing may delete the Secret, neither the operator nor the
    // garbage collector (no ownerReference was ever added).
    let es_api: Api<ExternalSecret> = Api::namespaced(env.client.clone(), &ns);
    es_api
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete the ExternalSecret");
    wait_for(
        Duration::from_secs(60),
        "the ExternalSecret gone",
        || async { es_api.get_opt("web").await.ok()?.is_none().then_some(()) },
    )
    .await;
    // A later reconcile of another object: the operator (and, on a real cluster, the garbage
    // collector, given up to a minute) had every chance to act on the deletion.
    let _: ExternalSecret = env
        .apply(Some(&ns), external_secret("later", "later"))
        .await;
    wait_for(
        Duration::from_secs(60),
        "a later ExternalSecret synced",
        || async { ready_of(&env, &ns, "later").await.filter(|r| r.0 == "True") },
    )
    .await;
    // The reconcile is counted once it returns, just after the status write the wait above saw.
    wait_for(
        Duration::from_secs(10),
        "the later reconcile counted",
        || async { (operator.reconciles(&ns, "later") >= 1).then_some(()) },
    )
    .await;
    let after_delete =
        serde_json::to_value(secrets.get("web-tls").await.expect("the Secret survives"))
            .expect("json");
    assert_eq!(
        after_delete, before,
        "the Secret is byte-identical after the deletion"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_reach_status_and_events_without_echoed_values() {
    let env = TestEnv::start("sanitize").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    // Not a valid label value (spaces, `!`): the API server answers 422 quoting it.
    let canary = "CANARY 7f3a9c!";
    let _: SecretStore = env
        .apply(
            Some(&ns),
            store(&class, json!([{"key": "db", "value": canary}])),
        )
        .await;
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "leaky"},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                    "target": {"template": {"metadata": {"labels": {"leak": "{{ .password }}"}}}},
                    "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]
                }
            }),
        )
        .await;
    let _operator = start_operator(&env, config);
    let (_, reason, message) = wait_for(Duration::from_secs(20), "the write error", || async {
        ready_of(&env, &ns, "leaky")
            .await
            .filter(|r| r.0 == "False" && !r.2.contains("flood gate"))
    })
    .await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message.contains("422") && message.contains("metadata.labels"),
        "the code and the field path are kept: {message}"
    );
    let events = wait_for(
        Duration::from_secs(10),
        "the UpdateFailed event",
        || async {
            let events = env.events(&ns).await;
            events
                .iter()
                .any(|e| e.reason.as_deref() == Some("UpdateFailed"))
                .then_some(events)
        },
    )
    .await;
    let es = Api::<ExternalSecret>::namespaced(env.client.clone(), &ns)
        .get("leaky")
        .await
        .expect("es");
    let haystack = format!(
        "{}{}",
        serde_json::to_string(&es.status).expect("status"),
        serde_json::to_string(&events).expect("events")
    );
    assert!(!haystack.contains("CANARY"), "the value leaked: {haystack}");
    env.cleanup().await;
}
