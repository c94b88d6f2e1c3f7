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
use secretsync_provider_azure::{AzureOptions, AzureProvider};
use secretsync_provider_fake::FakeProvider;

/// Process-level options of every provider.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// Azure Key Vault options.
    pub azure: AzureOptions,
}

/// A problem with the process environment that configures the providers.
#[derive(Debug, thiserror::Error)]
#[error("provider configuration from the environment: {0}")]
pub struct OptionsError(String);

impl ProviderOptions {
    /// Reads the standard environment variables of each provider through `lookup`
    /// (e.g. `AZURE_FEDERATED_TOKEN_FILE`, `IDENTITY_ENDPOINT`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OptionsError> {
        Ok(ProviderOptions {
            azure: AzureOptions::from_lookup(&lookup).map_err(OptionsError)?,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, OptionsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
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
            ProviderConfig::AzureKv(azure) => Ok(Arc::new(AzureProvider::new(
                context.clone(),
                azure.clone(),
                credentials,
                self.options.azure.clone(),
            )?)),
            other => Err(ProviderError::Unsupported(format!(
                "{}: provider {:?} is not available in this build",
                context.store,
                other.name()
            ))),
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
