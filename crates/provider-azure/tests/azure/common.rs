//! Shared setup: doubles, store specs pointed at them, credential resolvers (static Secrets, or
//! the operator's `KubeCredentials` over the Kubernetes API double).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::credentials::{CredentialResolver, StaticCredentials};
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::SecretKeySelector;
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::{AzureAuthType, AzureCustomCloudConfig, AzureKvSpec};
use secretsync_model::{SecretValue, StoreId};
use secretsync_provider_azure::{AzureOptions, AzureProvider, ManagedIdentityEndpoint};
use secretsync_testkit::azure::{AzureDouble, AzureDoubleOptions};

/// Starts the Azure double with the given token lifetime.
pub fn double_with_lifetime(lifetime: Duration) -> AzureDouble {
    AzureDouble::start(AzureDoubleOptions {
        token_lifetime: lifetime,
        ..AzureDoubleOptions::default()
    })
    .expect("start the Azure double")
}

/// Starts the Azure double with one-hour tokens.
pub fn double() -> AzureDouble {
    double_with_lifetime(Duration::from_secs(3600))
}

/// A spec pointed at the double: vault URL and authority only.
pub fn spec(double: &AzureDouble, auth_type: AzureAuthType) -> AzureKvSpec {
    AzureKvSpec {
        auth_type,
        vault_url: double.vault_url(),
        custom_cloud_config: Some(AzureCustomCloudConfig {
            active_directory_endpoint: double.authority_host(),
            ..AzureCustomCloudConfig::default()
        }),
        ..AzureKvSpec::default()
    }
}

/// Options trusting the double's CA, IMDS pointed at it, short throttle waits allowed.
pub fn options(double: &AzureDouble) -> AzureOptions {
    AzureOptions {
        extra_root_certificates_pem: vec![double.ca_pem().to_string()],
        managed_identity: ManagedIdentityEndpoint::Imds {
            base_url: double.managed_identity_endpoint(),
        },
        ..AzureOptions::default()
    }
}

/// A ClusterSecretStore context read from `namespace`.
pub fn context(namespace: &str) -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::ClusterSecretStore,
            namespace: None,
            name: "azure-keyvault".into(),
        },
        reader_namespace: Some(namespace.into()),
    }
}

/// A selector of `key` in Secret `name` (namespace `ns`).
pub fn selector(ns: &str, name: &str, key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        namespace: Some(ns.into()),
        key: Some(key.into()),
    }
}

/// No credential Secrets at all (stores whose auth needs none).
pub fn no_credentials() -> Arc<dyn CredentialResolver> {
    Arc::new(StaticCredentials::new())
}

/// One credential Secret `ns/name` with string data, without a cluster.
pub fn static_secret(ns: &str, name: &str, data: &[(&str, &str)]) -> Arc<dyn CredentialResolver> {
    let data: BTreeMap<String, SecretValue> = data
        .iter()
        .map(|(k, v)| ((*k).to_string(), SecretValue::from(*v)))
        .collect();
    let mut secrets = StaticCredentials::new();
    secrets.add_secret(Some(ns.into()), name, data);
    Arc::new(secrets)
}

/// The operator's resolver over the Kubernetes API double: Secrets, ServiceAccount annotations
/// and TokenRequest tokens, with ESO's namespace rules for `context`.
pub fn kube_credentials(
    client: &kube::Client,
    context: StoreContext,
) -> Arc<dyn CredentialResolver> {
    Arc::new(KubeCredentials::new(
        client.clone(),
        context,
        Arc::new(CredentialIndex::default()),
    ))
}

/// Creates Secret `ns/name` with string data in the cluster.
pub async fn create_secret(client: &kube::Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..ObjectMeta::default()
        },
        string_data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        ),
        ..Secret::default()
    };
    kube::Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("create Secret {ns}/{name}: {e}"));
}

/// Builds a provider.
pub fn provider(
    spec: AzureKvSpec,
    credentials: Arc<dyn CredentialResolver>,
    options: AzureOptions,
) -> AzureProvider {
    AzureProvider::new(context("apps"), spec, credentials, options).expect("build the provider")
}
