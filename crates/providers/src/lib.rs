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
pub use secretsync_provider_support::{AmbientIdentity, ReadLimits};
use secretsync_provider_vault::{VaultOptions, VaultProvider};

/// Process-level options of every provider.
///
/// `ambient_identity` and `limits` apply to every provider: [`AllProviders`] copies them into
/// each provider's options when it builds one (the per-provider copies are ignored).
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// AWS options (endpoint override for emulators such as moto).
    pub aws: AwsOptions,
    /// Azure Key Vault options.
    pub azure: AzureOptions,
    /// Vault / OpenBao options.
    pub vault: VaultOptions,
    /// Who may use the operator's own identity (its ServiceAccount token, federated token
    /// file, managed identity, ambient AWS credentials, `VAULT_TOKEN`) and Azure hosts outside
    /// the official domains: ClusterSecretStores only (default), or every store as ESO does.
    /// The operator sets it from `--allow-operator-identity-in-secret-stores`; the one-shot
    /// CLI, whose identity is the user's own, allows it.
    pub ambient_identity: AmbientIdentity,
    /// Caps on response bodies, `find` results, listing pages and Vault LIST depth.
    pub limits: ReadLimits,
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
            ambient_identity: AmbientIdentity::default(),
            limits: ReadLimits::default(),
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
        let retry = spec.retry_settings.as_ref();
        let identity = self.options.ambient_identity;
        let limits = self.options.limits;
        let vault_options = || VaultOptions {
            ambient_identity: identity,
            limits,
            ..self.options.vault.clone()
        };
        let provider: SharedProvider = match config {
            ProviderConfig::Fake(fake) => Arc::new(FakeProvider::new(context.store.clone(), fake)),
            ProviderConfig::Aws(aws) => {
                let options = AwsOptions {
                    ambient_identity: identity,
                    limits,
                    ..self.options.aws.clone()
                };
                Arc::new(
                    AwsProvider::new(context.clone(), aws.clone(), credentials, options)?
                        .with_retry_settings(retry)?,
                )
            }
            ProviderConfig::Vault(vault) => Arc::new(
                VaultProvider::new(context.clone(), vault.clone(), credentials, vault_options())?
                    .with_retry_settings(retry)?,
            ),
            ProviderConfig::OpenBao(bao) => Arc::new(
                VaultProvider::new_openbao(context.clone(), bao, credentials, vault_options())?
                    .with_retry_settings(retry)?,
            ),
            ProviderConfig::AzureKv(azure) => {
                let options = AzureOptions {
                    ambient_identity: identity,
                    limits,
                    ..self.options.azure.clone()
                };
                Arc::new(
                    AzureProvider::new(context.clone(), azure.clone(), credentials, options)?
                        .with_retry_settings(retry)?,
                )
            }
        };
        Ok(provider)
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

    /// ESO's `retrySettings` reach every provider's retry policy, mapped by the provider.
    #[tokio::test]
    async fn retry_settings_are_mapped_by_each_provider() {
        let with_retries = |provider: serde_json::Value| {
            serde_json::json!({
                "provider": provider,
                "retrySettings": {"maxRetries": 4, "retryInterval": "3s"}
            })
        };
        let vault = serde_json::json!({"vault": {"server": "http://127.0.0.1:8200", "path": "secret",
            "auth": {"tokenSecretRef": {"name": "t"}}}});
        let bao = serde_json::json!({"openBao": {"server": "http://127.0.0.1:8200",
            "auth": {"tokenSecretRef": {"name": "t"}}}});
        let aws = serde_json::json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}});
        let azure = serde_json::json!({"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "ManagedIdentity"}});
        let fixed = |max_retries| secretsync_model::RetryPolicy {
            max_retries,
            backoff: secretsync_model::Backoff::Fixed(std::time::Duration::from_secs(3)),
        };
        // (provider, policy with the settings): AWS counts attempts as ESO passes them to the SDK
        for (provider, want) in [
            (vault, fixed(4)),
            (bao, fixed(4)),
            (aws, fixed(3)),
            (azure, fixed(4)),
        ] {
            let spec: SecretStoreSpec =
                serde_json::from_value(with_retries(provider.clone())).unwrap();
            let built = AllProviders::default()
                .build(&context(), &spec, Arc::new(StaticCredentials::new()))
                .await
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
            assert_eq!(built.retry_policy(), want, "{provider}");
        }
        let fake: SecretStoreSpec =
            serde_json::from_value(with_retries(serde_json::json!({"fake": {"data": []}})))
                .unwrap();
        let built = AllProviders::default()
            .build(&context(), &fake, Arc::new(StaticCredentials::new()))
            .await
            .unwrap();
        assert_eq!(
            built.retry_policy(),
            secretsync_model::RetryPolicy::NONE,
            "nothing to retry"
        );
        let bad: SecretStoreSpec = serde_json::from_value(serde_json::json!({
            "provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}},
            "retrySettings": {"retryInterval": "soon"}
        }))
        .unwrap();
        let err = AllProviders::default()
            .build(&context(), &bad, Arc::new(StaticCredentials::new()))
            .await
            .err()
            .expect("bad interval");
        assert!(
            err.to_string().contains("spec.retrySettings.retryInterval"),
            "{err}"
        );
    }

    /// One option decides for every provider whether SecretStores may use the operator's
    /// identity.
    #[tokio::test]
    async fn the_identity_option_applies_to_every_provider() {
        let secret_store = StoreContext {
            store: StoreId {
                kind: StoreKind::SecretStore,
                namespace: Some("team".into()),
                name: "s".into(),
            },
            reader_namespace: Some("team".into()),
        };
        let ambient = [
            serde_json::json!({"vault": {"server": "http://127.0.0.1:8200", "path": "secret",
                "auth": {"kubernetes": {"role": "r"}}}}),
            serde_json::json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}}),
            serde_json::json!({"azurekv": {"vaultUrl": "https://v.vault.azure.net", "authType": "ManagedIdentity"}}),
        ];
        for provider in ambient {
            let spec: SecretStoreSpec =
                serde_json::from_value(serde_json::json!({ "provider": provider })).unwrap();
            let refused = AllProviders::default()
                .build(&secret_store, &spec, Arc::new(StaticCredentials::new()))
                .await
                .err()
                .unwrap_or_else(|| panic!("{provider}: refused by default"));
            assert!(
                matches!(refused, ProviderError::InvalidStoreConfig(_)),
                "{refused}"
            );
            let allowed = AllProviders::new(ProviderOptions {
                ambient_identity: AmbientIdentity::AnyStore,
                ..ProviderOptions::default()
            });
            if let Err(e) = allowed
                .build(&secret_store, &spec, Arc::new(StaticCredentials::new()))
                .await
            {
                panic!("{provider}: allowed by the option: {e}");
            }
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
