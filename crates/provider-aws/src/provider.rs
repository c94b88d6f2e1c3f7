//! [`AwsProvider`]: one store's Secrets Manager or Parameter Store backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use futures::future::join_all;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::provider::{ProviderCapabilities, StoreContext, Validation};
use secretsync_model::providers::{AwsService, AwsSpec};
use secretsync_model::secret_store::{RetrySettings, StoreCapabilities};
use secretsync_model::{
    Backoff, FetchRequest, FindRequest, ProviderError, RemoteSecret, RetryPolicy, SecretProvider,
};
use secretsync_provider_support::retry::{RetryDefaults, retry_policy};
use std::time::Duration;

use crate::auth::{Auth, needs_reader_namespace};
use crate::options::AwsOptions;
use crate::parameter_store::{ParameterStore, ParameterStoreApi};
use crate::secrets_manager::{SecretsManager, SecretsManagerApi};

enum Backend {
    SecretsManager(SecretsManager),
    ParameterStore(ParameterStore),
}

/// The AWS provider for one store (one credential identity): Secrets Manager or Parameter
/// Store, per `spec.provider.aws.service`. Cheap to build (no network I/O); credentials are
/// obtained on first use and cached. See the [crate docs](crate) for behaviour.
pub struct AwsProvider {
    context: StoreContext,
    spec: AwsSpec,
    auth: Auth,
    backend: Backend,
    writer: crate::write::AwsWriter,
    retry: RetryPolicy,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProvider")
            .field("store", &self.context.store)
            .field("service", &self.spec.service)
            .field("region", &self.spec.region)
            .finish_non_exhaustive()
    }
}

/// An empty key is a mistake in the ExternalSecret, not a missing secret.
fn empty_key() -> ProviderError {
    ProviderError::Unsupported(
        "remoteRef.key is empty: expected a secret name, ARN or parameter".into(),
    )
}

/// ESO's AWS retries: without `retrySettings` the SDK's standard mode (3 attempts, exponential
/// backoff from 1 s to 20 s); with it, `maxRetries` is the SDK's total attempts (3 when
/// unset) and `retryInterval` a fixed delay.
pub const RETRY_DEFAULTS: RetryDefaults = RetryDefaults {
    without_settings: RetryPolicy {
        max_retries: 2,
        backoff: Backoff::Exponential {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(20),
        },
    },
    max_retries_when_unset: 3,
    max_retries_counts_attempts: true,
};

/// Checks the shape of an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`, ...).
pub(crate) fn validate_region(region: &str) -> Result<(), ProviderError> {
    let valid = regex::Regex::new(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
        .map(|re| re.is_match(region))
        .unwrap_or(false);
    if valid {
        Ok(())
    } else {
        Err(ProviderError::InvalidStoreConfig(format!(
            "spec.provider.aws.region: expected an AWS region such as \"us-east-1\", got {region:?}"
        )))
    }
}

/// Region, endpoint, timeouts and retries; no credentials.
pub(crate) fn base_config(region: &str, options: &AwsOptions) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .operation_attempt_timeout(options.attempt_timeout)
                .operation_timeout(options.operation_timeout)
                .build(),
        )
        // One attempt: providers never sleep; the engine retries under the store's policy.
        .retry_config(RetryConfig::disabled())
        // Our own cache (see `auth`) decides when credentials are renewed.
        .identity_cache(IdentityCache::no_cache());
    if let Some(url) = &options.endpoint_url {
        builder = builder.endpoint_url(url.clone());
    }
    builder.build()
}

