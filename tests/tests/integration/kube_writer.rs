//! The writer on its own: no request when unchanged, keys dropped from the spec removed by
//! server-side apply, ErrSecretIsOwned, immutable Secrets, Merge never creating.

use crate::kube_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube_support::*;
use secretsync_engine::DesiredSecret;
use secretsync_kube::cache::ManagedSecrets;
use secretsync_kube::drift::DriftKey;
use secretsync_kube::writer::{Conflict, WriteError, WriteOutcome, Writer};
use secretsync_model::SecretValue;
use secretsync_model::external_secret::{CreationPolicy, DeletionPolicy, ExternalSecret};
use serde_json::json;

fn desired(ns: &str, name: &str, data: &[(&str, &str)], policy: CreationPolicy) -> DesiredSecret {
    DesiredSecret {
        name: name.to_string(),
        namespace: ns.to_string(),
        type_: "Opaque".to_string(),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), SecretValue::from_str_value(v)))
            .collect(),
        labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
        annotations: BTreeMap::new(),
        finalizers: Vec::new(),
        immutable: false,
        creation_policy: policy,
        deletion_policy: DeletionPolicy::Retain,
        templated: false,
    }
}

async fn external_secret(env: &TestEnv, name: &str) -> ExternalSecret {
    env.apply(
        Some(&env.namespace),
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": name},
               "spec": {"data": [{"secretKey": "a", "remoteRef": {"key": "a"}}]}}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_semantics() {
    let env = TestEnv::start("writer").await;
    let ns = env.namespace.clone();
    let writer = Writer::new(
        env.client.clone(),
        Arc::new(DriftKey::generate()),
        true,
        Arc::new(ManagedSecrets::default()),
    );
    let es = external_secret(&env, "one").await;
    let other = external_secret(&env, "two").await;

    let two_keys = desired(
        &ns,
        "target",
        &[("a", "1"), ("b", "2")],
        CreationPolicy::Owner,
    );
    assert_eq!(
        writer.write(&es, &two_keys).await.expect("create"),
        WriteOutcome::Created
    );
    let rv = env
        .secret(&ns, "target")
        .await
        .and_then(|s| s.metadata.resource_version);
    let writes = env.secret_writes();
    assert_eq!(
        writer.write(&es, &two_keys).await.expect("again"),
        WriteOutcome::Unchanged
    );
    assert_eq!(
        env.secret_writes(),
        writes,
        "no request when nothing changed"
    );
    assert_eq!(
        env.secret(&ns, "target")
            .await
            .and_then(|s| s.metadata.resource_version),
        rv
    );

    // Key dropped from the spec: SSA removes it because the manager stops applying it.
    let one_key = desired(&ns, "target", &[("a", "1")], CreationPolicy::Owner);
    assert_eq!(
        writer.write(&es, &one_key).await.expect("drop b"),
        WriteOutcome::Updated
    );
    let s = env.secret(&ns, "target").await.expect("secret");
    assert_eq!(value_of(&s, "a").as_deref(), Some("1"));
    assert_eq!(value_of(&s, "b"), None, "dropped key removed");

    // Another ExternalSecret controls it.
    let err = writer
        .write(&other, &one_key)
        .await
        .expect_err("owned by another");
    assert!(
        matches!(
            err,
            WriteError::Conflict {
                conflict: Conflict::ControlledByOther { .. },
                ..
            }
        ) && !err.is_retryable(),
        "{err}"
    );

    // Immutable Secrets refuse data changes.
    let mut frozen = desired(&ns, "frozen", &[("a", "1")], CreationPolicy::Owner);
    frozen.immutable = true;
    assert_eq!(
        writer.write(&es, &frozen).await.expect("create"),
        WriteOutcome::Created
    );
    let mut changed = frozen.clone();
    changed
        .data
        .insert("a".into(), SecretValue::from_str_value("2"));
    let err = writer.write(&es, &changed).await.expect_err("immutable");
    assert!(
        matches!(
            err,
            WriteError::Conflict {
                conflict: Conflict::Immutable,
                ..
            }
        ) && !err.is_retryable(),
        "{err}"
    );

    // Merge never creates, and keeps other keys.
    let merge = desired(&ns, "merged", &[("a", "1")], CreationPolicy::Merge);
    assert_eq!(
        writer.write(&es, &merge).await.expect("missing"),
        WriteOutcome::Missing
    );
    assert!(env.secret(&ns, "merged").await.is_none());
    let mut existing = Secret::default();
    existing.metadata.name = Some("merged".into());
    existing.type_ = Some("kubernetes.io/tls".into());
    existing.data = Some(BTreeMap::from([
        ("tls.crt".into(), k8s_openapi::ByteString(b"c".to_vec())),
        ("tls.key".into(), k8s_openapi::ByteString(b"k".to_vec())),
    ]));
    Api::<Secret>::namespaced(env.client.clone(), &ns)
        .create(&PostParams::default(), &existing)
        .await
        .expect("create");
    assert_eq!(
        writer.write(&es, &merge).await.expect("merge"),
        WriteOutcome::Updated
    );
    let s = env.secret(&ns, "merged").await.expect("secret");
    assert_eq!(
        s.type_.as_deref(),
        Some("kubernetes.io/tls"),
        "Merge leaves the type alone"
    );
    assert_eq!(value_of(&s, "tls.crt").as_deref(), Some("c"));
    assert_eq!(value_of(&s, "a").as_deref(), Some("1"));
    assert!(s.metadata.owner_references.unwrap_or_default().is_empty());
    assert_eq!(
        writer.write(&es, &merge).await.expect("merge again"),
        WriteOutcome::Unchanged
    );

    // None writes nothing.
    let none = desired(&ns, "none", &[("a", "1")], CreationPolicy::None);
    assert_eq!(
        writer.write(&es, &none).await.expect("none"),
        WriteOutcome::Skipped
    );
    assert!(env.secret(&ns, "none").await.is_none());
    env.cleanup().await;
}
