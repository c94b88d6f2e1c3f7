//! [`AzureProvider`]: the [`SecretProvider`] for `spec.provider.azurekv`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::{AzureAuthType, AzureKvSpec};
use secretsync_model::secret_store::{RetrySettings, StoreCapabilities};
use secretsync_model::{
    Backoff, FetchRequest, FindRequest, ProviderCapabilities, ProviderError, RemoteSecret,
    RetryPolicy, SecretData, SecretProvider, Validation,
};
use secretsync_provider_support::retry::{RetryDefaults, retry_policy};
use serde_json::Value;
use std::time::Duration;

use crate::auth::TokenCache;
use crate::auth::source::TokenSource;
use crate::cloud::{CloudEndpoints, check_official_hosts, require_https};
use crate::http_util::build_client;
use crate::objects::{self, ObjectKind, parse_remote_key};
use crate::options::AzureOptions;
use crate::vault::KeyVaultClient;

/// Page size of secret listings.
const LIST_PAGE_SIZE: u32 = 25;

/// Retries as the Azure SDK's default policy (ESO's Azure provider ignores `retrySettings`;
/// secretsync honours them): 3 retries, exponential from 800 ms to 60 s; with
/// `retrySettings`, `maxRetries` (3 when unset) and a fixed `retryInterval`.
pub const RETRY_DEFAULTS: RetryDefaults = RetryDefaults {
    without_settings: RetryPolicy {
        max_retries: 3,
        backoff: Backoff::Exponential {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(60),
        },
    },
    max_retries_when_unset: 3,
    max_retries_counts_attempts: false,
};

/// Azure Key Vault provider for one store and identity. Cheap to share; keeps its token.
pub struct AzureProvider {
    context: StoreContext,
    client: KeyVaultClient,
    find_concurrency: usize,
    limits: secretsync_provider_support::ReadLimits,
    retry: RetryPolicy,
}

impl std::fmt::Debug for AzureProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureProvider")
            .field("store", &self.context.store)
            .field("vault", &self.client.vault_url())
            .field("auth", &self.client.tokens().source().describe())
            .finish_non_exhaustive()
    }
}

impl AzureProvider {
    /// Validates the store spec and builds the provider. No network I/O: the challenge and the
    /// first token happen on first use.
    pub fn new(
        context: StoreContext,
        spec: AzureKvSpec,
        credentials: Arc<dyn CredentialResolver>,
        options: AzureOptions,
    ) -> Result<Self, ProviderError> {
        if spec.vault_url.trim().is_empty() {
            return Err(ProviderError::InvalidStoreConfig(
                "spec.provider.azurekv.vaultUrl: expected the vault URL, e.g. https://my-vault.vault.azure.net".into(),
            ));
        }
        let mut base = require_https("spec.provider.azurekv.vaultUrl", spec.vault_url.trim())?;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let cloud = CloudEndpoints::for_spec(&spec)?;
        check_identity(&context, &spec, &options)?;
        if options.ambient_identity.restricts(&context.store) {
            check_official_hosts(&spec, &base, &cloud).map_err(|e| in_store(e, &context))?;
        }
        let options = Arc::new(options);
        let http = build_client(&options)?;
        let source = TokenSource::new(
            &spec,
            credentials,
            cloud.clone(),
            http.clone(),
            options.clone(),
        )?;
        let find_concurrency = options.find_concurrency.max(1);
        let limits = options.limits;
        let client = KeyVaultClient::new(
            http,
            base,
            cloud.key_vault_resource,
            TokenCache::new(source, options.clock.clone()),
            options,
        );
        Ok(AzureProvider {
            context,
            client,
            find_concurrency,
            limits,
            retry: RETRY_DEFAULTS.without_settings,
        })
    }

    /// Applies the store's `retrySettings` (see [`RETRY_DEFAULTS`]); the engine retries
    /// transient failures (throttling after `Retry-After`, outages) under the policy.
    pub fn with_retry_settings(
        mut self,
        settings: Option<&RetrySettings>,
    ) -> Result<Self, ProviderError> {
        self.retry = retry_policy(settings, &RETRY_DEFAULTS)?;
        Ok(self)
    }

    /// The Key Vault client.
    pub(crate) fn client(&self) -> &KeyVaultClient {
        &self.client
    }

    /// Access tokens acquired so far by this provider instance.
    pub fn token_acquisitions(&self) -> u64 {
        self.client.tokens().acquisitions()
    }

    fn describe(&self, kind: ObjectKind, name: &str, version: Option<&str>) -> String {
        let version = version
            .map(|v| format!(" version {v:?}"))
            .unwrap_or_default();
        format!(
            "{} {name:?}{version} in vault {}",
            kind.noun(),
            self.client.vault_url()
        )
    }

    async fn secret_by_name(&self, name: String) -> Result<(String, RemoteSecret), ProviderError> {
        let what = self.describe(ObjectKind::Secret, &name, None);
        let url = self
            .client
            .object_url(ObjectKind::Secret.collection(), &name, None);
        let body = self.client.get(url, &what).await?;
        Ok((name, objects::secret_value(&body, &what)?))
    }
}

