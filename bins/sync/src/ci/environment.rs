//! [`CiEnvironment`]: wraps the CLI's environment so stores get credentials from the CI
//! environment (see the parent module for the rules).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secretsync_engine::{EnvironmentError, ResolvedStore, SyncEnvironment, TemplateSourceKind};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{GeneratorRef, SecretStoreRef, StoreKind};
use secretsync_model::generator::GeneratorSpec;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::{ProviderError, SecretValue, StoreId};

use super::{CI_SECRET, CiCredentials, StorePatterns};

/// The CLI's environment with CI credentials applied to the stores.
pub struct CiEnvironment {
    inner: Arc<dyn SyncEnvironment>,
    credentials: Arc<CiCredentials>,
    replace: StorePatterns,
    from_files: BTreeSet<StoreId>,
    rewritten: Mutex<BTreeSet<StoreId>>,
}

impl CiEnvironment {
    /// Wraps `inner`. Stores in `from_files` (the user's own manifests) and ClusterSecretStores
    /// get the environment's credentials when they name none; stores matching `replace` always
    /// do. Namespaced SecretStores read from a cluster never get them unless named: whoever
    /// can write a SecretStore in some namespace must not borrow the CI's identity.
    pub fn new(
        inner: Arc<dyn SyncEnvironment>,
        credentials: CiCredentials,
        replace: StorePatterns,
        from_files: BTreeSet<StoreId>,
    ) -> Self {
        CiEnvironment {
            inner,
            credentials: Arc::new(credentials),
            replace,
            from_files,
            rewritten: Mutex::new(BTreeSet::new()),
        }
    }

    fn is_rewritten(&self, id: &StoreId) -> bool {
        self.rewritten
            .lock()
            .map(|r| r.contains(id))
            .unwrap_or(false)
    }
}

#[async_trait]
impl SyncEnvironment for CiEnvironment {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        let resolved = self.inner.store(namespace, reference).await?;
        let replace = self.replace.matches(&resolved.id);
        let trusted = replace
            || resolved.id.kind == StoreKind::ClusterSecretStore
            || self.from_files.contains(&resolved.id);
        if !trusted {
            return Ok(resolved);
        }
        let (spec, synthetic) = self
            .credentials
            .apply(&resolved.id, &resolved.spec, replace)
            .map_err(EnvironmentError::other)?;
        if synthetic && let Ok(mut r) = self.rewritten.lock() {
            r.insert(resolved.id.clone());
        }
        if *resolved.spec == spec {
            return Ok(resolved);
        }
        Ok(ResolvedStore {
            id: resolved.id,
            spec: Arc::new(spec),
        })
    }

    async fn store_fallback(&self, namespace: &str, reference: &SecretStoreRef) -> Option<String> {
        self.inner.store_fallback(namespace, reference).await
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        let inner = self.inner.credentials(context);
        if self.is_rewritten(&context.store) {
            Arc::new(CiResolver {
                inner,
                credentials: self.credentials.clone(),
                store: context.store.clone(),
            })
        } else {
            inner
        }
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        self.inner.template_source(kind, namespace, name).await
    }

    async fn generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
    ) -> Result<GeneratorSpec, EnvironmentError> {
        self.inner.generator(namespace, reference).await
    }
}

/// Serves the synthetic Secret to a store this layer rewrote; everything else goes to `inner`.
struct CiResolver {
    inner: Arc<dyn CredentialResolver>,
    credentials: Arc<CiCredentials>,
    store: StoreId,
}

#[async_trait]
impl CredentialResolver for CiResolver {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        if selector.name != CI_SECRET {
            return self.inner.secret_value(selector, default_key).await;
        }
        let key = selector.key.as_deref().or(default_key).unwrap_or_default();
        match self.credentials.value(key) {
            Some(result) => result
                .map_err(|m| ProviderError::InvalidStoreConfig(format!("{}: {m}", self.store))),
            None => Err(ProviderError::InvalidStoreConfig(format!(
                "{}: the environment has no credential {key:?}",
                self.store
            ))),
        }
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        self.inner.config_map_value(name, namespace, key).await
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        audiences: &[String],
        expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        self.inner
            .service_account_token(account, audiences, expiration)
            .await
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        self.inner.service_account_annotations(account).await
    }
}
