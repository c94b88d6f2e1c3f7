//! [`MemoryEnvironment`]: the engine's host over objects given as values — stores, Secrets and
//! ConfigMaps — with ESO's store rules built in. The CLI, tests, benchmarks and embedders use
//! it instead of writing their own [`SyncEnvironment`].
//!
//! Rules (the same as the operator's, see `crates/kube`):
//! - a `SecretStore` reference resolves in the ExternalSecret's namespace; a
//!   `ClusterSecretStore` reference must be admitted by the store's `spec.conditions`
//!   ([`conditions_admit`]; namespace labels come from
//!   [`MemoryEnvironment::with_namespace_labels`]);
//! - credential references follow [`reference_namespace`]: a SecretStore reads only its own
//!   namespace, a ClusterSecretStore reads the namespace it names or the reader's;
//! - objects without a namespace land in `default`, as with `kubectl`.
//!
//! What the environment does not hold (a store, a Secret, a ServiceAccount token) is asked of
//! an optional fallback environment ([`MemoryEnvironment::with_fallback`]), e.g. a cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secretsync_model::credentials::{
    CredentialResolver, StaticCredentials, reference_key, reference_namespace,
};
use secretsync_model::external_secret::{GeneratorRef, SecretStoreRef, StoreKind};
use secretsync_model::generator::{CLUSTER_GENERATOR, GeneratorSpec};
use secretsync_model::manifest::Resource;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::secret_store::{SecretStoreSpec, conditions_admit, conditions_need_labels};
use secretsync_model::{ProviderError, SecretValue, StoreId};

use crate::env::{ResolvedStore, SyncEnvironment, TemplateSourceKind};
use crate::error::EnvironmentError;

/// Namespace of namespaced objects that name none (as `kubectl` does).
pub const DEFAULT_NAMESPACE: &str = "default";

/// A [`SyncEnvironment`] over stores, Secrets and ConfigMaps held in memory.
///
/// ```
/// use secretsync_engine::MemoryEnvironment;
/// use secretsync_model::secret_store::SecretStoreSpec;
///
/// let spec: SecretStoreSpec = serde_json::from_value(serde_json::json!({
///     "provider": {"fake": {"data": [{"key": "db", "value": "s3cr3t"}]}}
/// }))
/// .unwrap();
/// let env = MemoryEnvironment::new()
///     .with_secret_store("team-a", "fake", spec)
///     .with_secret("team-a", "vault-token", [("token", "root")]);
/// assert_eq!(env.stores().count(), 1);
/// ```
#[derive(Clone, Default)]
pub struct MemoryEnvironment {
    stores: BTreeMap<StoreId, Arc<SecretStoreSpec>>,
    /// Stores' `secretsync.io/fallback-store` annotations (from manifests).
    store_fallbacks: BTreeMap<StoreId, String>,
    objects: Arc<StaticCredentials>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    fallback: Option<Arc<dyn SyncEnvironment>>,
    /// Generators by (kind, namespace — `None` for ClusterGenerators —, name).
    generators: BTreeMap<(String, Option<String>, String), GeneratorSpec>,
}

