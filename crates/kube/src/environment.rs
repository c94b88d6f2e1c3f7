//! [`SyncEnvironment`] on top of the cluster: store lookup with ESO's admission rules,
//! per-store-context credential resolvers and `templateFrom` sources.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::Api;
use secretsync_engine::{EnvironmentError, ResolvedStore, SyncEnvironment, TemplateSourceKind};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{SecretStoreRef, StoreKind};
use secretsync_model::meta::ConditionStatus;
use secretsync_model::provider::StoreContext;
use secretsync_model::secret_store::{
    ClusterSecretStore, SecretStore, SecretStoreSpec, SecretStoreStatus, conditions_admit,
};
use secretsync_model::{SecretValue, StoreId};

use crate::credentials::{CredentialIndex, KubeCredentials};

/// The cluster as seen by the engine.
#[derive(Clone)]
pub struct KubeEnvironment {
    client: kube::Client,
    controller_class: Option<String>,
    index: Arc<CredentialIndex>,
    flood_gate: bool,
}

impl KubeEnvironment {
    /// An environment reading through `client`; stores whose `spec.controller` is set and differs
    /// from `controller_class` are refused.
    pub fn new(
        client: kube::Client,
        controller_class: Option<String>,
        index: Arc<CredentialIndex>,
    ) -> Self {
        KubeEnvironment {
            client,
            controller_class,
            index,
            flood_gate: false,
        }
    }

    /// Turns ESO's flood gate on or off: with it on, [`SyncEnvironment::store`] refuses a store
    /// whose `Ready` condition is not `True`, so no provider is built or called for it.
    pub fn with_flood_gate(mut self, on: bool) -> Self {
        self.flood_gate = on;
        self
    }

    /// Whether this controller serves a store with `spec.controller` = `class`.
    pub fn serves_class(&self, class: Option<&str>) -> bool {
        serves_class(self.controller_class.as_deref(), class)
    }

    /// ESO's class filter for an ExternalSecret: false when its default store exists and belongs to
    /// another controller class (the ExternalSecret is then left alone, without status).
    pub async fn serves_external_secret(
        &self,
        namespace: &str,
        reference: Option<&SecretStoreRef>,
    ) -> bool {
        let Some(r) = reference else { return true };
        let class = match r.kind {
            StoreKind::SecretStore => {
                Api::<SecretStore>::namespaced(self.client.clone(), namespace)
                    .get_opt(&r.name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| s.spec.controller)
            }
            StoreKind::ClusterSecretStore => Api::<ClusterSecretStore>::all(self.client.clone())
                .get_opt(&r.name)
                .await
                .ok()
                .flatten()
                .and_then(|s| s.spec.store.controller),
        };
        self.serves_class(class.as_deref())
    }

    fn kube_err(what: &str, e: kube::Error) -> EnvironmentError {
        match e {
            kube::Error::Api(s) if s.code == 404 => {
                EnvironmentError::not_found(format!("{what} not found"))
            }
            kube::Error::Api(s) if s.code < 500 && s.code != 429 => {
                EnvironmentError::other(format!("{what}: {}", s.message))
            }
            other => EnvironmentError::unavailable(format!("{what}: {other}")),
        }
    }
}

/// ESO's class filter: an unset class on either side matches the default controller.
pub fn serves_class(ours: Option<&str>, store: Option<&str>) -> bool {
    let ours = ours.filter(|c| !c.is_empty()).unwrap_or("default");
    match store.filter(|c| !c.is_empty()) {
        None => true,
        Some(c) => c == ours,
    }
}

/// ESO's flood gate: `Some(message)` when the store's `Ready` condition is not `True`.
/// The message follows ESO's `%s %q is not ready` and adds the store's own reason.
pub fn flood_gate_refusal(
    reference: &SecretStoreRef,
    status: Option<&SecretStoreStatus>,
) -> Option<String> {
    let ready = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    match ready {
        Some(c) if c.status == ConditionStatus::True => None,
        Some(c) => Some(format!(
            "{} {:?} is not ready (Ready={:?}, reason {}); the flood gate holds its ExternalSecrets until it is",
            reference.kind,
            reference.name,
            c.status,
            c.reason.as_deref().unwrap_or("unset")
        )),
        None => Some(format!(
            "{} {:?} is not ready (not validated yet); the flood gate holds its ExternalSecrets until it is",
            reference.kind, reference.name
        )),
    }
}

