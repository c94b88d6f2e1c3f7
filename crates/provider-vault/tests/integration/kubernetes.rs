//! Kubernetes and JWT auth against OpenBao, with ServiceAccount tokens and Secrets from the
//! testkit's Kubernetes API double (TokenRequest, TokenReview, JWKS), read through the operator's
//! own resolver (`secretsync_kube::credentials::KubeCredentials`).

use crate::support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::{FetchRequest, SecretProvider};
use secretsync_model::providers::{
    VaultAuth, VaultJwtAuth, VaultKubernetesAuth, VaultKubernetesServiceAccountTokenAuth,
};
use secretsync_model::{ProviderError, SecretValue};
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;
use support::*;

/// One TokenRequest: ServiceAccount, audiences, expiration.
type TokenRequestRecord = (String, Vec<String>, Option<Duration>);

/// The operator's resolver over the API double ([`KubeCredentials`]), recording the
/// TokenRequests the provider asks for.
struct RecordingCredentials {
    inner: KubeCredentials,
    requests: Mutex<Vec<TokenRequestRecord>>,
}

impl RecordingCredentials {
    /// A resolver for the store `team/<store>` (see `support::context`).
    fn new(api: &KubeApiServer, store: &str) -> Arc<Self> {
        let client = api.client().expect("client of the Kubernetes API double");
        Arc::new(RecordingCredentials {
            inner: KubeCredentials::new(
                client,
                context(store),
                Arc::new(CredentialIndex::default()),
            ),
            requests: Mutex::new(Vec::new()),
        })
    }

    fn requests(&self) -> Vec<TokenRequestRecord> {
        self.requests.lock().expect("lock").clone()
    }
}

#[async_trait]
impl CredentialResolver for RecordingCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        self.inner.secret_value(selector, default_key).await
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        self.inner.config_map_value(name, namespace, key).await
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        audiences: &[String],
        expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        if let Ok(mut r) = self.requests.lock() {
            r.push((account.name.clone(), audiences.to_vec(), expiration));
        }
        self.inner
            .service_account_token(account, audiences, expiration)
            .await
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        self.inner.service_account_annotations(account).await
    }
}

fn admin_http(api: &KubeApiServer) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(api.ca_pem().as_bytes()).expect("CA");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client")
}

/// Creates Secret `team/<name>` holding `data` (string values) in the API double.
async fn create_secret(api: &KubeApiServer, name: &str, data: &[(&str, &str)]) {
    let data: BTreeMap<&str, &str> = data.iter().copied().collect();
    let resp = admin_http(api)
        .post(format!("{}/api/v1/namespaces/{NS}/secrets", api.url()))
        .bearer_auth(api.admin_token())
        .json(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}))
        .send()
        .await
        .expect("create Secret");
    assert!(
        resp.status().is_success(),
        "create Secret: {}",
        resp.status()
    );
}

/// A token for ServiceAccount `team/sync` with audience `vault`, minted through the API double.
async fn mint_sync_token(api: &KubeApiServer) -> String {
    let minted = RecordingCredentials::new(api, "mint")
        .service_account_token(&sa("sync", &[]), &["vault".into()], None)
        .await
        .expect("token");
    minted.expose_str().expect("utf8").to_string()
}

async fn kube_api() -> KubeApiServer {
    let api = KubeApiServer::start(KubeApiOptions {
        namespaces: vec![NS.into()],
        ..KubeApiOptions::default()
    })
    .await
    .expect("start the Kubernetes API double");
    let http = admin_http(&api);
    for name in ["sync", "intruder"] {
        let resp = http
            .post(format!(
                "{}/api/v1/namespaces/{NS}/serviceaccounts",
                api.url()
            ))
            .bearer_auth(api.admin_token())
            .json(
                &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
            )
            .send()
            .await
            .expect("create ServiceAccount");
        assert!(resp.status().is_success(), "create SA: {}", resp.status());
    }
    api
}

async fn seed(bao: &Bao) {
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "app", json!({"from": "kube"})).await;
    bao.put_policy("reader", &read_policy("kv2")).await;
}