/// `ManagedIdentity` and `WorkloadIdentity` without `serviceAccountRef` are the operator's own
/// identity: refused for SecretStores unless the options allow it.
fn check_identity(
    context: &StoreContext,
    spec: &AzureKvSpec,
    options: &AzureOptions,
) -> Result<(), ProviderError> {
    let policy = options.ambient_identity;
    match spec.auth_type {
        AzureAuthType::ManagedIdentity => policy.check(
            &context.store,
            "spec.provider.azurekv.authType",
            "ManagedIdentity uses the managed identity of the operator's node",
            "authType ServicePrincipal with authSecretRef, or WorkloadIdentity with \
             serviceAccountRef",
        ),
        AzureAuthType::WorkloadIdentity if spec.service_account_ref.is_none() => policy.check(
            &context.store,
            "spec.provider.azurekv.serviceAccountRef",
            "WorkloadIdentity without serviceAccountRef uses the operator's federated token",
            "spec.provider.azurekv.serviceAccountRef",
        ),
        _ => Ok(()),
    }
}

/// Prefixes a store configuration error with the store.
fn in_store(error: ProviderError, context: &StoreContext) -> ProviderError {
    match error {
        ProviderError::InvalidStoreConfig(m) => {
            ProviderError::InvalidStoreConfig(format!("{}: {m}", context.store))
        }
        other => other,
    }
}

fn tags_match(item: &Value, wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(k, v)| {
        item.get("tags")
            .and_then(|t| t.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

#[async_trait]
impl SecretProvider for AzureProvider {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            store: StoreCapabilities::ReadWrite,
            find: true,
            versions: true,
            metadata: true,
            batch: false,
        }
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        let object = parse_remote_key(&request.key)?;
        let version = request.version.as_deref().filter(|v| !v.is_empty());
        let what = self.describe(object.kind, &object.name, version);
        let url = self
            .client
            .object_url(object.kind.collection(), &object.name, version);
        let body = self.client.get(url, &what).await?;
        match (object.kind, request.metadata) {
            (ObjectKind::Secret, false) => objects::secret_value(&body, &what),
            (ObjectKind::Secret, true) => objects::secret_metadata(&body, &what),
            (kind, metadata) => {
                // keys and certificates hold no secret value (the private parts are secrets)
                let bundle: Value = serde_json::from_slice(&body).map_err(|e| {
                    ProviderError::BadResponse(format!("{what}: the response is not JSON ({e})"))
                })?;
                match (kind, metadata) {
                    (_, true) => Ok(objects::metadata_value(&bundle, kind)),
                    (ObjectKind::Key, false) => objects::key_value(&bundle, &what),
                    _ => objects::certificate_value(&bundle, &what),
                }
            }
        }
    }

    fn extract_metadata(
        &self,
        key: &str,
        property: Option<&str>,
        metadata: &RemoteSecret,
    ) -> Option<Result<SecretData, ProviderError>> {
        Some(objects::eso_extract_metadata(key, property, metadata))
    }

    fn writer(&self) -> Option<&dyn secretsync_model::SecretWriter> {
        Some(self)
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        let name_filter = match request.name_regexp.as_deref() {
            Some(re) => Some(regex::Regex::new(re).map_err(|e| {
                ProviderError::InvalidStoreConfig(format!(
                    "find.name.regexp {re:?}: expected a valid regular expression ({e})"
                ))
            })?),
            None => None,
        };
        let listing = format!("secret listing of vault {}", self.client.vault_url());
        let mut names = Vec::new();
        let mut next = Some(self.client.list_url(LIST_PAGE_SIZE));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            self.limits.check_pages(pages, &listing)?;
            let page = self.client.get_json(url, &listing).await?;
            for item in page
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let enabled = item
                    .pointer("/attributes/enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let Some(name) = objects::name_from_id(item.get("id").and_then(Value::as_str))
                else {
                    continue;
                };
                if !enabled || !tags_match(item, &request.tags) {
                    continue;
                }
                if name_filter.as_ref().is_some_and(|re| !re.is_match(&name)) {
                    continue;
                }
                names.push(name);
            }
            if let Some(link) = page
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|l| !l.is_empty())
            {
                next = Some(self.client.checked_next_link(link)?);
            }
        }
        // Every name costs a read: bounded before any is made.
        self.limits.check_find_results(names.len(), &listing)?;
        futures::stream::iter(names.into_iter().map(|n| self.secret_by_name(n)))
            .buffer_unordered(self.find_concurrency)
            .try_collect::<BTreeMap<String, RemoteSecret>>()
            .await
    }

    async fn validate(&self) -> Result<Validation, ProviderError> {
        if self.context.store.kind == StoreKind::ClusterSecretStore
            && self.context.reader_namespace.is_none()
            && self.client.tokens().source().is_referent()
        {
            return Ok(Validation::Unknown(
                "credentials are resolved in the namespace of each ExternalSecret".into(),
            ));
        }
        let what = format!("secret listing of vault {}", self.client.vault_url());
        match self.client.get_json(self.client.list_url(1), &what).await {
            Ok(_) => Ok(Validation::Ready),
            // Authenticated, but without list permission: reads by name may still work.
            Err(ProviderError::PermissionDenied(m)) if !m.contains("rejected the access token") => {
                tracing::debug!(store = %self.context.store, "validation: listing denied, authentication works");
                Ok(Validation::Ready)
            }
            Err(e) => Err(e),
        }
    }
}
