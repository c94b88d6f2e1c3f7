//! [`SyncEnvironment`] on top of the cluster: store lookup with ESO's admission rules,
//! per-store-context credential resolvers and `templateFrom` sources.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use secretsync_engine::{EnvironmentError, ResolvedStore, SyncEnvironment, TemplateSourceKind};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{GeneratorRef, SecretStoreRef, StoreKind};
use secretsync_model::generator::{self, GeneratorObject, GeneratorSpec};
use secretsync_model::meta::ConditionStatus;
use secretsync_model::provider::StoreContext;
use secretsync_model::secret_store::{
    ClusterSecretStore, SecretStore, SecretStoreSpec, SecretStoreStatus, conditions_admit,
};
use secretsync_model::{SecretValue, StoreId};

use crate::cache::{Caches, Lookup};
use crate::credentials::{CredentialIndex, KubeCredentials};

/// The cluster as seen by the engine.
#[derive(Clone)]
pub struct KubeEnvironment {
    client: kube::Client,
    controller_class: Option<String>,
    index: Arc<CredentialIndex>,
    flood_gate: bool,
    caches: Option<Caches>,
    unreachable: Arc<UnreachableStores>,
}

/// Stores whose last validation failed because their backend was unavailable (network,
/// sealed, 5xx, throttled), as the store controller found. The flood gate's refusal of such a
/// store is an *unavailable* store, so an ExternalSecret's `secretsync.io/fallback-store`
/// serves it; a store refused for any other reason (denied, misconfigured) never falls back.
#[derive(Debug, Default)]
pub struct UnreachableStores(std::sync::Mutex<std::collections::HashSet<StoreId>>);

impl UnreachableStores {
    /// Records the outcome of validating `id`.
    pub fn note(&self, id: &StoreId, unreachable: bool) {
        let mut set = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if unreachable {
            set.insert(id.clone());
        } else {
            set.remove(id);
        }
    }

