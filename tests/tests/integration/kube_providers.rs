//! Provider rules seen through the operator (every real provider, `AllProviders`):
//! the operator's own identity serves ClusterSecretStores only (#14), a missing credential
//! Secret is an error that keeps the target (#14), and ESO's `fake.validationResult` (#13).

use crate::kube_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::{ClusterSecretStore, SecretStore, SecretStoreStatus};
use secretsync_provider_azure::{AzureOptions, ManagedIdentityEndpoint, OperatorWorkloadIdentity};
use secretsync_providers::{AllProviders, ProviderOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TCP listener standing for an endpoint a store points at: records the first line of every
/// connection (TLS client hellos show as binary) and answers 403.
struct Listener {
    addr: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    async fn start() -> Listener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let read = socket.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..read]);
                    let first = head.lines().next().unwrap_or("").to_string();
                    log.lock().expect("lock").push(first);
                    let body = r#"{"errors":["permission denied"]}"#;
                    let _ = socket
                        .write_all(
                            format!(
                                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        Listener { addr, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

fn ready(status: Option<&SecretStoreStatus>) -> Option<(String, String, String)> {
    let c = status?.conditions.iter().find(|c| c.type_ == "Ready")?;
    Some((
        serde_json::to_value(c.status).ok()?.as_str()?.to_string(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

async fn secret_store_ready(env: &TestEnv, name: &str) -> Option<(String, String, String)> {
    let s = Api::<SecretStore>::namespaced(env.client.clone(), &env.namespace)
        .get_opt(name)
        .await
        .ok()??;
    ready(s.status.as_ref())
}

async fn cluster_store_ready(env: &TestEnv, name: &str) -> Option<(String, String, String)> {
    let s = Api::<ClusterSecretStore>::all(env.client.clone())
        .get_opt(name)
        .await
        .ok()??;
    ready(s.status.as_ref())
}

/// #14 acceptance: a namespaced SecretStore pointing Vault `kubernetes` auth (no ServiceAccount
/// reference) or Azure workload/managed identity at a listener: the listener receives nothing
/// and the store's status names the field to set. The same as a ClusterSecretStore reaches
/// the listener, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_identity_serves_cluster_stores_only() {
    let env = TestEnv::start("identity").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let listener = Listener::start().await;
    let dir = std::env::temp_dir().join(format!("secretsync-identity-{}", env.suffix));
    std::fs::create_dir_all(&dir).expect("dir");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "operator-own-token").expect("token file");
    let mut options = ProviderOptions::default();
    options.vault.service_account_token_path = token_file.clone();
    options.azure = AzureOptions {
        managed_identity: ManagedIdentityEndpoint::Imds {
            base_url: format!("http://{}", listener.addr),
        },
        operator_workload_identity: Some(OperatorWorkloadIdentity {
            token_file,
            client_id: "operator-client".into(),
            tenant_id: "operator-tenant".into(),
        }),
        ..AzureOptions::default()
    };
    let vault = json!({"vault": {"server": format!("http://{}", listener.addr), "path": "secret",
        "auth": {"kubernetes": {"role": "r"}}}});
    let azure = |auth: &str| {
        json!({"azurekv": {"vaultUrl": format!("https://{}", listener.addr), "authType": auth,
            "customCloudConfig": {"activeDirectoryEndpoint": format!("https://{}", listener.addr)}}})
    };
    let cases = [
        (
            "vault-pod-token",
            vault.clone(),
            "spec.provider.vault.auth.kubernetes",
        ),
        (
            "azure-managed",
            azure("ManagedIdentity"),
            "spec.provider.azurekv.authType",
        ),
        (
            "azure-workload",
            azure("WorkloadIdentity"),
            "spec.provider.azurekv.serviceAccountRef",
        ),
    ];
    for (name, provider, _) in &cases {
        let _: SecretStore = env
            .apply(
                Some(&ns),
                json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                    "metadata": {"name": name}, "spec": {"controller": class, "provider": provider}}),
            )
            .await;
    }
    let _controllers = start_controllers(&env, config, Arc::new(AllProviders::new(options)));

    for (name, _, field) in &cases {
        let (status, reason, message) = wait_for(
            Duration::from_secs(20),
            &format!("{name} status"),
            || async { secret_store_ready(&env, name).await },
        )
        .await;
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "InvalidProviderConfig"),
            "{name}: {message}"
        );
        assert!(
            message.contains(field),
            "{name}: the status names {field}: {message}"
        );
        assert!(message.contains("operator's own identity"), "{message}");
    }
    assert_eq!(
        listener.seen(),
        Vec::<String>::new(),
        "no SecretStore made the operator contact the listener"
    );

    // The same Vault store as a ClusterSecretStore: the operator logs in with its own token.
    let cluster = format!("vault-pod-token-{}", env.suffix);
    let _: ClusterSecretStore = env
        .apply(
            None,
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                "metadata": {"name": cluster}, "spec": {"controller": class, "provider": vault}}),
        )
        .await;
    let (_, reason, message) = wait_for(
        Duration::from_secs(20),
        "ClusterSecretStore status",
        || async { cluster_store_ready(&env, &cluster).await },
    )
    .await;
    assert_ne!(reason, "InvalidProviderConfig", "{message}");
    assert!(
        listener
            .seen()
            .iter()
            .any(|l| l.starts_with("POST /v1/auth/kubernetes/login")),
        "the ClusterSecretStore used the operator's token: {:?}",
        listener.seen()
    );
    let _ = std::fs::remove_dir_all(&dir);
    env.cleanup().await;
}

