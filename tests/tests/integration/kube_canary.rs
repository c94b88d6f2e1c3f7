//! A canary secret value goes through every path (sync, template-free data, drift repair,
//! provider outage, a refused namespace, ExternalSecret deletion) and is then searched for in the
//! captured tracing output (all targets, TRACE), every Event and every ExternalSecret status:
//! zero hits expected, in plain text or base64.

use crate::kube_support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::{ClusterSecretStore, SecretStore};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_value_never_reaches_logs_events_or_status() {
    let mut env = TestEnv::start("canary").await;
    let canary = format!("CANARY-{}-s3cr3t", uuid::Uuid::new_v4().simple());
    let ns = env.namespace.clone();
    let denied = env.create_namespace("canary-denied", BTreeMap::new()).await;
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "canary"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "plain", "value": canary},
                    {"key": "json", "value": format!("{{\"password\":\"{canary}\"}}")}
                ]}}}
            }),
        )
        .await;
    let css = format!("canary-{}", env.suffix);
    let _: ClusterSecretStore = env
        .apply(None, json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
            "metadata": {"name": css},
            "spec": {"controller": class, "provider": {"fake": {"data": [{"key": "plain", "value": canary}]}},
                     "conditions": [{"namespaces": [ns]}]}
        }))
        .await;
    let operator = start_operator(&env, config);
    let es = |name: &str, store: &str, kind: &str, extra: serde_json::Value| {
        let mut spec = json!({
            "refreshInterval": "1s",
            "secretStoreRef": {"name": store, "kind": kind},
            "data": [
                {"secretKey": "plain", "remoteRef": {"key": "plain"}},
                {"secretKey": "prop", "remoteRef": {"key": "json", "property": "password"}},
                {"secretKey": "missing", "remoteRef": {"key": "does-not-exist"}}
            ],
            "target": {"deletionPolicy": "Merge"}
        });
        if let serde_json::Value::Object(m) = extra {
            for (k, v) in m {
                spec[k] = v;
            }
        }
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": name}, "spec": spec})
    };
    let _: ExternalSecret = env
        .apply(Some(&ns), es("canary", "canary", "SecretStore", json!({})))
        .await;
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            es(
                "immutable",
                "canary",
                "SecretStore",
                json!({"target": {"immutable": true, "deletionPolicy": "Merge"}}),
            ),
        )
        .await;
    let _: ExternalSecret = env
        .apply(
            Some(&denied),
            es(
                "refused",
                &css,
                "ClusterSecretStore",
                json!({"data": [{"secretKey": "plain", "remoteRef": {"key": "plain"}}]}),
            ),
        )
        .await;

    let secret = wait_for(Duration::from_secs(10), "canary Secret", || async {
        env.secret(&ns, "canary").await
    })
    .await;
    assert_eq!(
        value_of(&secret, "plain").as_deref(),
        Some(canary.as_str()),
        "the canary is really synced"
    );
    assert_eq!(value_of(&secret, "prop").as_deref(), Some(canary.as_str()));
    wait_for(Duration::from_secs(10), "immutable Secret", || async {
        env.secret(&ns, "immutable").await
    })
    .await;
    wait_for(Duration::from_secs(10), "refused status", || async {
        ready_of(&env, &denied, "refused")
            .await
            .filter(|r| r.0 == "False")
    })
    .await;
    let keys = wait_for(
        Duration::from_secs(5),
        "partial sync visible in status.keys",
        || async {
            let es = Api::<ExternalSecret>::namespaced(env.client.clone(), &ns)
                .get("canary")
                .await
                .ok()?;
            let keys = es.status?.keys;
            keys.iter().any(|k| k.state == "Missing").then_some(keys)
        },
    )
    .await;
    assert!(
        keys.iter().any(|k| k.key == "plain" && k.state == "Synced"),
        "{keys:?}"
    );

    // Drift repair and an immutable Secret whose data is changed underneath.
    let api: Api<Secret> = Api::namespaced(env.client.clone(), &ns);
    api.patch("canary", &PatchParams::apply("intruder").force(), &Patch::Apply(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "canary"}, "data": {"plain": "eA=="}
    })))
    .await
    .expect("edit");
    wait_for(Duration::from_secs(2), "repair", || async {
        env.secret(&ns, "canary")
            .await
            .filter(|s| value_of(s, "plain").as_deref() == Some(canary.as_str()))
    })
    .await;

    // Outage.
    operator.factory.outage.store(true, Ordering::SeqCst);
    wait_for(Duration::from_secs(5), "outage status", || async {
        ready_of(&env, &ns, "canary")
            .await
            .filter(|r| r.0 == "False")
    })
    .await;
    operator.factory.outage.store(false, Ordering::SeqCst);
    wait_for(Duration::from_secs(5), "recovery", || async {
        ready_of(&env, &ns, "canary")
            .await
            .filter(|r| r.0 == "True")
    })
    .await;

    // Collect status and events before deleting.
    let mut haystack = String::new();
    for namespace in [&ns, &denied] {
        let list = Api::<ExternalSecret>::namespaced(env.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .expect("list");
        for es in list.items {
            haystack.push_str(&serde_json::to_string(&es.status).unwrap_or_default());
        }
    }
    let api = Api::<ExternalSecret>::namespaced(env.client.clone(), &ns);
    api.delete("canary", &DeleteParams::default())
        .await
        .expect("delete");
    // Gone once its finalizer ran (the cleanup's events are published before it is released).
    wait_for(
        Duration::from_secs(10),
        "the ExternalSecret gone",
        || async { api.get_opt("canary").await.ok()?.is_none().then_some(()) },
    )
    .await;
    let mut event_count = 0;
    let mut reasons = std::collections::BTreeSet::new();
    for namespace in [&ns, &denied] {
        for e in env.events(namespace).await {
            event_count += 1;
            reasons.insert(e.reason.clone().unwrap_or_default());
            haystack.push_str(&serde_json::to_string(&e).unwrap_or_default());
        }
    }
    for wanted in [
        "Created",
        "Updated",
        "UpdateFailed",
        "MissingProviderSecret",
    ] {
        assert!(
            reasons.contains(wanted),
            "event reason {wanted} recorded: {reasons:?}"
        );
    }
    let logs = String::from_utf8_lossy(&logs().lock().expect("logs")).into_owned();
    assert!(!logs.is_empty(), "tracing output was captured");
    haystack.push_str(&logs);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&canary);
    let hits = haystack.matches(canary.as_str()).count() + haystack.matches(b64.as_str()).count();
    eprintln!(
        "searched {} bytes of logs + {} events + statuses: {hits} canary hits",
        logs.len(),
        event_count
    );
    assert_eq!(hits, 0, "the canary value leaked");
    env.cleanup().await;
}