    /// Whether the last validation of `id` found its backend unavailable.
    pub fn contains(&self, id: &StoreId) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }
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
            caches: None,
            unreachable: Arc::default(),
        }
    }

    /// Reads stores and namespaces from these watch-backed caches; the API server is asked only
    /// when a cache has not listed yet.
    pub fn with_caches(mut self, caches: Caches) -> Self {
        self.caches = Some(caches);
        self
    }

    /// Turns ESO's flood gate on or off: with it on, [`SyncEnvironment::store`] refuses a store
    /// whose `Ready` condition is not `True`, so no provider is built or called for it.
    pub fn with_flood_gate(mut self, on: bool) -> Self {
        self.flood_gate = on;
        self
    }

    /// The stores the store controller found unreachable (shared by every clone).
    pub fn unreachable_stores(&self) -> &UnreachableStores {
        &self.unreachable
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
        let class = match self.store_object(namespace, r).await {
            Ok(Some(store)) => store.spec.controller,
            Ok(None) | Err(_) => None,
        };
        self.serves_class(class.as_deref())
    }

    /// The store a reference names: from the cache, or from the API server when the cache has
    /// not listed. `None` when it does not exist.
    async fn store_object(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<Option<StoreObject>, kube::Error> {
        let cached = match (&self.caches, reference.kind) {
            (None, _) => Lookup::Unknown,
            (Some(c), StoreKind::SecretStore) => match c.secret_store(namespace, &reference.name) {
                Lookup::Found(s) => Lookup::Found(StoreObject::of_namespaced(&s)),
                Lookup::Absent => Lookup::Absent,
                Lookup::Unknown => Lookup::Unknown,
            },
            (Some(c), StoreKind::ClusterSecretStore) => match c.cluster_store(&reference.name) {
                Lookup::Found(s) => Lookup::Found(StoreObject::of_cluster(&s)),
                Lookup::Absent => Lookup::Absent,
                Lookup::Unknown => Lookup::Unknown,
            },
        };
        match cached {
            Lookup::Found(store) => Ok(Some(store)),
            Lookup::Absent => Ok(None),
            Lookup::Unknown => Ok(match reference.kind {
                StoreKind::SecretStore => {
                    Api::<SecretStore>::namespaced(self.client.clone(), namespace)
                        .get_opt(&reference.name)
                        .await?
                        .map(|s| StoreObject::of_namespaced(&s))
                }
                StoreKind::ClusterSecretStore => {
                    Api::<ClusterSecretStore>::all(self.client.clone())
                        .get_opt(&reference.name)
                        .await?
                        .map(|s| StoreObject::of_cluster(&s))
                }
            }),
        }
    }

    /// The labels of Namespace `name`: from the cache, or the API server when it has not listed.
    async fn namespace_labels(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, kube::Error> {
        match self.caches.as_ref().map(|c| c.namespace(name)) {
            Some(Lookup::Found(ns)) => Ok(Some(ns.metadata.labels.clone().unwrap_or_default())),
            Some(Lookup::Absent) => Ok(None),
            Some(Lookup::Unknown) | None => Ok(Api::<Namespace>::all(self.client.clone())
                .get_opt(name)
                .await?
                .map(|ns| ns.metadata.labels.unwrap_or_default())),
        }
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

/// The parts of a SecretStore or ClusterSecretStore a sync needs.
struct StoreObject {
    spec: SecretStoreSpec,
    status: Option<SecretStoreStatus>,
    /// Its `secretsync.io/fallback-store` annotation.
    fallback: Option<String>,
}

impl StoreObject {
    fn of_namespaced(store: &SecretStore) -> Self {
        StoreObject {
            spec: store.spec.clone(),
            status: store.status.clone(),
            fallback: fallback_annotation(&store.metadata),
        }
    }

    fn of_cluster(store: &ClusterSecretStore) -> Self {
        StoreObject {
            spec: store.spec.store.clone(),
            status: store.status.clone(),
            fallback: fallback_annotation(&store.metadata),
        }
    }
}

fn fallback_annotation(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<String> {
    metadata
        .annotations
        .as_ref()?
        .get(secretsync_engine::FALLBACK_STORE_ANNOTATION)
        .cloned()
}

/// ESO's class filter: an unset class on either side matches the default controller.
pub fn serves_class(ours: Option<&str>, store: Option<&str>) -> bool {
    let ours = ours.filter(|c| !c.is_empty()).unwrap_or("default");
    match store.filter(|c| !c.is_empty()) {
        None => true,
        Some(c) => c == ours,
    }
}

/// True while a store has not been validated at all (no `Ready` condition yet, e.g. just
/// after the operator started): the flood gate would refuse it, but there is nothing to report
/// yet — the store controller is about to decide, and a store turning Ready requeues its
/// ExternalSecrets.
pub fn awaiting_validation(status: Option<&SecretStoreStatus>) -> bool {
    !status.is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready"))
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
        let kind = match reference.kind {
            StoreKind::SecretStore => format!("SecretStore {namespace}/{}", reference.name),
            StoreKind::ClusterSecretStore => format!("ClusterSecretStore {}", reference.name),
        };
        let StoreObject { spec, status, .. } = self
            .store_object(namespace, reference)
            .await
            .map_err(|e| Self::kube_err(&kind, e))?
            .ok_or_else(|| EnvironmentError::not_found(format!("{kind} not found")))?;
        let id = match reference.kind {
            StoreKind::SecretStore => StoreId {
                kind: StoreKind::SecretStore,
                namespace: Some(namespace.to_string()),
                name: reference.name.clone(),
            },
            StoreKind::ClusterSecretStore => {
                if !spec.conditions.is_empty() {
                    let what = format!("Namespace {namespace}");
                    let labels = self
                        .namespace_labels(namespace)
                        .await
                        .map_err(|e| Self::kube_err(&what, e))?
                        .ok_or_else(|| EnvironmentError::not_found(format!("{what} not found")))?;
                    let admitted = conditions_admit(&spec.conditions, namespace, &labels)
                        .map_err(|m| EnvironmentError::other(format!("{kind}: {m}")))?;
                    if !admitted {
                        return Err(EnvironmentError::other(format!(
                            "{kind} does not admit namespace {namespace:?}: no entry of spec.conditions (namespaces, namespaceRegexes, namespaceSelector) matches it"
                        )));
                    }
                }
                StoreId {
                    kind: StoreKind::ClusterSecretStore,
                    namespace: None,
                    name: reference.name.clone(),
                }
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
            return Err(if self.unreachable.contains(&id) {
                EnvironmentError::unavailable(format!("{refusal}; its backend is unavailable"))
            } else {
                EnvironmentError::other(refusal)
            });
        }
        Ok(ResolvedStore {
            id,
            spec: Arc::new(spec),
        })
    }

    async fn store_fallback(&self, namespace: &str, reference: &SecretStoreRef) -> Option<String> {
        self.store_object(namespace, reference)
            .await
            .ok()
            .flatten()?
            .fallback
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

    async fn generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
    ) -> Result<GeneratorSpec, EnvironmentError> {
        let kind = reference.kind.as_str();
        let cluster = kind == generator::CLUSTER_GENERATOR;
        let what = if cluster {
            format!("{kind} {}", reference.name)
        } else {
            format!("{kind} {namespace}/{}", reference.name)
        };
        let Some(plural) = generator::plural_of(kind) else {
            return Err(EnvironmentError::other(format!(
                "{what}: generator kind {kind} is not supported"
            )));
        };
        let gvk = GroupVersionKind::gvk(generator::GROUP, "v1alpha1", kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = if cluster {
            Api::all_with(self.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, &resource)
        };
        let object = api
            .get(&reference.name)
            .await
            .map_err(|e| Self::kube_err(&what, e))?;
        let json = serde_json::to_value(&object)
            .map_err(|e| EnvironmentError::other(format!("{what}: {e}")))?;
        GeneratorObject::from_json(kind, &json)
            .map(|g| g.spec)
            .map_err(|m| EnvironmentError::other(format!("{what}: {m}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn awaiting_validation_table() {
        use secretsync_model::meta::ConditionStatus;
        let with = |type_: &str, status: ConditionStatus| {
            let mut s = SecretStoreStatus::default();
            s.conditions
                .push(secretsync_model::secret_store::SecretStoreCondition {
                    type_: type_.to_string(),
                    status,
                    reason: None,
                    message: None,
                    last_transition_time: None,
                });
            s
        };
        let cases = [
            (None, true),
            (Some(SecretStoreStatus::default()), true),
            (Some(with("Other", ConditionStatus::True)), true),
            (Some(with("Ready", ConditionStatus::True)), false),
            (Some(with("Ready", ConditionStatus::False)), false),
        ];
        for (status, expected) in cases {
            assert_eq!(
                super::awaiting_validation(status.as_ref()),
                expected,
                "{status:?}"
            );
        }
    }

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