#[async_trait]
impl SyncEnvironment for KubeEnvironment {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        let (id, spec, status): (StoreId, SecretStoreSpec, Option<SecretStoreStatus>) =
            match reference.kind {
                StoreKind::SecretStore => {
                    let api: Api<SecretStore> = Api::namespaced(self.client.clone(), namespace);
                    let what = format!("SecretStore {namespace}/{}", reference.name);
                    let store = api
                        .get(&reference.name)
                        .await
                        .map_err(|e| Self::kube_err(&what, e))?;
                    (
                        StoreId {
                            kind: StoreKind::SecretStore,
                            namespace: Some(namespace.to_string()),
                            name: reference.name.clone(),
                        },
                        store.spec,
                        store.status,
                    )
                }
                StoreKind::ClusterSecretStore => {
                    let api: Api<ClusterSecretStore> = Api::all(self.client.clone());
                    let what = format!("ClusterSecretStore {}", reference.name);
                    let store = api
                        .get(&reference.name)
                        .await
                        .map_err(|e| Self::kube_err(&what, e))?;
                    let spec = store.spec.store;
                    let status = store.status;
                    if !spec.conditions.is_empty() {
                        let ns_api: Api<Namespace> = Api::all(self.client.clone());
                        let ns = ns_api
                            .get(namespace)
                            .await
                            .map_err(|e| Self::kube_err(&format!("Namespace {namespace}"), e))?;
                        let labels = ns.metadata.labels.unwrap_or_default();
                        let admitted = conditions_admit(&spec.conditions, namespace, &labels)
                            .map_err(|m| EnvironmentError::other(format!("{what}: {m}")))?;
                        if !admitted {
                            return Err(EnvironmentError::other(format!(
                                "{what} does not admit namespace {namespace:?}: no entry of spec.conditions (namespaces, namespaceRegexes, namespaceSelector) matches it"
                            )));
                        }
                    }
                    (
                        StoreId {
                            kind: StoreKind::ClusterSecretStore,
                            namespace: None,
                            name: reference.name.clone(),
                        },
                        spec,
                        status,
                    )
                }
            };
        if !self.serves_class(spec.controller.as_deref()) {
            return Err(EnvironmentError::other(format!(
                "{id} belongs to controller class {:?}, not ours ({:?})",
                spec.controller.as_deref().unwrap_or_default(),
                self.controller_class.as_deref().unwrap_or("default")
            )));
        }
        if self.flood_gate
            && let Some(refusal) = flood_gate_refusal(reference, status.as_ref())
        {
            return Err(EnvironmentError::other(refusal));
        }
        Ok(ResolvedStore {
            id,
            spec: Arc::new(spec),
        })
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        Arc::new(KubeCredentials::new(
            self.client.clone(),
            context.clone(),
            self.index.clone(),
        ))
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        let what = format!("{kind} {namespace}/{name}");
        match kind {
            TemplateSourceKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
                let cm = api.get(name).await.map_err(|e| Self::kube_err(&what, e))?;
                let mut out: BTreeMap<String, SecretValue> = cm
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v.into_bytes())))
                    .collect();
                for (k, v) in cm.binary_data.unwrap_or_default() {
                    out.insert(k, SecretValue::new(v.0));
                }
                Ok(out)
            }
            TemplateSourceKind::Secret => {
                let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
                let s = api.get(name).await.map_err(|e| Self::kube_err(&what, e))?;
                Ok(s.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v.0)))
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_filter_follows_eso() {
        assert!(serves_class(None, None));
        assert!(serves_class(None, Some("default")));
        assert!(!serves_class(None, Some("other")));
        assert!(serves_class(Some("other"), Some("other")));
        assert!(serves_class(Some("other"), None));
    }
}
