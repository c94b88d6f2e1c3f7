//! Kubernetes and JWT auth against OpenBao, with ServiceAccount tokens from the testkit's
//! Kubernetes API double (TokenRequest, TokenReview, JWKS).

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secretsync_model::credentials::{CredentialResolver, StaticCredentials};
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

/// Resolver that issues ServiceAccount tokens through the API double's TokenRequest.
struct KubeCredentials {
    secrets: StaticCredentials,
    url: String,
    admin_token: String,
    http: reqwest::Client,
    requests: Mutex<Vec<TokenRequestRecord>>,
}

impl KubeCredentials {
    fn new(api: &KubeApiServer, secrets: StaticCredentials) -> Self {
        let ca = reqwest::Certificate::from_pem(api.ca_pem().as_bytes()).expect("CA");
        KubeCredentials {
            secrets,
            url: api.url().to_string(),
            admin_token: api.admin_token().to_string(),
            http: reqwest::Client::builder()
                .tls_certs_only([ca])
                .build()
                .expect("client"),
            requests: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl CredentialResolver for KubeCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        self.secrets.secret_value(selector, default_key).await
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        self.secrets.config_map_value(name, namespace, key).await
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
        let ns = account.namespace.as_deref().unwrap_or(NS);
        let mut spec = json!({"audiences": audiences});
        if let Some(e) = expiration {
            spec["expirationSeconds"] = json!(e.as_secs());
        }
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/namespaces/{ns}/serviceaccounts/{}/token",
                self.url, account.name
            ))
            .bearer_auth(&self.admin_token)
            .json(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}))
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| ProviderError::BadResponse(e.to_string()))?;
        if !status.is_success() {
            return Err(ProviderError::PermissionDenied(format!(
                "TokenRequest for {}: {status}",
                account.name
            )));
        }
        let token = body["status"]["token"].as_str().unwrap_or_default();
        Ok(SecretValue::from(token))
    }

    async fn service_account_annotations(
        &self,
        _account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        Ok(BTreeMap::new())
    }
}

async fn kube_api() -> KubeApiServer {
    let api = KubeApiServer::start(KubeApiOptions {
        namespaces: vec![NS.into()],
        ..KubeApiOptions::default()
    })
    .await
    .expect("start the Kubernetes API double");
    let ca = reqwest::Certificate::from_pem(api.ca_pem().as_bytes()).expect("CA");
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client");
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

fn provider_with(
    bao: &Bao,
    name: &str,
    auth: VaultAuth,
    creds: Arc<KubeCredentials>,
) -> VaultProvider {
    VaultProvider::new(
        context(name),
        spec(bao, "kv2", true, auth),
        creds,
        VaultOptions::default(),
    )
    .expect("provider")
}

#[tokio::test]
async fn kubernetes_auth_uses_token_request_and_token_review() {
    let api = kube_api().await;
    let bao = Bao::start().await;
    seed(&bao).await;
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
    let auth = |account: ServiceAccountSelector| VaultAuth {
        kubernetes: Some(VaultKubernetesAuth {
            mount_path: "kubernetes".into(),
            service_account_ref: Some(account),
            secret_ref: None,
            role: "sync".into(),
        }),
        ..VaultAuth::default()
    };

    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(&bao, "k8s", auth(sa("sync", &["vault"])), creds.clone());
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "kube"}));
    assert_eq!(p.login_count(), 1);
    let requests = creds.requests.lock().expect("lock").clone();
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
    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(
        &bao,
        "k8s-intruder",
        auth(sa("intruder", &["vault"])),
        creds,
    );
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
    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(&bao, "k8s-aud", auth(sa("sync", &["not-vault"])), creds);
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other audience");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");

    // secretRef: a JWT stored in a Secret (key `token` by default)
    let minted = KubeCredentials::new(&api, StaticCredentials::new())
        .service_account_token(&sa("sync", &[]), &["vault".into()], None)
        .await
        .expect("token");
    let jwt = minted.expose_str().expect("utf8").to_string();
    let creds = Arc::new(KubeCredentials::new(
        &api,
        credentials(&[("sa-jwt", &[("token", jwt.as_str())])]),
    ));
    let auth = VaultAuth {
        kubernetes: Some(VaultKubernetesAuth {
            mount_path: "kubernetes".into(),
            service_account_ref: None,
            secret_ref: Some(secret_ref("sa-jwt", None)),
            role: "sync".into(),
        }),
        ..VaultAuth::default()
    };
    let p = provider_with(&bao, "k8s-secret", auth, creds);
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

    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(&bao, "jwt", auth("sync", None), creds.clone());
    let got = p.fetch(&FetchRequest::latest("app")).await.expect("read");
    assert_eq!(json(&got.value), json!({"from": "kube"}));
    assert_eq!(p.login_count(), 1);
    assert_eq!(
        creds.requests.lock().expect("lock").clone(),
        vec![(
            "sync".to_string(),
            vec!["vault".to_string()],
            Some(Duration::from_secs(600))
        )],
        "ESO defaults: audience vault, 600 s"
    );

    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(&bao, "jwt-intruder", auth("intruder", None), creds);
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other SA");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(err.to_string().contains("jwt login at auth/jwt"), "{err}");

    let creds = Arc::new(KubeCredentials::new(&api, StaticCredentials::new()));
    let p = provider_with(
        &bao,
        "jwt-aud",
        auth("sync", Some(vec!["elsewhere".into()])),
        creds,
    );
    let err = p
        .fetch(&FetchRequest::latest("app"))
        .await
        .expect_err("other audience");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");

    // secretRef: a JWT stored in a Secret
    let minted = KubeCredentials::new(&api, StaticCredentials::new())
        .service_account_token(&sa("sync", &[]), &["vault".into()], None)
        .await
        .expect("token");
    let jwt = minted.expose_str().expect("utf8").to_string();
    let creds = Arc::new(KubeCredentials::new(
        &api,
        credentials(&[("jwt", &[("jwt", jwt.as_str())])]),
    ));
    let auth = VaultAuth {
        jwt: Some(VaultJwtAuth {
            path: "jwt".into(),
            role: Some("sync".into()),
            secret_ref: Some(secret_ref("jwt", Some("jwt"))),
            kubernetes_service_account_token: None,
        }),
        ..VaultAuth::default()
    };
    let p = provider_with(&bao, "jwt-secret", auth, creds);
    p.fetch(&FetchRequest::latest("app"))
        .await
        .expect("read with secretRef");
}
