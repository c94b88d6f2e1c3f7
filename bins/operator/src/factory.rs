//! Builds providers from store specs with the provider crates this binary links.

use std::sync::Arc;

use async_trait::async_trait;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::secret_store::{ProviderConfig, SecretStoreSpec};
use secretsync_model::{ProviderError, ProviderFactory, SharedProvider, StoreContext};
use secretsync_provider_fake::FakeProvider;

/// The operator's provider factory (providers linked into this build).
#[derive(Default)]
pub struct OperatorProviders;

#[async_trait]
impl ProviderFactory for OperatorProviders {
    async fn build(
        &self,
        context: &StoreContext,
        spec: &SecretStoreSpec,
        _credentials: Arc<dyn CredentialResolver>,
    ) -> Result<SharedProvider, ProviderError> {
        let config = spec
            .provider
            .config()
            .map_err(|e| ProviderError::InvalidStoreConfig(format!("{}: {e}", context.store)))?;
        match config {
            ProviderConfig::Fake(fake) => {
                Ok(Arc::new(FakeProvider::new(context.store.clone(), fake)))
            }
            other => Err(ProviderError::Unsupported(format!(
                "{}: provider {:?} is not linked into this build of secretsync",
                context.store,
                other.name()
            ))),
        }
    }
}
