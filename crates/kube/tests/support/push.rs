//! PushSecret manifests and status reads shared by the PushSecret controller tests.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use secretsync_model::push_secret::PushSecret;
use serde_json::{Value, json};

use super::Cluster;

/// A PushSecret `name` pushing Secret `source` to SecretStore `store` every second.
pub fn push_secret(
    name: &str,
    ns: &str,
    store: &str,
    source: &str,
    (policy, deletion): (&str, &str),
    data: Value,
) -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "refreshInterval": "1s",
            "updatePolicy": policy,
            "deletionPolicy": deletion,
            "secretStoreRefs": [{"name": store, "kind": "SecretStore"}],
            "selector": {"secret": {"name": source}},
            "data": data,
        }
    })
}

/// One `data[]` entry: `secretKey` (none: the whole Secret) to `remoteKey[/property]`.
pub fn entry(secret_key: Option<&str>, remote_key: &str, property: Option<&str>) -> Value {
    let mut m = json!({"remoteRef": {"remoteKey": remote_key}});
    if let Some(k) = secret_key {
        m["secretKey"] = json!(k);
    }
    if let Some(p) = property {
        m["remoteRef"]["property"] = json!(p);
    }
    json!({ "match": m })
}

/// (status, reason, message) of a PushSecret's Ready condition.
pub async fn ready(cluster: &Cluster, name: &str) -> Option<(String, String, String)> {
    let ps = Api::<PushSecret>::namespaced(cluster.client.clone(), &cluster.namespace)
        .get_opt(name)
        .await
        .unwrap()?;
    let c = ps
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some(super::condition_triple(c.status, c.reason, c.message))
}

/// Asserts that events were published (a `Synced` one among them) and none carries `values`.
pub async fn assert_no_values_in_events(cluster: &Cluster, values: &[&str]) {
    let events: Vec<Value> = Api::<k8s_openapi::api::events::v1::Event>::namespaced(
        cluster.client.clone(),
        &cluster.namespace,
    )
    .list(&kube::api::ListParams::default())
    .await
    .unwrap()
    .items
    .iter()
    .map(|e| serde_json::to_value(e).unwrap())
    .collect();
    assert!(events.iter().any(|e| e["reason"] == "Synced"), "{events:?}");
    let text = serde_json::to_string(&events).unwrap();
    for value in values {
        assert!(!text.contains(value), "an event carries {value:?}");
    }
}

/// Asserts that the operator's logs (captured by `secretsync_testkit::logs::capture`, called
/// first thing in the test) hold the controller's lines and none of `values`.
pub fn assert_no_values_in_logs(values: &[&str]) {
    let logs = secretsync_testkit::logs::captured_text();
    assert!(
        logs.contains("PushSecret"),
        "the controller's logs were captured"
    );
    for value in values {
        assert!(!logs.contains(value), "a log line carries {value:?}");
    }
}

/// Applies Secret `name` in the test namespace with string data.
pub async fn source(cluster: &Cluster, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    cluster
        .apply::<Secret>(
            Some(&cluster.namespace),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": name, "namespace": cluster.namespace},
                   "stringData": data}),
        )
        .await;
}