impl AwsProvider {
    /// Builds the provider for a store. Fails on invalid configuration (region, auth shape,
    /// reserved session tags); never performs network I/O.
    pub fn new(
        context: StoreContext,
        spec: AwsSpec,
        credentials: Arc<dyn CredentialResolver>,
        options: AwsOptions,
    ) -> Result<Self, ProviderError> {
        validate_region(&spec.region)?;
        if let Some(url) = &options.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ProviderError::InvalidStoreConfig(format!(
                "AWS endpoint override {url:?}: expected an http:// or https:// URL"
            )));
        }
        let base = base_config(&spec.region, &options);
        let auth = Auth::new(&context, &spec, credentials, base.clone(), &options)?;
        let service_config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(auth.sdk_provider()))
            .build();
        let prefix = spec.prefix.clone().unwrap_or_default();
        let backend = match spec.service {
            AwsService::SecretsManager => Backend::SecretsManager(SecretsManager::new(
                SecretsManagerApi {
                    client: aws_sdk_secretsmanager::Client::new(&service_config),
                    region: spec.region.clone(),
                    options: options.clone(),
                },
                prefix,
            )),
            AwsService::ParameterStore => Backend::ParameterStore(ParameterStore::new(
                ParameterStoreApi {
                    client: aws_sdk_ssm::Client::new(&service_config),
                    region: spec.region.clone(),
                    options: options.clone(),
                },
                prefix,
            )),
        };
        let site = crate::write::WriteSite {
            region: spec.region.clone(),
            options: options.clone(),
            prefix: spec.prefix.clone().unwrap_or_default(),
        };
        let writer = match spec.service {
            AwsService::SecretsManager => {
                crate::write::AwsWriter::SecretsManager(crate::write::SecretsManagerWriter {
                    client: aws_sdk_secretsmanager::Client::new(&service_config),
                    site,
                    settings: spec.secrets_manager.clone(),
                })
            }
            AwsService::ParameterStore => {
                crate::write::AwsWriter::ParameterStore(crate::write::ParameterStoreWriter {
                    client: aws_sdk_ssm::Client::new(&service_config),
                    site,
                })
            }
        };
        Ok(AwsProvider {
            context,
            spec,
            auth,
            backend,
            writer,
            retry: RETRY_DEFAULTS.without_settings,
        })
    }

    /// Applies the store's `retrySettings` (see [`RETRY_DEFAULTS`]); the engine retries
    /// transient failures under the resulting policy.
    pub fn with_retry_settings(
        mut self,
        settings: Option<&RetrySettings>,
    ) -> Result<Self, ProviderError> {
        self.retry = retry_policy(settings, &RETRY_DEFAULTS)?;
        Ok(self)
    }

    /// The store this provider serves.
    pub fn context(&self) -> &StoreContext {
        &self.context
    }

    /// The ARN of the identity the store's credentials belong to (STS `GetCallerIdentity`,
    /// which needs no permissions): shows which role the auth chain ended in.
    pub async fn caller_identity(&self) -> Result<String, ProviderError> {
        self.auth.check().await
    }

    /// The write half (PushSecrets).
    pub(crate) fn write_backend(&self) -> &crate::write::AwsWriter {
        &self.writer
    }

    /// Resolves the store's credentials now (normally done on first use), e.g. to fail fast.
    pub async fn warm_up(&self) -> Result<(), ProviderError> {
        self.auth.credentials().await.map(|_| ())
    }
}

#[async_trait]
impl SecretProvider for AwsProvider {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            store: StoreCapabilities::ReadWrite,
            find: true,
            versions: true,
            metadata: true,
            batch: matches!(self.backend, Backend::SecretsManager(_)),
        }
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        if request.key.is_empty() {
            return Err(empty_key());
        }
        // Surfaces credential problems as such (and loads them once for all waiting callers).
        self.auth.credentials().await?;
        match &self.backend {
            Backend::SecretsManager(sm) => sm.fetch(request).await,
            Backend::ParameterStore(ps) => ps.fetch(request).await,
        }
    }

    async fn fetch_many(
        &self,
        requests: &[FetchRequest],
    ) -> Vec<Result<RemoteSecret, ProviderError>> {
        // Credentials first (one load for the whole batch), then every read queued at once.
        if let Err(err) = self.auth.credentials().await {
            return vec![Err(err); requests.len()];
        }
        match &self.backend {
            Backend::SecretsManager(sm) => {
                let valid: Vec<FetchRequest> = requests
                    .iter()
                    .filter(|r| !r.key.is_empty())
                    .cloned()
                    .collect();
                let mut results = sm.fetch_many(&valid).await.into_iter();
                requests
                    .iter()
                    .map(|r| {
                        if r.key.is_empty() {
                            Err(empty_key())
                        } else {
                            results.next().unwrap_or_else(|| Err(empty_key()))
                        }
                    })
                    .collect()
            }
            Backend::ParameterStore(_) => join_all(requests.iter().map(|r| self.fetch(r))).await,
        }
    }

    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        if request.path.is_none() && request.name_regexp.is_none() && request.tags.is_empty() {
            return Err(ProviderError::Unsupported(
                "find: expected at least one of name.regexp, tags and path".into(),
            ));
        }
        self.auth.credentials().await?;
        match &self.backend {
            Backend::SecretsManager(sm) => sm.find(request).await,
            Backend::ParameterStore(ps) => ps.find(request).await,
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn writer(&self) -> Option<&dyn secretsync_model::SecretWriter> {
        Some(self)
    }

    async fn validate(&self) -> Result<Validation, ProviderError> {
        if needs_reader_namespace(&self.context, &self.spec.auth) {
            return Ok(Validation::Unknown(
                "the credential references have no namespace, so they resolve in each \
                 ExternalSecret's namespace"
                    .into(),
            ));
        }
        self.auth.check().await?;
        Ok(Validation::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::validate_region;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
        ] {
            assert!(validate_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "http://x",
            "us-east-1 ",
        ] {
            let err = validate_region(bad).expect_err(bad);
            assert!(
                err.to_string().contains("spec.provider.aws.region"),
                "{err}"
            );
        }
    }
}