impl std::fmt::Debug for MemoryEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryEnvironment")
            .field("stores", &self.stores.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

fn namespace_or_default(namespace: Option<&str>) -> String {
    namespace
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_string()
}

impl MemoryEnvironment {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) SecretStore `namespace/name`.
    pub fn with_secret_store(
        mut self,
        namespace: impl Into<String>,
        name: impl Into<String>,
        spec: SecretStoreSpec,
    ) -> Self {
        self.add_store(
            StoreId {
                kind: StoreKind::SecretStore,
                namespace: Some(namespace.into()),
                name: name.into(),
            },
            spec,
        );
        self
    }

    /// Adds (or replaces) ClusterSecretStore `name`.
    pub fn with_cluster_secret_store(
        mut self,
        name: impl Into<String>,
        spec: SecretStoreSpec,
    ) -> Self {
        self.add_store(
            StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: name.into(),
            },
            spec,
        );
        self
    }

    /// Adds (or replaces) Secret `namespace/name` (credentials and `templateFrom.secret`).
    pub fn with_secret<K, V>(
        mut self,
        namespace: impl Into<String>,
        name: impl Into<String>,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<SecretValue>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Arc::make_mut(&mut self.objects).add_secret(Some(namespace.into()), name, data);
        self
    }

    /// Adds (or replaces) ConfigMap `namespace/name` (`caProvider` and `templateFrom.configMap`).
    pub fn with_config_map<K, V>(
        mut self,
        namespace: impl Into<String>,
        name: impl Into<String>,
        data: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Arc::make_mut(&mut self.objects).add_config_map(Some(namespace.into()), name, data);
        self
    }

    /// Sets the labels of a namespace, for ClusterSecretStore `namespaceSelector` conditions
    /// (a namespace without labels given has none).
    pub fn with_namespace_labels(
        mut self,
        namespace: impl Into<String>,
        labels: BTreeMap<String, String>,
    ) -> Self {
        self.namespace_labels.insert(namespace.into(), labels);
        self
    }

    /// Asks `fallback` for whatever this environment does not hold: stores, template sources,
    /// credential Secrets and ConfigMaps, and ServiceAccounts (e.g. a cluster).
    pub fn with_fallback(mut self, fallback: Arc<dyn SyncEnvironment>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Adds a resource read from a manifest: stores, Secrets (`data` and `stringData`) and
    /// ConfigMaps (`data`) are kept; other resources (ExternalSecrets, ClusterExternalSecrets)
    /// are handed back.
    pub fn insert(&mut self, resource: Resource) -> Option<Resource> {
        match resource {
            Resource::SecretStore(s) => {
                let id = StoreId {
                    kind: StoreKind::SecretStore,
                    namespace: Some(namespace_or_default(s.metadata.namespace.as_deref())),
                    name: s.metadata.name.clone().unwrap_or_default(),
                };
                self.note_store_fallback(&id, s.metadata.annotations.as_ref());
                self.add_store(id, s.spec);
                None
            }
            Resource::ClusterSecretStore(s) => {
                let id = StoreId {
                    kind: StoreKind::ClusterSecretStore,
                    namespace: None,
                    name: s.metadata.name.clone().unwrap_or_default(),
                };
                self.note_store_fallback(&id, s.metadata.annotations.as_ref());
                self.add_store(id, s.spec.store);
                None
            }
            Resource::Secret(s) => {
                let namespace = namespace_or_default(s.metadata.namespace.as_deref());
                let name = s.metadata.name.clone().unwrap_or_default();
                let mut data: BTreeMap<String, SecretValue> = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v.0)))
                    .collect();
                for (k, v) in s.string_data.unwrap_or_default() {
                    data.insert(k, SecretValue::from(v));
                }
                Arc::make_mut(&mut self.objects).add_secret(Some(namespace), name, data);
                None
            }
            Resource::ConfigMap(c) => {
                let namespace = namespace_or_default(c.metadata.namespace.as_deref());
                let name = c.metadata.name.clone().unwrap_or_default();
                Arc::make_mut(&mut self.objects).add_config_map(
                    Some(namespace),
                    name,
                    c.data.unwrap_or_default(),
                );
                None
            }
            Resource::Generator(g) => {
                let namespace = (g.kind != CLUSTER_GENERATOR)
                    .then(|| namespace_or_default(g.namespace.as_deref()));
                self.generators.insert((g.kind, namespace, g.name), g.spec);
                None
            }
            other @ (Resource::ExternalSecret(_)
            | Resource::ClusterExternalSecret(_)
            | Resource::PushSecret(_)) => Some(other),
        }
    }

    fn note_store_fallback(
        &mut self,
        id: &StoreId,
        annotations: Option<&BTreeMap<String, String>>,
    ) {
        match annotations.and_then(|a| a.get(crate::FALLBACK_STORE_ANNOTATION)) {
            Some(value) => self.store_fallbacks.insert(id.clone(), value.clone()),
            None => self.store_fallbacks.remove(id),
        };
    }

    /// The stores held, by identity.
    pub fn stores(&self) -> impl Iterator<Item = (&StoreId, &Arc<SecretStoreSpec>)> {
        self.stores.iter()
    }

    fn add_store(&mut self, id: StoreId, spec: SecretStoreSpec) {
        self.stores.insert(id, Arc::new(spec));
    }

    fn admit(
        &self,
        id: &StoreId,
        spec: &SecretStoreSpec,
        namespace: &str,
    ) -> Result<(), EnvironmentError> {
        if id.kind != StoreKind::ClusterSecretStore {
            return Ok(());
        }
        let labels = self.namespace_labels.get(namespace);
        let empty = BTreeMap::new();
        let admitted = conditions_admit(&spec.conditions, namespace, labels.unwrap_or(&empty))
            .map_err(|m| EnvironmentError::other(format!("{id}: {m}")))?;
        if admitted {
            return Ok(());
        }
        let hint = if labels.is_none() && conditions_need_labels(&spec.conditions) {
            " (the labels of the namespace are not known here, so no namespaceSelector can match)"
        } else {
            ""
        };
        Err(EnvironmentError::other(format!(
            "{id} does not admit namespace {namespace:?}: no entry of spec.conditions (namespaces, namespaceRegexes, namespaceSelector) matches it{hint}"
        )))
    }
}