fn sa(name: &str, audiences: &[&str]) -> ServiceAccountSelector {
    ServiceAccountSelector {
        name: name.into(),
        namespace: None,
        audiences: audiences.iter().map(|a| a.to_string()).collect(),
    }
}

/// A provider for store `team/<name>` with the operator's resolver over `api`.
fn provider_with(
    bao: &Bao,
    api: &KubeApiServer,
    name: &str,
    auth: VaultAuth,
) -> (VaultProvider, Arc<RecordingCredentials>) {
    let creds = RecordingCredentials::new(api, name);
    let provider = VaultProvider::new(
        context(name),
        spec(bao, "kv2", true, auth),
        creds.clone(),
        VaultOptions::default(),
    )
    .expect("provider");
    (provider, creds)
}

/// Enables kubernetes auth at `auth/kubernetes` against the API double, with role `sync` for
/// ServiceAccount `team/sync` (audience `vault`).
async fn configure_kubernetes_auth(bao: &Bao, api: &KubeApiServer) {
    bao.api(
        "POST",
        "sys/auth/kubernetes",
        Some(json!({"type": "kubernetes"})),
    )
    .await;
    bao.api(
        "POST",
        "auth/kubernetes/config",
        Some(json!({
            "kubernetes_host": api.url(),
            "kubernetes_ca_cert": api.ca_pem(),
            "token_reviewer_jwt": api.admin_token(),
            "disable_local_ca_jwt": true,
        })),
    )
    .await;
    bao.api(
        "POST",
        "auth/kubernetes/role/sync",
        Some(json!({
            "bound_service_account_names": ["sync"],
            "bound_service_account_namespaces": [NS],
            "audience": "vault",
            "token_policies": ["reader"],
        })),
    )
    .await;
}

#[tokio::test]
async fn kubernetes_auth_uses_token_request_and_token_review() {
    let api = kube_api().await;
    let bao = Bao::start().await;
    seed(&bao).await;
    configure_kubernetes_auth(&bao, &api).await;
    let auth = |account: ServiceAccountSelector| VaultAuth {
        kubernetes: Some(VaultKubernetesAuth {
            mount_path: "kubernetes".into(),
            service_account_ref: Some(account),
            secret_ref: None,
            role: "sync".into(),
        }),
        ..VaultAuth::default()
    };

    let (p, creds) = provider_with(&bao, &api, "k8s", auth(sa("sync", &["vault"])));
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "kube"}));
    assert_eq!(p.login_count(), 1);
    let requests = creds.requests();
    assert_eq!(
        requests,
        vec![(
            "sync".to_string(),
            vec!["vault".to_string()],
            Some(Duration::from_secs(600))
        )],
        "ESO's TokenRequest: serviceAccountRef audiences, 600 s"
    );

    // another ServiceAccount is refused
    let (p, _) = provider_with(&bao, &api, "k8s-intruder", auth(sa("intruder", &["vault"])));
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other SA");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(
        err.to_string()
            .contains("kubernetes login at auth/kubernetes"),
        "{err}"
    );

    // a token for another audience is refused
    let (p, _) = provider_with(&bao, &api, "k8s-aud", auth(sa("sync", &["not-vault"])));
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other audience");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");

    // secretRef: a JWT stored in a Secret (key `token` by default)
    let jwt = mint_sync_token(&api).await;
    create_secret(&api, "sa-jwt", &[("token", jwt.as_str())]).await;
    let auth = VaultAuth {
        kubernetes: Some(VaultKubernetesAuth {
            mount_path: "kubernetes".into(),
            service_account_ref: None,
            secret_ref: Some(secret_ref("sa-jwt", None)),
            role: "sync".into(),
        }),
        ..VaultAuth::default()
    };
    let (p, _) = provider_with(&bao, &api, "k8s-secret", auth);
    p.fetch(&FetchRequest::latest("app"))
        .await
        .expect("read with secretRef");
}

