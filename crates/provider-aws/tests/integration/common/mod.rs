//! Shared test helpers: a moto per test, admin SDK clients to seed it, a credential resolver
//! backed by static keys and (optionally) the Kubernetes API double, and call counting from
//! moto's own recorder.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::SecretValue;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::{StoreContext, StoreId};
use secretsync_model::providers::{AwsAuth, AwsAuthSecretRef, AwsService, AwsSpec};
use secretsync_provider_aws::{AwsOptions, AwsProvider};
use secretsync_testkit::kube_api::KubeApiServer;
use secretsync_testkit::peers::{AwsCall, Moto};

pub const REGION: &str = "us-east-1";

/// Starts a moto for this test; fails with the installer hint when moto is missing.
pub async fn moto() -> Moto {
    match Moto::start().await {
        Ok(m) => m,
        Err(e) => panic!(
            "moto is needed for the AWS provider tests: run scripts/peers install \
             (or set SECRETSYNC_PYTHON to a python with moto[server]): {e}"
        ),
    }
}

pub fn sm_admin(moto: &Moto) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto.admin_sdk_config(REGION))
}

pub fn ssm_admin(moto: &Moto) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&moto.admin_sdk_config(REGION))
}

/// Creates a string secret; returns its version id.
pub async fn create_secret(sm: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    sm.create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create_secret")
        .version_id
        .expect("version id")
}

/// Context of a namespaced store `ns/aws`.
pub fn context() -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::SecretStore,
            namespace: Some("ns".into()),
            name: "aws".into(),
        },
        reader_namespace: Some("ns".into()),
    }
}

/// Options pointing every call at moto (the provider makes one attempt; retries are the
/// engine's).
pub fn options(moto: &Moto) -> AwsOptions {
    AwsOptions::with_endpoint(moto.endpoint())
}

/// Context of a ClusterSecretStore `aws` read from namespace `ns`.
pub fn cluster_context() -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::ClusterSecretStore,
            namespace: None,
            name: "aws".into(),
        },
        reader_namespace: Some("ns".into()),
    }
}

fn key(name: &str, key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        namespace: None,
        key: Some(key.into()),
    }
}

/// `auth.secretRef` reading Secret `aws-keys` (keys `id`, `secret`).
pub fn secret_ref_auth() -> AwsAuth {
    AwsAuth {
        secret_ref: Some(AwsAuthSecretRef {
            access_key_id: key("aws-keys", "id"),
            secret_access_key: key("aws-keys", "secret"),
            session_token: None,
        }),
        jwt: None,
    }
}

/// Static credentials holding Secret `aws-keys`.
pub fn static_keys(id: &str, secret: &str) -> StaticCredentials {
    let mut creds = StaticCredentials::new();
    creds.add_secret(
        Some("ns".into()),
        "aws-keys",
        BTreeMap::from([
            ("id".to_string(), SecretValue::from(id)),
            ("secret".to_string(), SecretValue::from(secret)),
        ]),
    );
    creds
}

/// A Secrets Manager spec with static keys.
pub fn sm_spec() -> AwsSpec {
    AwsSpec {
        service: AwsService::SecretsManager,
        region: REGION.into(),
        auth: secret_ref_auth(),
        ..AwsSpec::default()
    }
}

/// A provider with static keys against moto.
pub fn provider(moto: &Moto, spec: AwsSpec) -> AwsProvider {
    AwsProvider::new(
        context(),
        spec,
        Arc::new(static_keys("AKIAEXAMPLE000000001", "static-secret-key")),
        options(moto),
    )
    .expect("provider")
}

/// The calls moto recorded, as `(service, action)`.
pub async fn calls(moto: &Moto) -> Vec<AwsCall> {
    moto.recorded_calls().await.expect("recorded calls")
}

/// How many recorded calls have this action.
pub fn count(calls: &[AwsCall], action: &str) -> usize {
    calls.iter().filter(|c| c.action == action).count()
}

/// Raw recorded request bodies of one action (for checking parameters such as ExternalId).
pub async fn recorded_bodies(moto: &Moto, action: &str) -> Vec<String> {
    let text = reqwest::get(format!(
        "{}/moto-api/recorder/download-recording",
        moto.endpoint()
    ))
    .await
    .expect("download recording")
    .text()
    .await
    .expect("recording text");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|entry| {
            let body = entry["body"].as_str()?.to_string();
            let body = if entry["body_encoded"].as_bool() == Some(true) {
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .ok()?,
                )
                .ok()?
            } else {
                body
            };
            body.contains(&format!("Action={action}")).then_some(body)
        })
        .collect()
}

/// Turns moto's IAM enforcement on: from now on requests need keys moto issued and policies
/// allowing the action.
pub async fn enable_moto_auth(moto: &Moto) {
    let response = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.endpoint()))
        .body("0")
        .send()
        .await
        .expect("reset-auth");
    assert!(
        response.status().is_success(),
        "reset-auth: {}",
        response.status()
    );
}

/// Starts the Kubernetes API double with namespace `ns` and ServiceAccount `ns/eso-aws`
/// annotated with `role_arn`; credentials are resolved by the operator's own resolver.
pub async fn kube_with_service_account(role_arn: &str) -> (KubeApiServer, Arc<KubeCredentials>) {
    let server = KubeApiServer::start(secretsync_testkit::kube_api::KubeApiOptions {
        namespaces: vec!["ns".into()],
        ..Default::default()
    })
    .await
    .expect("kube api double");
    let client = server.client().expect("kube client");
    let api: kube::Api<ServiceAccount> = kube::Api::namespaced(client.clone(), "ns");
    let sa: ServiceAccount = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "eso-aws",
            "namespace": "ns",
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
    }))
    .expect("sa");
    api.create(&Default::default(), &sa)
        .await
        .expect("create sa");
    (
        server,
        Arc::new(KubeCredentials::new(
            client,
            context(),
            Arc::new(CredentialIndex::default()),
        )),
    )
}

/// `auth.jwt.serviceAccountRef` for `eso-aws`.
pub fn jwt_auth() -> AwsAuth {
    AwsAuth {
        secret_ref: None,
        jwt: Some(secretsync_model::providers::AwsJwtAuth {
            service_account_ref: Some(ServiceAccountSelector {
                name: "eso-aws".into(),
                namespace: None,
                audiences: vec![],
            }),
        }),
    }
}

/// TokenRequests the Kubernetes API double has answered.
pub fn token_requests(kube: &KubeApiServer) -> usize {
    kube.request_log()
        .iter()
        .filter(|r| r.verb == "create" && r.subresource == "token")
        .count()
}
