//! Shared setup: doubles, store specs pointed at them, a credential resolver.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::PostParams;
use secretsync_model::credentials::{CredentialResolver, StaticCredentials};
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::{AzureAuthType, AzureCustomCloudConfig, AzureKvSpec};
use secretsync_model::{ProviderError, SecretValue, StoreId};
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

/// Credentials: static Secrets, plus ServiceAccounts from the Kubernetes API double.
#[derive(Default)]
pub struct TestCredentials {
    /// Secrets.
    pub secrets: StaticCredentials,
    /// Client of the Kubernetes API double, for ServiceAccounts.
    pub kube: Option<kube::Client>,
}

impl TestCredentials {
    /// Adds one Secret with string data.
    pub fn with_secret(mut self, ns: &str, name: &str, data: &[(&str, &str)]) -> Self {
        let data: BTreeMap<String, SecretValue> = data
            .iter()
            .map(|(k, v)| ((*k).to_string(), SecretValue::from(*v)))
            .collect();
        self.secrets.add_secret(Some(ns.into()), name, data);
        self
    }

    /// As a shared resolver.
    pub fn shared(self) -> Arc<dyn CredentialResolver> {
        Arc::new(self)
    }

    fn kube(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<kube::Api<ServiceAccount>, ProviderError> {
        let client = self.kube.clone().ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "ServiceAccount {:?}: no cluster in this test",
                account.name
            ))
        })?;
        let ns = account
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        Ok(kube::Api::namespaced(client, &ns))
    }
}

#[async_trait]
impl CredentialResolver for TestCredentials {
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
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audiences.to_vec(),
                expiration_seconds: expiration.map(|d| d.as_secs() as i64),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let response = self
            .kube(account)?
            .create_token_request(&account.name, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                ProviderError::PermissionDenied(format!("TokenRequest for {:?}: {e}", account.name))
            })?;
        let token = response.status.map(|s| s.token).unwrap_or_default();
        Ok(SecretValue::from(token))
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let sa = self.kube(account)?.get(&account.name).await.map_err(|e| {
            ProviderError::NotFound(format!("ServiceAccount {:?}: {e}", account.name))
        })?;
        Ok(sa.metadata.annotations.unwrap_or_default())
    }
}

/// Builds a provider.
pub fn provider(
    spec: AzureKvSpec,
    credentials: Arc<dyn CredentialResolver>,
    options: AzureOptions,
) -> AzureProvider {
    AzureProvider::new(context("apps"), spec, credentials, options).expect("build the provider")
}
