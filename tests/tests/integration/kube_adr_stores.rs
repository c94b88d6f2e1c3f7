//! Acceptance test of ADR-002 (issue #8): the ADR's three ClusterSecretStores and its
//! `azure-credentials` ExternalSecret, loaded from `examples/adr-002/` with only their endpoints
//! pointed at real backends (OpenBao, moto, the Azure Key Vault + Entra ID double), run through
//! the real controllers (`secretsync_kube::run` with every real provider) against the Kubernetes
//! API double — or, unchanged, against the cluster named by `SECRETSYNC_TEST_KUBECONFIG`.
//!
//! It shows: the Secret `crossplane-system/azure-credentials` holds the Azure value; all three
//! stores are `Ready` with reason `Valid` (each validated against its backend); a copy of the ADR
//! ExternalSecret per store (refreshInterval 2 s) reads each backend and follows a value change
//! within one interval, while the ADR's own (1 h) Secret keeps its value; edits of the Secret's
//! data, type and owned label are reverted within 1 s.

use crate::adr_peers;
use crate::kube_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adr_peers::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube_support::*;
use secretsync_model::secret_store::ClusterSecretStore;
use secretsync_providers::AllProviders;
use secretsync_testkit::azure::grant;
use serde_json::{Value, json};

/// Namespace of the ADR's ExternalSecret.
const NS: &str = "crossplane-system";
/// Name of the ADR's ExternalSecret and its target Secret.
const ADR_SECRET: &str = "azure-credentials";
/// refreshInterval of the per-store copies.
const FAST_REFRESH: Duration = Duration::from_secs(2);
/// Allowed on top of one refreshInterval for the reconcile and the provider round trip.
const PROPAGATION_SLACK: Duration = Duration::from_secs(1);
/// The acceptance bound for reverting an edit of the Secret.
const REPAIR_BOUND: Duration = Duration::from_secs(1);

/// Names and controller class: the ADR's own names on the double (a private API server per
/// test); on a real cluster the stores get a unique suffix and `spec.controller`, so parallel
/// runs and an installed operator do not pick them up.
struct Isolation {
    suffix: Option<String>,
    class: Option<String>,
}

impl Isolation {
    fn new(env: &TestEnv) -> Isolation {
        if env.server.is_some() {
            Isolation {
                suffix: None,
                class: None,
            }
        } else {
            Isolation {
                suffix: Some(env.suffix.clone()),
                class: Some(format!("test-{}", env.suffix)),
            }
        }
    }

    fn store(&self, adr_name: &str) -> String {
        match &self.suffix {
            Some(s) => format!("{adr_name}-{s}"),
            None => adr_name.to_string(),
        }
    }

    fn isolate_store(&self, store: &mut Value) {
        let name = self.store(store["metadata"]["name"].as_str().unwrap_or_default());
        store["metadata"]["name"] = json!(name);
        if let Some(class) = &self.class {
            store["spec"]["controller"] = json!(class);
        }
    }
}

/// The Ready condition of a ClusterSecretStore: (status, reason, message).
async fn store_ready(env: &TestEnv, name: &str) -> Option<(String, String, String)> {
    let store = Api::<ClusterSecretStore>::all(env.client.clone())
        .get_opt(name)
        .await
        .ok()??;
    let c = store
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    let status = serde_json::to_value(c.status).ok()?.as_str()?.to_string();
    Some((
        status,
        c.reason.unwrap_or_default(),
        c.message.unwrap_or_default(),
    ))
}

/// A copy of the ADR ExternalSecret reading through `store` every 2 s into its own Secret.
fn fast_copy(adr: &Value, adr_store: &str, store: &str) -> (String, Value) {
    let name = format!("{ADR_SECRET}-via-{adr_store}");
    let mut copy = adr.clone();
    copy["metadata"]["name"] = json!(name);
    copy["spec"]["refreshInterval"] = json!(format!("{}s", FAST_REFRESH.as_secs()));
    copy["spec"]["secretStoreRef"]["name"] = json!(store);
    copy["spec"]["target"]["name"] = json!(name);
    (name, copy)
}

fn credentials(client_id: &str) -> Value {
    json!({"clientId": client_id, "clientSecret": "adr-e2e-canary", "tenantId": "t", "subscriptionId": "s"})
}