/// #14: a missing credential Secret is not "remote secret not found". With `deletionPolicy:
/// Delete` the target (owned by the ExternalSecret) must stay, and the ExternalSecret says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credential_secret_keeps_the_target() {
    let env = TestEnv::start("missing-cred").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    // A ClusterSecretStore whose token reference has no namespace: it is read from each
    // ExternalSecret's namespace, where it does not exist. Validation cannot check it
    // (Ready, ValidationUnknown), so the flood gate lets the sync run. No Vault is contacted:
    // the credential is read first.
    let store = format!("referent-{}", env.suffix);
    let _: ClusterSecretStore = env
        .apply(
            None,
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                "metadata": {"name": store}, "spec": {"controller": class, "provider": {"vault": {
                    "server": "http://127.0.0.1:9", "path": "secret",
                    "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}}),
        )
        .await;
    let es: ExternalSecret = env
        .apply(
            Some(&ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "app"},
                "spec": {"refreshInterval": "1h",
                    "secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
                    "target": {"name": "kept", "creationPolicy": "Owner", "deletionPolicy": "Delete"},
                    "data": [{"secretKey": "password", "remoteRef": {"key": "app", "property": "password"}}]}}),
        )
        .await;
    // The target as an earlier sync left it: owned by the ExternalSecret.
    let uid = es.metadata.uid.clone().expect("uid");
    let target: Secret = serde_json::from_value(json!({
        "metadata": {"name": "kept", "namespace": ns, "ownerReferences": [{
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "name": "app",
            "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
        "stringData": {"password": "still-here"}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(env.client.clone(), &ns)
        .create(&PostParams::default(), &target)
        .await
        .expect("create the target");

    let _controllers = start_controllers(
        &env,
        config,
        Arc::new(AllProviders::new(ProviderOptions::default())),
    );
    let (status, _, message) = wait_for(
        Duration::from_secs(20),
        "the sync to fail on the missing credential",
        || async {
            ready_of(&env, &ns, "app")
                .await
                .filter(|(_, _, m)| m.contains("vault-token"))
        },
    )
    .await;
    assert_eq!(status, "False", "{message}");
    assert!(message.contains("does not exist"), "{message}");
    let kept = env.secret(&ns, "kept").await.expect("the target is kept");
    assert_eq!(value_of(&kept, "password").as_deref(), Some("still-here"));
    env.cleanup().await;
}

/// ESO's `fake.validationResult`: 1 → Ready with reason ValidationUnknown, 2 → not Ready;
/// `status.capabilities` is the provider's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_validation_result_is_honoured() {
    let env = TestEnv::start("validation-result").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    for (name, result) in [("ready", 0), ("unknown", 1), ("error", 2)] {
        let _: SecretStore = env
            .apply(
                Some(&ns),
                json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                    "metadata": {"name": name}, "spec": {"controller": class,
                    "provider": {"fake": {"data": [], "validationResult": result}}}}),
            )
            .await;
    }
    let _controllers = start_controllers(
        &env,
        config,
        Arc::new(AllProviders::new(ProviderOptions::default())),
    );
    for (name, status, reason) in [
        ("ready", "True", "Valid"),
        ("unknown", "True", "ValidationUnknown"),
        ("error", "False", "ValidationFailed"),
    ] {
        let (s, r, m) = wait_for(Duration::from_secs(20), name, || async {
            secret_store_ready(&env, name).await
        })
        .await;
        assert_eq!((s.as_str(), r.as_str()), (status, reason), "{name}: {m}");
        if name != "ready" {
            assert!(m.contains("unable to validate"), "{name}: {m}");
        }
    }
    let store = Api::<SecretStore>::namespaced(env.client.clone(), &ns)
        .get("ready")
        .await
        .expect("store");
    assert_eq!(
        store
            .status
            .and_then(|s| s.capabilities)
            .map(|c| format!("{c:?}")),
        Some("ReadOnly".into()),
        "the provider's capabilities (secretsync providers read only)"
    );
    env.cleanup().await;
}
