//! Every provider secretsync ships, behind one [`ProviderFactory`].
//!
//! The binaries (CLI, operator, bootstrapper) build an [`AllProviders`] from their environment
//! once and hand it to the engine.
//!
//! Each backend is a cargo feature (`vault`, `aws`, `azure`, `fake`; all on by default). An
//! embedder that turns some off links none of their crates; a store using a backend that is not
//! compiled in fails with [`ProviderError::Unsupported`] naming the feature.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use secretsync_model::credentials::StaticCredentials;
//! use secretsync_model::provider::{ProviderFactory, StoreContext, StoreId};
//! use secretsync_model::secret_store::SecretStoreSpec;
//! use secretsync_model::external_secret::StoreKind;
//! use secretsync_model::FetchRequest;
//! use secretsync_providers::{AllProviders, ProviderOptions};
//!
//! let factory = AllProviders::new(ProviderOptions::from_lookup(|_| None).unwrap());
//! let spec: SecretStoreSpec = serde_json::from_value(serde_json::json!({
//!     "provider": {"fake": {"data": [{"key": "db", "value": "s3cr3t"}]}}
//! })).unwrap();
//! let context = StoreContext {
//!     store: StoreId { kind: StoreKind::ClusterSecretStore, namespace: None, name: "fake".into() },
//!     reader_namespace: Some("apps".into()),
//! };
//! let provider = factory.build(&context, &spec, Arc::new(StaticCredentials::new())).await.unwrap();
//! let secret = provider.fetch(&FetchRequest::latest("db")).await.unwrap();
//! assert_eq!(secret.value.expose_str(), Some("s3cr3t"));
//! # });
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::generator::Generator;
#[cfg(any(
    feature = "vault",
    feature = "aws",
    feature = "azure",
    feature = "fake"
))]
use secretsync_model::secret_store::ProviderConfig;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{ProviderError, ProviderFactory, SharedProvider, StoreContext};
#[cfg(feature = "aws")]
use secretsync_provider_aws::{
    AwsOptions, AwsProvider, EcrAuthorizationTokenGenerator, StsSessionTokenGenerator,
};
#[cfg(feature = "azure")]
use secretsync_provider_azure::{AzureOptions, AzureProvider};
#[cfg(feature = "fake")]
use secretsync_provider_fake::FakeProvider;
pub use secretsync_provider_support::{AmbientIdentity, ReadLimits};
#[cfg(feature = "vault")]
use secretsync_provider_vault::{VaultDynamicSecretGenerator, VaultOptions, VaultProvider};

/// Process-level options of every provider.
///
/// `ambient_identity` and `limits` apply to every provider: [`AllProviders`] copies them into
/// each provider's options when it builds one (the per-provider copies are ignored).
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// AWS options (endpoint override for emulators such as moto).
    #[cfg(feature = "aws")]
    pub aws: AwsOptions,
    /// Azure Key Vault options.
    #[cfg(feature = "azure")]
    pub azure: AzureOptions,
    /// Vault / OpenBao options.
    #[cfg(feature = "vault")]
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
    #[cfg_attr(
        not(all(feature = "aws", feature = "azure")),
        allow(unused_variables, clippy::unnecessary_wraps)
    )]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OptionsError> {
        Ok(ProviderOptions {
            #[cfg(feature = "aws")]
            aws: match lookup("SECRETSYNC_AWS_ENDPOINT_URL").filter(|v| !v.is_empty()) {
                Some(url) => AwsOptions::with_endpoint(url),
                None => AwsOptions::default(),
            },
            #[cfg(feature = "azure")]
            azure: AzureOptions::from_lookup(&lookup).map_err(OptionsError)?,
            #[cfg(feature = "vault")]
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
    #[cfg(feature = "vault")]
    pub fn with_vault_environment_token(mut self) -> Self {
        self.vault = self.vault.with_environment_token();
        self
    }
}

/// A factory dispatching on the store's provider block.
#[derive(Clone, Debug, Default)]
pub struct AllProviders {
    #[cfg_attr(
        not(any(feature = "vault", feature = "aws", feature = "azure")),
        allow(dead_code)
    )]
    options: ProviderOptions,
}

impl AllProviders {
    /// A factory with the given options.
    pub fn new(options: ProviderOptions) -> Self {
        AllProviders { options }
    }