/// The backend's value as it arrives in a Secret: Azure and AWS hold the JSON text itself;
/// a KV v2 read without `property` returns the secret's data map as JSON.
fn parsed(secret: &Secret) -> Option<Value> {
    serde_json::from_str(&value_of(secret, "credentials")?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adr_stores_sync_validate_propagate_and_repair_against_real_backends() {
    let mut env = TestEnv::start("adr-stores").await;
    clear_adr_names(&env).await;
    env.create_namespace_named(NS, BTreeMap::new()).await;
    let isolation = Isolation::new(&env);

    // Backends and the ServiceAccount the ADR's stores authenticate as.
    let cluster = cluster_access(&env).await;
    let peers = Peers::start(&cluster).await;
    create_service_account(&mut env, peers.azure.tenant_id()).await;
    let v1 = |backend: &str| credentials(&format!("{backend}-v1"));
    peers.set_azure_value(&v1("azure").to_string());
    peers.set_aws_value(&v1("aws").to_string()).await;
    peers.set_vault_value(&v1("vault")).await;

    // The ADR's manifests, endpoints pointed at the backends.
    let (stores, adr_external_secret) = adr_manifests();
    let names: Vec<&str> = stores
        .iter()
        .filter_map(|s| s["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["azure-keyvault", "aws-secretsmanager", "vault"]);
    for mut store in stores.iter().cloned() {
        assert_eq!(store["apiVersion"], "external-secrets.io/v1beta1");
        point_store_at_peers(&mut store, &peers);
        isolation.isolate_store(&mut store);
        env.apply_manifest(store).await;
    }

    let config = secretsync_kube::Config {
        controller_class: isolation.class.clone(),
        ..test_config(&env)
    };
    peers
        .moto
        .start_recording()
        .await
        .expect("start moto's recorder");
    let factory = Arc::new(AllProviders::new(peers.provider_options()));
    let _controllers = start_controllers(&env, config, factory);

    // (b) All three stores validate against their backends.
    for adr_name in ["azure-keyvault", "aws-secretsmanager", "vault"] {
        let name = isolation.store(adr_name);
        let (status, reason, message) = wait_for(
            Duration::from_secs(20),
            &format!("{name} Ready"),
            || async { store_ready(&env, &name).await.filter(|r| r.0 == "True") },
        )
        .await;
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("True", "Valid"),
            "{name}: {message}"
        );
        eprintln!("ClusterSecretStore {name}: Ready={status} {reason}: {message}");
    }

    // Each backend saw the ServiceAccount-based login of the ADR's `auth` blocks.
    assert!(
        peers.azure.token_requests().get(grant::FEDERATED) >= 1,
        "Azure: a federated (workload identity) token request"
    );
    let aws_calls = peers.moto.recorded_calls().await.expect("moto's recording");
    assert!(
        aws_calls
            .iter()
            .any(|c| c.action == "AssumeRoleWithWebIdentity"),
        "AWS: AssumeRoleWithWebIdentity (unsigned, with the ServiceAccount token): {aws_calls:?}"
    );

    // (a) The ADR ExternalSecret as written (store names isolated on a real cluster).
    let mut adr = adr_external_secret.clone();
    assert_eq!(adr["metadata"]["namespace"], NS);
    assert_eq!(adr["spec"]["secretStoreRef"]["name"], "azure-keyvault");
    assert_eq!(adr["spec"]["refreshInterval"], "1h");
    adr["spec"]["secretStoreRef"]["name"] = json!(isolation.store("azure-keyvault"));
    env.apply_manifest(adr.clone()).await;
    let secret = wait_for(
        Duration::from_secs(20),
        "crossplane-system/azure-credentials",
        || async { env.secret(NS, ADR_SECRET).await },
    )
    .await;
    assert_eq!(parsed(&secret), Some(v1("azure")));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    let owner = secret.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        owner
            .iter()
            .map(|o| (o.kind.as_str(), o.name.as_str(), o.controller))
            .collect::<Vec<_>>(),
        [("ExternalSecret", ADR_SECRET, Some(true))]
    );
    let ready = wait_for(
        Duration::from_secs(5),
        "azure-credentials Ready",
        || async {
            ready_of(&env, NS, ADR_SECRET)
                .await
                .filter(|r| r.0 == "True")
        },
    )
    .await;
    assert_eq!(ready.1, "SecretSynced", "{}", ready.2);

    // One copy per store, refreshing every 2 s: each reads its own backend.
    let mut copies = Vec::new();
    for adr_store in ["azure-keyvault", "aws-secretsmanager", "vault"] {
        let (name, copy) = fast_copy(&adr, adr_store, &isolation.store(adr_store));
        env.apply_manifest(copy).await;
        copies.push((adr_store, name));
    }
    let backend = |adr_store: &str| match adr_store {
        "azure-keyvault" => "azure",
        "aws-secretsmanager" => "aws",
        _ => "vault",
    };
    for (adr_store, name) in &copies {
        let expected = v1(backend(adr_store));
        wait_for(Duration::from_secs(20), name, || async {
            env.secret(NS, name)
                .await
                .filter(|s| parsed(s).as_ref() == Some(&expected))
        })
        .await;
    }

    // (d) Edits of the ADR Secret are reverted.
    let repairs = repair_edits(&env, &v1("azure")).await;

    // (c) A value changed at each backend reaches its copy within one refreshInterval.
    let v2 = |backend: &str| credentials(&format!("{backend}-v2"));
    let changed_at = Instant::now();
    peers.set_azure_value(&v2("azure").to_string());
    peers.set_aws_value(&v2("aws").to_string()).await;
    peers.set_vault_value(&v2("vault")).await;
    let mut propagation = Vec::new();
    for (adr_store, name) in &copies {
        let expected = v2(backend(adr_store));
        wait_for(
            FAST_REFRESH + PROPAGATION_SLACK,
            &format!("{name} to follow the backend"),
            || async {
                env.secret(NS, name)
                    .await
                    .filter(|s| parsed(s).as_ref() == Some(&expected))
            },
        )
        .await;
        propagation.push((*adr_store, changed_at.elapsed()));
    }
    // The ADR's own ExternalSecret refreshes hourly: still the first value.
    let adr_secret = env.secret(NS, ADR_SECRET).await.expect("ADR Secret");
    assert_eq!(parsed(&adr_secret), Some(v1("azure")));

    eprintln!("provider change propagated (refreshInterval 2s): {propagation:?}");
    eprintln!("edit reverted: {repairs:?}");
    for (what, took) in &repairs {
        assert!(
            *took < REPAIR_BOUND,
            "{what} edit reverted in {took:?}, over {REPAIR_BOUND:?}"
        );
    }
    env.cleanup().await;
}

/// Edits data, an owned label and the type of the ADR Secret, as `kubectl edit` would (a type
/// change needs delete + create: the field is immutable); returns how long each repair took.
async fn repair_edits(env: &TestEnv, expected: &Value) -> Vec<(&'static str, Duration)> {
    let api: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let synced = |s: &Secret| parsed(s).as_ref() == Some(expected);
    let mut took = Vec::new();

    let started = Instant::now();
    api.patch(
        ADR_SECRET,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"credentials": "dGFtcGVyZWQ="}})),
    )
    .await
    .expect("edit data");
    repaired(env, |s| synced(s)).await;
    took.push(("data", started.elapsed()));

    let started = Instant::now();
    api.patch(
        ADR_SECRET,
        &PatchParams::default(),
        &Patch::Merge(json!({
            "metadata": {"labels": {"reconcile.external-secrets.io/managed": "false"}}
        })),
    )
    .await
    .expect("edit label");
    repaired(env, |s| {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("reconcile.external-secrets.io/managed"))
            .map(String::as_str)
            == Some("true")
    })
    .await;
    took.push(("label", started.elapsed()));

    // `kubectl replace --force` of the edited object: its metadata (labels, annotations, owner)
    // stays, the type and data change. Should the operator recreate the Secret between the delete
    // and the create (409), the edit is tried again.
    let live = api.get(ADR_SECRET).await.expect("get the Secret");
    let mut retyped = Secret::default();
    retyped.metadata.name = Some(ADR_SECRET.into());
    retyped.metadata.labels = live.metadata.labels.clone();
    retyped.metadata.annotations = live.metadata.annotations.clone();
    retyped.metadata.owner_references = live.metadata.owner_references.clone();
    retyped.type_ = Some("kubernetes.io/tls".into());
    retyped.data = Some(BTreeMap::from([
        ("tls.crt".into(), ByteString(b"x".to_vec())),
        ("tls.key".into(), ByteString(b"y".to_vec())),
    ]));
    let mut started = Instant::now();
    for attempt in 1..=5 {
        let _ = api.delete(ADR_SECRET, &DeleteParams::default()).await;
        started = Instant::now();
        match api.create(&PostParams::default(), &retyped).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 409 && attempt < 5 => continue,
            Err(e) => panic!("recreate with another type: {e}"),
        }
    }
    repaired(env, |s| s.type_.as_deref() == Some("Opaque") && synced(s)).await;
    took.push(("type", started.elapsed()));
    took
}

/// Waits (up to 5 s, so a slow repair is measured rather than cut off) for the ADR Secret to
/// satisfy `ok`.
async fn repaired(env: &TestEnv, ok: impl Fn(&Secret) -> bool) {
    wait_for(Duration::from_secs(5), "the repair", || async {
        env.secret(NS, ADR_SECRET).await.filter(|s| ok(s))
    })
    .await;
}