#[async_trait]
impl SyncEnvironment for MemoryEnvironment {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        let id = StoreId {
            kind: reference.kind,
            namespace: (reference.kind == StoreKind::SecretStore).then(|| namespace.to_string()),
            name: reference.name.clone(),
        };
        let Some(spec) = self.stores.get(&id) else {
            return match &self.fallback {
                Some(fallback) => fallback.store(namespace, reference).await,
                None => Err(EnvironmentError::not_found(format!("{id} not found"))),
            };
        };
        self.admit(&id, spec, namespace)?;
        Ok(ResolvedStore {
            id,
            spec: spec.clone(),
        })
    }

    async fn store_fallback(&self, namespace: &str, reference: &SecretStoreRef) -> Option<String> {
        let id = StoreId {
            kind: reference.kind,
            namespace: (reference.kind == StoreKind::SecretStore).then(|| namespace.to_string()),
            name: reference.name.clone(),
        };
        if self.stores.contains_key(&id) {
            return self.store_fallbacks.get(&id).cloned();
        }
        match &self.fallback {
            Some(fallback) => fallback.store_fallback(namespace, reference).await,
            None => None,
        }
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        Arc::new(MemoryCredentials {
            objects: self.objects.clone(),
            context: context.clone(),
            fallback: self.fallback.as_ref().map(|f| f.credentials(context)),
        })
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        let found = match kind {
            TemplateSourceKind::Secret => self.objects.secret(namespace, name).cloned(),
            TemplateSourceKind::ConfigMap => self.objects.config_map(namespace, name).map(|d| {
                d.iter()
                    .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
                    .collect()
            }),
        };
        match (found, &self.fallback) {
            (Some(data), _) => Ok(data),
            (None, Some(fallback)) => fallback.template_source(kind, namespace, name).await,
            (None, None) => Err(EnvironmentError::not_found(format!(
                "{kind} {namespace}/{name} not found"
            ))),
        }
    }

    async fn generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
    ) -> Result<GeneratorSpec, EnvironmentError> {
        let scope = (reference.kind != CLUSTER_GENERATOR).then(|| namespace.to_string());
        let key = (reference.kind.clone(), scope, reference.name.clone());
        match (self.generators.get(&key), &self.fallback) {
            (Some(spec), _) => Ok(spec.clone()),
            (None, Some(fallback)) => fallback.generator(namespace, reference).await,
            (None, None) => Err(EnvironmentError::not_found(format!(
                "{} {namespace}/{} not found",
                reference.kind, reference.name
            ))),
        }
    }
}

/// The credential resolver of one store context: exact lookups under ESO's namespace rules,
/// then the fallback environment's resolver.
struct MemoryCredentials {
    objects: Arc<StaticCredentials>,
    context: StoreContext,
    fallback: Option<Arc<dyn CredentialResolver>>,
}

impl MemoryCredentials {
    fn no_cluster(&self, what: String) -> ProviderError {
        ProviderError::Unsupported(format!(
            "{}: {what}: needs a Kubernetes cluster, and none is configured",
            self.context.store
        ))
    }
}

#[async_trait]
impl CredentialResolver for MemoryCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        let namespace = reference_namespace(
            &self.context,
            "Secret",
            &selector.name,
            selector.namespace.as_deref(),
        )?;
        let key = reference_key(&self.context, selector, default_key)?;
        let what = format!("credential Secret {namespace}/{}", selector.name);
        match (
            self.objects.secret(&namespace, &selector.name),
            &self.fallback,
        ) {
            (Some(data), _) => data
                .get(key)
                .cloned()
                .ok_or_else(|| ProviderError::NotFound(format!("key {key:?} in {what}"))),
            (None, Some(fallback)) => fallback.secret_value(selector, default_key).await,
            (None, None) => Err(ProviderError::NotFound(what)),
        }
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        let ns = reference_namespace(&self.context, "ConfigMap", name, namespace)?;
        let what = format!("ConfigMap {ns}/{name}");
        match (self.objects.config_map(&ns, name), &self.fallback) {
            (Some(data), _) => data
                .get(key)
                .cloned()
                .ok_or_else(|| ProviderError::NotFound(format!("key {key:?} in {what}"))),
            (None, Some(fallback)) => fallback.config_map_value(name, namespace, key).await,
            (None, None) => Err(ProviderError::NotFound(what)),
        }
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        audiences: &[String],
        expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        let ns = reference_namespace(
            &self.context,
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        )?;
        match &self.fallback {
            Some(fallback) => {
                fallback
                    .service_account_token(account, audiences, expiration)
                    .await
            }
            None => {
                Err(self.no_cluster(format!("a token of ServiceAccount {ns}/{}", account.name)))
            }
        }
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let ns = reference_namespace(
            &self.context,
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        )?;
        match &self.fallback {
            Some(fallback) => fallback.service_account_annotations(account).await,
            None => Err(self.no_cluster(format!(
                "the annotations of ServiceAccount {ns}/{}",
                account.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
