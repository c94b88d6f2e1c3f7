//! What the engine needs from its host: stores, credentials and template sources.
//!
//! The CLI implements [`SyncEnvironment`] from manifest files, the operator from the cluster.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use secretsync_model::StoreId;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{GeneratorRef, SecretStoreRef};
use secretsync_model::generator::GeneratorSpec;
use secretsync_model::provider::StoreContext;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::value::SecretValue;

use crate::error::EnvironmentError;

/// A store the host resolved for an ExternalSecret.
#[derive(Clone, Debug)]
pub struct ResolvedStore {
    /// Identity of the store (kind, namespace, name).
    pub id: StoreId,
    /// Its spec. The engine caches one provider per store and reader namespace and rebuilds it
    /// when this spec changes.
    pub spec: Arc<SecretStoreSpec>,
}

/// The kind of object a `templateFrom` entry reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateSourceKind {
    /// `templateFrom[].configMap`.
    ConfigMap,
    /// `templateFrom[].secret`.
    Secret,
}

impl std::fmt::Display for TemplateSourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TemplateSourceKind::ConfigMap => "ConfigMap",
            TemplateSourceKind::Secret => "Secret",
        })
    }
}

/// The host of the engine: resolves stores, credentials and template sources.
#[async_trait]
pub trait SyncEnvironment: Send + Sync {
    /// Resolves a store reference made from `namespace`. The host applies ESO's rules:
    /// a SecretStore is looked up in `namespace`; a ClusterSecretStore must admit the namespace
    /// (`spec.conditions`), the store's `controller` class must match, and a host may refuse
    /// stores that are not Ready (ESO's flood gate).
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError>;

    /// The raw `secretsync.io/fallback-store` annotation of the store `reference` names from
    /// `namespace`, if it exists and carries one. Hosts wrapping another environment forward it.
    async fn store_fallback(&self, namespace: &str, reference: &SecretStoreRef) -> Option<String> {
        let _ = (namespace, reference);
        None
    }

    /// The credential resolver providers built for `context` use.
    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver>;

    /// Reads the data of a ConfigMap (values as bytes) or Secret in `namespace`, for
    /// `spec.target.template.templateFrom`.
    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError>;

    /// Resolves `dataFrom[].sourceRef.generatorRef` made from `namespace`: a namespaced kind in
    /// `namespace`, or a `ClusterGenerator`.
    async fn generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
    ) -> Result<GeneratorSpec, EnvironmentError>;
}