#[tokio::test]
async fn jwt_auth_with_service_account_tokens_checked_against_jwks() {
    let api = kube_api().await;
    let bao = Bao::start().await;
    seed(&bao).await;
    bao.api("POST", "sys/auth/jwt", Some(json!({"type": "jwt"})))
        .await;
    bao.api(
        "POST",
        "auth/jwt/config",
        Some(json!({
            "jwks_url": format!("{}/openid/v1/jwks", api.url()),
            "jwks_ca_pem": api.ca_pem(),
            "bound_issuer": api.service_account_issuer(),
        })),
    )
    .await;
    bao.api(
        "POST",
        "auth/jwt/role/sync",
        Some(json!({
            "role_type": "jwt",
            "bound_audiences": ["vault"],
            "user_claim": "sub",
            "bound_subject": format!("system:serviceaccount:{NS}:sync"),
            "token_policies": ["reader"],
        })),
    )
    .await;
    let auth = |account: &str, audiences: Option<Vec<String>>| VaultAuth {
        jwt: Some(VaultJwtAuth {
            path: "jwt".into(),
            role: Some("sync".into()),
            secret_ref: None,
            kubernetes_service_account_token: Some(VaultKubernetesServiceAccountTokenAuth {
                service_account_ref: sa(account, &[]),
                audiences,
                expiration_seconds: None,
            }),
        }),
        ..VaultAuth::default()
    };

    let (p, creds) = provider_with(&bao, &api, "jwt", auth("sync", None));
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "kube"}));
    assert_eq!(p.login_count(), 1);
    assert_eq!(
        creds.requests(),
        vec![(
            "sync".to_string(),
            vec!["vault".to_string()],
            Some(Duration::from_secs(600))
        )],
        "ESO defaults: audience vault, 600 s"
    );

    let (p, _) = provider_with(&bao, &api, "jwt-intruder", auth("intruder", None));
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other SA");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(err.to_string().contains("jwt login at auth/jwt"), "{err}");

    let (p, _) = provider_with(
        &bao,
        &api,
        "jwt-aud",
        auth("sync", Some(vec!["elsewhere".into()])),
    );
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other audience");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");

    // secretRef: a JWT stored in a Secret
    let jwt = mint_sync_token(&api).await;
    create_secret(&api, "jwt", &[("jwt", jwt.as_str())]).await;
    let auth = VaultAuth {
        jwt: Some(VaultJwtAuth {
            path: "jwt".into(),
            role: Some("sync".into()),
            secret_ref: Some(secret_ref("jwt", Some("jwt"))),
            kubernetes_service_account_token: None,
        }),
        ..VaultAuth::default()
    };
    let (p, _) = provider_with(&bao, &api, "jwt-secret", auth);
    p.fetch(&FetchRequest::latest("app"))
        .await
        .expect("read with secretRef");
}

/// #14: kubernetes auth with neither `serviceAccountRef` nor `secretRef` presents the operator
/// pod's own token. A SecretStore (written by a tenant) must not make the operator do that; a
/// ClusterSecretStore (written by an administrator) works as before.
#[tokio::test]
async fn the_pods_own_token_serves_cluster_stores_only() {
    let api = kube_api().await;
    let bao = Bao::start().await;
    seed(&bao).await;
    configure_kubernetes_auth(&bao, &api).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, mint_sync_token(&api).await).expect("token file");
    let options = VaultOptions {
        service_account_token_path: token_file,
        ..VaultOptions::default()
    };
    let spec = spec(
        &bao,
        "kv2",
        true,
        VaultAuth {
            kubernetes: Some(VaultKubernetesAuth {
                mount_path: "kubernetes".into(),
                service_account_ref: None,
                secret_ref: None,
                role: "sync".into(),
            }),
            ..VaultAuth::default()
        },
    );
    let creds: Arc<dyn CredentialResolver> = RecordingCredentials::new(&api, "pod");

    let err = VaultProvider::new(context("pod"), spec.clone(), creds.clone(), options.clone())
        .expect_err("a SecretStore may not present the operator's token");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("SecretStore team/pod"), "{text}");
    assert!(
        text.contains("spec.provider.vault.auth.kubernetes.serviceAccountRef or .secretRef"),
        "the message names the field to set: {text}"
    );
    assert_eq!(
        bao.audit_requests("auth/kubernetes/login"),
        0,
        "nothing was sent"
    );

    let p = VaultProvider::new(cluster_context("pod"), spec, creds, options)
        .expect("a ClusterSecretStore may");
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "kube"}));
    assert_eq!(bao.audit_requests("auth/kubernetes/login"), 1);
}
