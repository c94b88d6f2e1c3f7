//! Every provider secretsync ships, behind one [`ProviderFactory`].
//!
//! The binaries (CLI, operator, bootstrapper) build an [`AllProviders`] from their environment
//! once and hand it to the engine. Embedders that want a single backend can depend on that
//! provider crate alone and write their own factory.

use std::sync::Arc;

use async_trait::async_trait;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::secret_store::{ProviderConfig, SecretStoreSpec};
use secretsync_model::{ProviderError, ProviderFactory, SharedProvider, StoreContext};
use secretsync_provider_aws::{AwsOptions, AwsProvider};
use secretsync_provider_azure::{AzureOptions, AzureProvider};
use secretsync_provider_fake::FakeProvider;
use secretsync_provider_vault::{VaultOptions, VaultProvider};

/// Process-level options of every provider.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// AWS options (endpoint override for emulators such as moto).
    pub aws: AwsOptions,
    /// Azure Key Vault options.
    pub azure: AzureOptions,
    /// Vault / OpenBao options.
    pub vault: VaultOptions,
}

/// A problem with the process environment that configures the providers.
#[derive(Debug, thiserror::Error)]
#[error("provider configuration from the environment: {0}")]
pub struct OptionsError(String);

impl ProviderOptions {
    /// Reads the standard environment variables of each provider through `lookup`
    /// (e.g. `AZURE_FEDERATED_TOKEN_FILE`, `IDENTITY_ENDPOINT`), and
    /// `SECRETSYNC_AWS_ENDPOINT_URL` (an endpoint for every AWS call, STS included).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OptionsError> {
        Ok(ProviderOptions {
            aws: match lookup("SECRETSYNC_AWS_ENDPOINT_URL").filter(|v| !v.is_empty()) {
                Some(url) => AwsOptions::with_endpoint(url),
                None => AwsOptions::default(),
            },
            azure: AzureOptions::from_lookup(&lookup).map_err(OptionsError)?,
            vault: VaultOptions::default(),
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, OptionsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Lets Vault stores without an `auth` block use `VAULT_TOKEN` (for the CLI in CI; the
    /// operator never does this).
    pub fn with_vault_environment_token(mut self) -> Self {
        self.vault = self.vault.with_environment_token();
        self
    }
}

/// A factory dispatching on the store's provider block.
#[derive(Clone, Debug, Default)]
pub struct AllProviders {
    options: ProviderOptions,
}

impl AllProviders {
    /// A factory with the given options.
    pub fn new(options: ProviderOptions) -> Self {
        AllProviders { options }
    }
}

#[async_trait]
impl ProviderFactory for AllProviders {
    async fn build(
        &self,
        context: &StoreContext,
        spec: &SecretStoreSpec,
        credentials: Arc<dyn CredentialResolver>,
    ) -> Result<SharedProvider, ProviderError> {
        let config = spec
            .provider
            .config()
            .map_err(|e| ProviderError::InvalidStoreConfig(format!("{}: {e}", context.store)))?;
        match config {
            ProviderConfig::Fake(fake) => {
                Ok(Arc::new(FakeProvider::new(context.store.clone(), fake)))
            }
            ProviderConfig::Aws(aws) => {
                let mut options = self.options.aws.clone();
                // ESO's retrySettings.maxRetries counts retries; the SDK counts attempts.
                if let Some(retries) = spec.retry_settings.as_ref().and_then(|r| r.max_retries) {
                    options.max_attempts = u32::try_from(retries).unwrap_or(0).saturating_add(1);
                }
                Ok(Arc::new(AwsProvider::new(
                    context.clone(),
                    aws.clone(),
                    credentials,
                    options,
                )?))
            }
            ProviderConfig::Vault(vault) => Ok(Arc::new(VaultProvider::new(
                context.clone(),
                vault.clone(),
                credentials,
                self.options.vault.clone(),
            )?)),
            ProviderConfig::OpenBao(bao) => Ok(Arc::new(VaultProvider::new(
                context.clone(),
                bao.to_vault_spec(),
                credentials,
                self.options.vault.clone(),
            )?)),
            ProviderConfig::AzureKv(azure) => Ok(Arc::new(AzureProvider::new(
                context.clone(),
                azure.clone(),
                credentials,
                self.options.azure.clone(),
            )?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::StoreId;
    use secretsync_model::credentials::StaticCredentials;
    use secretsync_model::external_secret::StoreKind;

    fn context() -> StoreContext {
        StoreContext {
            store: StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: "s".into(),
            },
            reader_namespace: Some("team".into()),
        }
    }

    async fn build(provider: serde_json::Value) -> Result<SharedProvider, ProviderError> {
        let spec: SecretStoreSpec =
            serde_json::from_value(serde_json::json!({ "provider": provider })).unwrap();
        AllProviders::default()
            .build(&context(), &spec, Arc::new(StaticCredentials::new()))
            .await
    }

    #[tokio::test]
    async fn builds_known_providers() {
        assert!(
            build(serde_json::json!({"fake": {"data": []}}))
                .await
                .is_ok()
        );
        let azure = serde_json::json!({"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "ManagedIdentity"}});
        assert!(build(azure).await.is_ok());
        let vault = serde_json::json!({"vault": {
            "server": "http://127.0.0.1:8200",
            "path": "secret",
            "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}
        }});
        if let Err(e) = build(vault).await {
            panic!("vault store must build: {e}");
        }
        let aws = serde_json::json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}});
        if let Err(e) = build(aws).await {
            panic!("aws store must build: {e}");
        }
    }

    #[tokio::test]
    async fn reports_unsupported_providers_by_name() {
        let err = build(serde_json::json!({"gcpsm": {"projectID": "p"}}))
            .await
            .err()
            .expect("must fail");
        assert!(
            err.to_string().contains("\"gcpsm\" is not supported"),
            "{err}"
        );
    }
}
