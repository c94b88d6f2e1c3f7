//! The one provider factory for tests: counts every provider call and can fail on demand.
//!
//! - [`TestFactory::default`] builds the fake provider (`secretsync-provider-fake`) from each
//!   store's `spec.provider.fake` (other providers are refused with `InvalidStoreConfig`);
//! - [`TestFactory::serving`] hands every store the same provider (an in-memory or recording
//!   provider of the test's own), still counted and switchable.
//!
//! Switches: `outage` makes fetch, find and validate fail with `Unavailable`; `invalid` makes
//! validate fail (the store turns `Ready=False`). Counters: `calls` (fetch, find, validate),
//! `reads` (fetch, find: what syncs cost; each read of a `fetch_many` counts; also per namespace
//! of the SecretStores read, for tests sharing a real cluster), `builds` (providers built).
//! `fetch_many` goes to the inner provider's own (batching) one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::provider::{ProviderFactory, StoreContext};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    FetchRequest, FindRequest, ProviderCapabilities, ProviderError, RemoteSecret, RetryPolicy,
    SecretData, SecretProvider, SharedProvider, Validation,
};
use secretsync_provider_fake::FakeProvider;

/// Builds counted, switchable providers (see the module docs). Clones share switches and
/// counters.
#[derive(Clone, Default)]
pub struct TestFactory {
    /// When true, fetch, find and validate fail with `Unavailable` (an outage).
    pub outage: Arc<AtomicBool>,
    /// When true, validate fails (the store turns `Ready=False`); reads still work.
    pub invalid: Arc<AtomicBool>,
    /// Provider calls made (fetch, find, validate).
    pub calls: Arc<AtomicU64>,
    /// Reads made (fetch, find).
    pub reads: Arc<AtomicU64>,
    /// Providers built.
    pub builds: Arc<AtomicU64>,
    /// Reads made through SecretStores, by the stores' namespace.
    store_reads: Arc<Mutex<BTreeMap<String, u64>>>,
    serving: Option<SharedProvider>,
}

impl TestFactory {
    /// Every store gets `provider` (counted and switchable like the fake ones).
    pub fn serving(provider: SharedProvider) -> Self {
        TestFactory {
            serving: Some(provider),
            ..TestFactory::default()
        }
    }

    /// Reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Reads made so far through the SecretStores of `namespace` (not ClusterSecretStores):
    /// on a shared real cluster, other tests' operators serve stores without a controller class
    /// too, so a test counts its own.
    pub fn reads_of_stores_in(&self, namespace: &str) -> u64 {
        self.store_reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(namespace)
            .copied()
            .unwrap_or(0)
    }

    /// Counts `n` reads through a store of `namespace` (None: a ClusterSecretStore).
    fn count_reads(&self, namespace: Option<&str>, n: u64) {
        self.reads.fetch_add(n, Ordering::SeqCst);
        if let Some(namespace) = namespace {
            *self
                .store_reads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(namespace.to_string())
                .or_default() += n;
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ProviderFactory for TestFactory {
    async fn build(
        &self,
        context: &StoreContext,
        spec: &SecretStoreSpec,
        _credentials: Arc<dyn CredentialResolver>,
    ) -> Result<SharedProvider, ProviderError> {
        let inner: SharedProvider = match &self.serving {
            Some(p) => p.clone(),
            None => {
                let fake = spec.provider.fake.as_ref().ok_or_else(|| {
                    ProviderError::InvalidStoreConfig(
                        "only the fake provider is built in these tests".into(),
                    )
                })?;
                Arc::new(FakeProvider::new(context.store.clone(), fake))
            }
        };
        self.builds.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(Counted {
            inner,
            factory: self.clone(),
            store_namespace: context.store.namespace.clone(),
        }))
    }
}

struct Counted {
    inner: SharedProvider,
    factory: TestFactory,
    store_namespace: Option<String>,
}

impl Counted {
    fn call(&self, read: bool) -> Result<(), ProviderError> {
        self.factory.calls.fetch_add(1, Ordering::SeqCst);
        if read {
            self.factory.count_reads(self.store_namespace.as_deref(), 1);
        }
        if self.factory.outage.load(Ordering::SeqCst) {
            return Err(ProviderError::Unavailable("injected outage (503)".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl SecretProvider for Counted {
    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities()
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.call(true)?;
        self.inner.fetch(request).await
    }
    async fn fetch_many(
        &self,
        requests: &[FetchRequest],
    ) -> Vec<Result<RemoteSecret, ProviderError>> {
        let n = requests.len() as u64;
        self.factory.calls.fetch_add(n, Ordering::SeqCst);
        self.factory.count_reads(self.store_namespace.as_deref(), n);
        if self.factory.outage.load(Ordering::SeqCst) {
            let outage = ProviderError::Unavailable("injected outage (503)".into());
            return vec![Err(outage); requests.len()];
        }
        self.inner.fetch_many(requests).await
    }
    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        self.call(true)?;
        self.inner.find(request).await
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        self.call(false)?;
        if self.factory.invalid.load(Ordering::SeqCst) {
            return Err(ProviderError::Unavailable(
                "injected validation failure".into(),
            ));
        }
        self.inner.validate().await
    }
    fn extract_metadata(
        &self,
        key: &str,
        property: Option<&str>,
        metadata: &RemoteSecret,
    ) -> Option<Result<SecretData, ProviderError>> {
        self.inner.extract_metadata(key, property, metadata)
    }
    fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry_policy()
    }
    async fn close(&self) {
        self.inner.close().await;
    }
}