    /// The generators of this build that talk to a backend (`VaultDynamicSecret` with the
    /// `vault` feature, `STSSessionToken` and `ECRAuthorizationToken` with `aws`), configured
    /// as the stores are; hand them to `Engine::with_generators`.
    pub fn generators(&self) -> Vec<Arc<dyn Generator>> {
        vec![
            #[cfg(feature = "vault")]
            Arc::new(VaultDynamicSecretGenerator::new(self.vault_options())),
            #[cfg(feature = "aws")]
            Arc::new(StsSessionTokenGenerator::new(self.aws_options())),
            #[cfg(feature = "aws")]
            Arc::new(EcrAuthorizationTokenGenerator::new(self.aws_options())),
        ]
    }

    /// The AWS client options of stores and generators alike.
    #[cfg(feature = "aws")]
    fn aws_options(&self) -> AwsOptions {
        AwsOptions {
            ambient_identity: self.options.ambient_identity,
            limits: self.options.limits,
            ..self.options.aws.clone()
        }
    }

    /// The Vault client options of stores and generators alike.
    #[cfg(feature = "vault")]
    fn vault_options(&self) -> VaultOptions {
        VaultOptions {
            ambient_identity: self.options.ambient_identity,
            limits: self.options.limits,
            ..self.options.vault.clone()
        }
    }
}

#[async_trait]
impl ProviderFactory for AllProviders {
    #[cfg_attr(
        not(any(feature = "vault", feature = "aws", feature = "azure")),
        allow(unused_variables)
    )]
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
        #[cfg(any(feature = "vault", feature = "aws", feature = "azure"))]
        let retry = spec.retry_settings.as_ref();
        #[cfg(any(feature = "aws", feature = "azure"))]
        let identity = self.options.ambient_identity;
        #[cfg(any(feature = "aws", feature = "azure"))]
        let limits = self.options.limits;
        let provider: SharedProvider = match config {
            #[cfg(feature = "fake")]
            ProviderConfig::Fake(fake) => Arc::new(FakeProvider::new(context.store.clone(), fake)),
            #[cfg(feature = "aws")]
            ProviderConfig::Aws(aws) => Arc::new(
                AwsProvider::new(
                    context.clone(),
                    aws.clone(),
                    credentials,
                    self.aws_options(),
                )?
                .with_retry_settings(retry)?,
            ),
            #[cfg(feature = "vault")]
            ProviderConfig::Vault(vault) => Arc::new(
                VaultProvider::new(
                    context.clone(),
                    vault.clone(),
                    credentials,
                    self.vault_options(),
                )?
                .with_retry_settings(retry)?,
            ),
            #[cfg(feature = "vault")]
            ProviderConfig::OpenBao(bao) => Arc::new(
                VaultProvider::new_openbao(
                    context.clone(),
                    bao,
                    credentials,
                    self.vault_options(),
                )?
                .with_retry_settings(retry)?,
            ),
            #[cfg(feature = "azure")]
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
            #[allow(unreachable_patterns)]
            other => return Err(not_compiled_in(context, other.name())),
        };
        Ok(provider)
    }
}

/// The error for a store whose backend was left out of this build.
#[allow(dead_code)]
fn not_compiled_in(context: &StoreContext, provider: &str) -> ProviderError {
    let feature = match provider {
        "azurekv" => "azure",
        "openBao" => "vault",
        other => other,
    };
    ProviderError::Unsupported(format!(
        "{}: provider {provider:?} is not compiled into this program (cargo feature {feature:?} of secretsync-providers)",
        context.store
    ))
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

    #[cfg(all(
        feature = "vault",
        feature = "aws",
        feature = "azure",
        feature = "fake"
    ))]
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

    /// Built by `scripts/test` with `--no-default-features --features vault`.
    #[cfg(not(feature = "aws"))]
    #[tokio::test]
    async fn a_backend_left_out_is_reported_with_its_feature() {
        let err =
            build(serde_json::json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}}))
                .await
                .err()
                .expect("must fail");
        assert!(
            err.to_string().contains(
                "provider \"aws\" is not compiled into this program (cargo feature \"aws\""
            ),
            "{err}"
        );
    }

    /// An OpenBao store needs the vault feature.
    #[cfg(not(feature = "vault"))]
    #[tokio::test]
    async fn openbao_needs_the_vault_feature() {
        let bao = serde_json::json!({"openBao": {"server": "http://127.0.0.1:8200",
            "auth": {"tokenSecretRef": {"name": "t"}}}});
        let err = build(bao).await.err().expect("must fail");
        assert!(err.to_string().contains("cargo feature \"vault\""), "{err}");
    }

    #[cfg(all(
        feature = "vault",
        feature = "aws",
        feature = "azure",
        feature = "fake"
    ))]
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

    #[cfg(all(feature = "vault", feature = "aws", feature = "azure"))]
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
