//! ADR-002's `azure-credentials` ExternalSecret against a `fake` ClusterSecretStore named
//! `azure-keyvault`: creation, propagation of a provider change within one refreshInterval,
//! and repair of edits (data, type, owned labels) and deletion, with measured repair times.

use crate::kube_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::ClusterSecretStore;
use serde_json::json;

fn store(name: &str, class: &str, value: &str) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": name},
        "spec": {
            "controller": class,
            "provider": {"fake": {"data": [
                {"key": "crossplane-azure-credentials", "value": value}
            ]}}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adr_azure_credentials_sync_propagate_and_repair() {
    let mut env = TestEnv::start("adr").await;
    clear_adr_names(&env).await;
    // The ADR's namespace; unique on real clusters would change the manifest, so the double and a
    // disposable cluster both get `crossplane-system` itself.
    let ns = "crossplane-system";
    env.create_namespace_named(ns, BTreeMap::new()).await;
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let store_name = if env.server.is_some() {
        "azure-keyvault".to_string()
    } else {
        format!("azure-keyvault-{}", env.suffix)
    };
    let _: ClusterSecretStore = env
        .apply(None, store(&store_name, &class, r#"{"clientId":"v1"}"#))
        .await;
    let _operator = start_operator(&env, config);

    // The ADR manifest (v1beta1 in the ADR; served identically as v1), with a short interval.
    let _: ExternalSecret = env
        .apply(
            Some(ns),
            json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": {"name": "azure-credentials", "namespace": ns},
                "spec": {
                    "refreshInterval": "2s",
                    "secretStoreRef": {"name": store_name, "kind": "ClusterSecretStore"},
                    "target": {"name": "azure-credentials", "creationPolicy": "Owner"},
                    "data": [{"secretKey": "credentials", "remoteRef": {"key": "crossplane-azure-credentials"}}]
                }
            }),
        )
        .await;

    let secret = wait_for(
        Duration::from_secs(10),
        "crossplane-system/azure-credentials",
        || async { env.secret(ns, "azure-credentials").await },
    )
    .await;
    assert_eq!(
        value_of(&secret, "credentials").as_deref(),
        Some(r#"{"clientId":"v1"}"#)
    );
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("reconcile.external-secrets.io/managed")
            .map(String::as_str),
        Some("true")
    );
    assert!(labels.contains_key("reconcile.external-secrets.io/created-by"));
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    assert!(
        annotations
            .get("secretsync.io/hmac")
            .is_some_and(|h| h.starts_with("v1:"))
    );
    assert!(annotations.contains_key("reconcile.external-secrets.io/data-hash"));
    let owner = &secret.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("ExternalSecret", Some(true))
    );
    let ready = wait_for(Duration::from_secs(5), "Ready", || async {
        ready_of(&env, ns, "azure-credentials")
            .await
            .filter(|r| r.0 == "True")
    })
    .await;
    assert_eq!(ready.1, "SecretSynced");

    // Provider change propagates within one refreshInterval (2 s) plus reconcile latency.
    let changed_at = Instant::now();
    let _: ClusterSecretStore = env
        .apply(None, store(&store_name, &class, r#"{"clientId":"v2"}"#))
        .await;
    wait_for(Duration::from_millis(2500), "the new value", || async {
        env.secret(ns, "azure-credentials")
            .await
            .filter(|s| value_of(s, "credentials").as_deref() == Some(r#"{"clientId":"v2"}"#))
    })
    .await;
    eprintln!("provider change propagated in {:?}", changed_at.elapsed());

    let api: Api<Secret> = Api::namespaced(env.client.clone(), ns);
    let calls_before_edits = _operator
        .factory
        .calls
        .load(std::sync::atomic::Ordering::SeqCst);

    // Data edit.
    let started = Instant::now();
    api.patch(
        "azure-credentials",
        &PatchParams::apply("intruder").force(),
        &Patch::Apply(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azure-credentials"},
            "data": {"credentials": "dGFtcGVyZWQ="}
        })),
    )
    .await
    .expect("edit data");
    repaired(&env, ns, |s| {
        value_of(s, "credentials").as_deref() == Some(r#"{"clientId":"v2"}"#)
    })
    .await;
    let data_repair = started.elapsed();

    // Owned label edit.
    let started = Instant::now();
    api.patch(
        "azure-credentials",
        &PatchParams::default(),
        &Patch::Merge(json!({
            "metadata": {"labels": {"reconcile.external-secrets.io/managed": "false"}}
        })),
    )
    .await
    .expect("edit label");
    repaired(&env, ns, |s| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("reconcile.external-secrets.io/managed"))
            .map(String::as_str)
            == Some("true")
    })
    .await;
    let label_repair = started.elapsed();

    // Type edit: a Secret's type is immutable, so the edit is a delete + create with another type
    // that keeps the metadata (as `kubectl replace --force` does), ownerReference included: a
    // Secret without it would not be this ExternalSecret's to repair (creationPolicy Owner never
    // takes over). The operator may recreate the Secret between our delete and create (409
    // AlreadyExists): then the edit is tried again.
    let owner_references = api
        .get("azure-credentials")
        .await
        .expect("the Secret")
        .metadata
        .owner_references;
    let started = Instant::now();
    let mut foreign = Secret::default();
    foreign.metadata.owner_references = owner_references;
    foreign.metadata.name = Some("azure-credentials".into());
    foreign.metadata.labels = Some(BTreeMap::from([(
        "reconcile.external-secrets.io/managed".into(),
        "true".into(),
    )]));
    foreign.type_ = Some("kubernetes.io/tls".into());
    foreign.data = Some(BTreeMap::from([
        ("tls.crt".into(), ByteString(b"x".to_vec())),
        ("tls.key".into(), ByteString(b"y".to_vec())),
    ]));
    let mut attempts = 0;
    loop {
        api.delete("azure-credentials", &DeleteParams::default())
            .await
            .expect("delete");
        match api.create(&PostParams::default(), &foreign).await {
            Ok(_) => break,
            Err(kube::Error::Api(e)) if e.code == 409 && attempts < 20 => attempts += 1,
            Err(e) => panic!("recreate with another type: {e}"),
        }
    }
    repaired(&env, ns, |s| {
        s.type_.as_deref() == Some("Opaque")
            && value_of(s, "credentials").as_deref() == Some(r#"{"clientId":"v2"}"#)
    })
    .await;
    let type_repair = started.elapsed();

    // Deletion.
    let started = Instant::now();
    api.delete("azure-credentials", &DeleteParams::default())
        .await
        .expect("delete");
    repaired(&env, ns, |s| {
        value_of(s, "credentials").as_deref() == Some(r#"{"clientId":"v2"}"#)
    })
    .await;
    let delete_repair = started.elapsed();

    eprintln!(
        "repair times: data {data_repair:?}, label {label_repair:?}, type {type_repair:?}, delete {delete_repair:?}"
    );
    for (what, took) in [
        ("data", data_repair),
        ("label", label_repair),
        ("type", type_repair),
        ("delete", delete_repair),
    ] {
        assert!(
            took < Duration::from_secs(1),
            "{what} edit repaired in {took:?}, over 1 s"
        );
    }
    let calls_after = _operator
        .factory
        .calls
        .load(std::sync::atomic::Ordering::SeqCst);
    eprintln!(
        "provider calls during the repairs: {}",
        calls_after - calls_before_edits
    );
    env.cleanup().await;
}

async fn repaired(env: &TestEnv, ns: &str, ok: impl Fn(&Secret) -> bool) {
    wait_for(Duration::from_secs(2), "repair", || async {
        env.secret(ns, "azure-credentials").await.filter(|s| ok(s))
    })
    .await;
}
