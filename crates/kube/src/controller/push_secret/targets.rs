//! The stores a PushSecret pushes to: named or selected by labels in `secretStoreRefs`, with
//! their labels (what `dataTo[].storeRef.labelSelector` is matched against).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::core::Selector;
use secretsync_engine::push::data_to::TargetStore;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::push_secret::PushSecret;
use secretsync_model::secret_store::{ClusterSecretStore, SecretStore};

use super::super::Context;
use crate::cache::Lookup;

/// One store to push to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub kind: StoreKind,
    pub name: String,
    /// Read only when a `dataTo` rule selects stores by labels (empty otherwise).
    pub labels: BTreeMap<String, String>,
}

impl Target {
    /// The view `secretsync_engine::push::data_to` matches rules against.
    pub fn view(&self) -> TargetStore<'_> {
        TargetStore {
            kind: self.kind,
            name: &self.name,
            labels: &self.labels,
        }
    }
}

/// The stores named or selected by `secretStoreRefs`, without repeats.
pub(super) async fn target_stores(
    ps: &PushSecret,
    ctx: &Context,
    namespace: &str,
) -> Result<Vec<Target>, String> {
    let need_labels = ps.spec.data_to.iter().any(|d| {
        d.store_ref
            .as_ref()
            .is_some_and(|r| r.label_selector.is_some())
    });
    let mut out: Vec<Target> = Vec::new();
    for r in &ps.spec.secret_store_refs {
        let found = match (&r.name, &r.label_selector) {
            (Some(name), _) if !name.is_empty() => {
                let labels = if need_labels {
                    store_labels(ctx, namespace, r.kind, name).await?
                } else {
                    BTreeMap::new()
                };
                vec![Target {
                    kind: r.kind,
                    name: name.clone(),
                    labels,
                }]
            }
            (_, Some(labels)) => stores_by_labels(ctx, namespace, r.kind, labels).await?,
            _ => return Err("refStore Name must be provided".to_string()),
        };
        for f in found {
            if !out.iter().any(|o| o.kind == f.kind && o.name == f.name) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Labels of a named store (none when it does not exist: resolving it reports that).
async fn store_labels(
    ctx: &Context,
    namespace: &str,
    kind: StoreKind,
    name: &str,
) -> Result<BTreeMap<String, String>, String> {
    let read_error = |e: kube::Error| {
        format!(
            "could not get {kind} {name:?}: {}",
            crate::sanitize::api_error(&e)
        )
    };
    Ok(match kind {
        StoreKind::SecretStore => match ctx.caches.secret_store(namespace, name) {
            Lookup::Found(s) => s.labels().clone(),
            Lookup::Absent => BTreeMap::new(),
            Lookup::Unknown => Api::<SecretStore>::namespaced(ctx.client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(read_error)?
                .map(|s| s.labels().clone())
                .unwrap_or_default(),
        },
        StoreKind::ClusterSecretStore => match ctx.caches.cluster_store(name) {
            Lookup::Found(s) => s.labels().clone(),
            Lookup::Absent => BTreeMap::new(),
            Lookup::Unknown => Api::<ClusterSecretStore>::all(ctx.client.clone())
                .get_opt(name)
                .await
                .map_err(read_error)?
                .map(|s| s.labels().clone())
                .unwrap_or_default(),
        },
    })
}

async fn stores_by_labels(
    ctx: &Context,
    namespace: &str,
    kind: StoreKind,
    labels: &LabelSelector,
) -> Result<Vec<Target>, String> {
    let selector = Selector::try_from(labels.clone()).map_err(|e| format!("labelSelector: {e}"))?;
    let params = ListParams::default().labels_from(&selector);
    let found = match kind {
        StoreKind::SecretStore => {
            names_and_labels(
                Api::<SecretStore>::namespaced(ctx.client.clone(), namespace),
                &params,
                "Secret Stores",
            )
            .await?
        }
        StoreKind::ClusterSecretStore => {
            names_and_labels(
                Api::<ClusterSecretStore>::all(ctx.client.clone()),
                &params,
                "cluster Secret Stores",
            )
            .await?
        }
    };
    Ok(found
        .into_iter()
        .map(|(name, labels)| Target { kind, name, labels })
        .collect())
}

async fn names_and_labels<K>(
    api: Api<K>,
    params: &ListParams,
    what: &str,
) -> Result<Vec<(String, BTreeMap<String, String>)>, String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    Ok(api
        .list(params)
        .await
        .map_err(|e| format!("could not list {what}: {}", crate::sanitize::api_error(&e)))?
        .items
        .iter()
        .map(|s| (s.name_any(), s.labels().clone()))
        .collect())
}
