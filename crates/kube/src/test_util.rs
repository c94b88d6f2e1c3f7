//! Builders for the unit tests' plain data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use secretsync_engine::DesiredSecret;
use secretsync_model::external_secret::{CreationPolicy, DeletionPolicy, ExternalSecret};

/// The uid of [`external_secret`].
pub const UID: &str = "uid-es";

/// ExternalSecret `ns/app` with `uid` [`UID`] and this creation policy.
pub fn external_secret(policy: CreationPolicy) -> ExternalSecret {
    let mut es: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": "ns", "uid": UID, "generation": 1},
        "spec": {"target": {"name": "app"}}
    }))
    .unwrap();
    es.spec.target.creation_policy = policy;
    es
}

/// The desired Secret `ns/app` (Opaque) with `data`.
pub fn desired(policy: CreationPolicy, data: &[(&str, &str)]) -> DesiredSecret {
    DesiredSecret {
        name: "app".into(),
        namespace: "ns".into(),
        type_: "Opaque".into(),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), secretsync_model::SecretValue::from(*v)))
            .collect(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        finalizers: Vec::new(),
        immutable: false,
        creation_policy: policy,
        deletion_policy: DeletionPolicy::Retain,
        templated: false,
    }
}

/// A live Secret from JSON (`metadata.name`/`namespace` default to `ns/app`).
pub fn secret(value: serde_json::Value) -> Secret {
    let mut s: Secret = serde_json::from_value(value).unwrap();
    s.metadata.name.get_or_insert_with(|| "app".into());
    s.metadata.namespace.get_or_insert_with(|| "ns".into());
    s
}
