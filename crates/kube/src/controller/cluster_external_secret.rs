//! ClusterExternalSecret: stamps an ExternalSecret into every selected namespace.
//!
//! Namespaces are selected by `namespaceSelectors` (ORed), the deprecated `namespaceSelector`
//! and the deprecated `namespaces` list. Each child is server-side applied (field manager
//! `clusterexternalsecrets.external-secrets.io/<name>`) with a controller ownerReference; a
//! namespace that already has an ExternalSecret of that name not controlled by this
//! ClusterExternalSecret is reported in `status.failedNamespaces`. Children in namespaces no
//! longer selected are deleted. Any Namespace change re-evaluates every ClusterExternalSecret.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use secretsync_model::cluster_external_secret::{
    ClusterExternalSecret, ClusterExternalSecretCondition, ClusterExternalSecretStatus,
    NamespaceFailure,
};
use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::{ExternalSecret, labels};
use secretsync_model::meta::ConditionStatus;
use serde_json::json;

use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;

fn selected(ces: &ClusterExternalSecret, ns: &Namespace) -> Result<bool, String> {
    let name = ns.name_any();
    if ces.spec.namespaces.contains(&name) {
        return Ok(true);
    }
    let selectors = ces
        .spec
        .namespace_selectors
        .iter()
        .chain(ces.spec.namespace_selector.iter());
    any_selects(selectors, ns)
}

/// Whether any of `selectors` (ORed) matches the namespace's labels; an invalid selector is an
/// error naming its position.
pub(crate) fn any_selects<'a>(
    selectors: impl IntoIterator<
        Item = &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    >,
    ns: &Namespace,
) -> Result<bool, String> {
    let labels = ns.labels();
    for (i, sel) in selectors.into_iter().enumerate() {
        let s =
            Selector::try_from(sel.clone()).map_err(|e| format!("namespace selector {i}: {e}"))?;
        if s.matches(labels) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The children's annotations: `externalSecretMetadata.annotations`, with the
/// ClusterExternalSecret's `external-secrets.io/force-sync` mirrored (set to its value, or
/// removed when it has none), as ESO's controller does.
pub fn child_annotations(
    ces: &ClusterExternalSecret,
    template: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = template.clone();
    match ces.annotations().get(labels::FORCE_SYNC) {
        Some(value) => {
            out.insert(labels::FORCE_SYNC.to_string(), value.clone());
        }
        None => {
            out.remove(labels::FORCE_SYNC);
        }
    }
    out
}

fn owned_by(es: &ExternalSecret, ces: &ClusterExternalSecret) -> bool {
    es.owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(&o.uid) == ces.meta().uid.as_ref())
}

/// One measured reconcile: controller-runtime's figures and ESO's
/// `clusterexternalsecret_reconcile_duration`.
async fn reconcile(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let working = ctx.metrics.runtime.queued(CONTROLLER).start();
    let started = std::time::Instant::now();
    let result = provision(&ces, &ctx).await;
    if ces.meta().deletion_timestamp.is_some() {
        ctx.metrics
            .forget(ObjectKind::ClusterExternalSecret, "", &ces.name_any());
    } else {
        ctx.metrics.object_reconciled(
            ObjectKind::ClusterExternalSecret,
            "",
            &ces.name_any(),
            started.elapsed().as_secs_f64(),
        );
    }
    working.finish(match &result {
        Ok(action) => ReconcileResult::of(false, action),
        Err(_) => ReconcileResult::error,
    });
    result
}

const CONTROLLER: &str = "clusterexternalsecret";

/// Provisions the ExternalSecrets of the selected namespaces and reports the status.
async fn provision(ces: &ClusterExternalSecret, ctx: &Context) -> Result<Action, ReconcileError> {
    let es_name = ces
        .spec
        .external_secret_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ces.name_any());
    let manager = format!(
        "clusterexternalsecrets.external-secrets.io/{}",
        ces.name_any()
    );
    let interval = ces
        .spec
        .refresh_time
        .as_deref()
        .and_then(|r| parse_go_duration(r).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(ctx.config.cluster_external_secret_interval);
    if ces.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }

    let namespaces = Api::<Namespace>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await?;
    let mut provisioned = BTreeSet::new();
    let mut failed = Vec::new();
    let metadata = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    for ns in namespaces
        .items
        .iter()
        .filter(|n| n.meta().deletion_timestamp.is_none())
    {
        let ns_name = ns.name_any();
        if let Some(scope) = &ctx.config.namespace
            && *scope != ns_name
        {
            continue;
        }
        match selected(ces, ns) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(message) => {
                failed.push(NamespaceFailure {
                    namespace: ns_name,
                    reason: Some(message),
                });
                continue;
            }
        }
        let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &ns_name);
        if let Some(existing) = api.get_opt(&es_name).await?
            && !owned_by(&existing, ces)
        {
            failed.push(NamespaceFailure {
                namespace: ns_name,
                reason: Some(format!(
                    "ExternalSecret {es_name} already exists and is not managed by this ClusterExternalSecret"
                )),
            });
            continue;
        }
        let body = json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {
                "name": es_name,
                "namespace": ns_name,
                "labels": metadata.labels,
                "annotations": child_annotations(ces, &metadata.annotations),
                "ownerReferences": [{
                    "apiVersion": "external-secrets.io/v1",
                    "kind": "ClusterExternalSecret",
                    "name": ces.name_any(),
                    "uid": ces.meta().uid.clone().unwrap_or_default(),
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": ces.spec.external_secret_spec,
        });
        match api
            .patch(
                &es_name,
                &PatchParams::apply(&manager).force(),
                &Patch::Apply(body),
            )
            .await
        {
            Ok(_) => {
                provisioned.insert(ns_name);
            }
            Err(e) => failed.push(NamespaceFailure {
                namespace: ns_name,
                reason: Some(format!("applying ExternalSecret {es_name}: {e}")),
            }),
        }
    }
    // Children in namespaces that are no longer selected.
    let previous = ces
        .status
        .clone()
        .unwrap_or_default()
        .provisioned_namespaces;
    for ns in previous.iter().filter(|n| !provisioned.contains(*n)) {
        let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), ns);
        if let Some(existing) = api.get_opt(&es_name).await?
            && owned_by(&existing, ces)
        {
            let _ = api.delete(&es_name, &DeleteParams::default()).await;
        }
    }
    failed.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let ready = failed.is_empty();
    let status = ClusterExternalSecretStatus {
        external_secret_name: Some(es_name),
        provisioned_namespaces: provisioned.into_iter().collect(),
        conditions: vec![ClusterExternalSecretCondition {
            type_: "Ready".to_string(),
            status: if ready {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            },
            message: Some(if ready {
                "ExternalSecrets provisioned in every selected namespace".to_string()
            } else {
                format!(
                    "{} namespace(s) failed, see status.failedNamespaces",
                    failed.len()
                )
            }),
        }],
        failed_namespaces: failed,
    };
    ctx.metrics.set_ready(
        ObjectKind::ClusterExternalSecret,
        "",
        &ces.name_any(),
        ready,
    );
    patch_fan_out_status::<ClusterExternalSecret, _>(
        &ctx.client,
        &ces.name_any(),
        ces.status.as_ref(),
        &status,
    )
    .await?;
    Ok(Action::requeue(interval))
}

/// Writes the status of a fan-out object (ClusterExternalSecret, ClusterPushSecret) with a
/// merge patch when it differs from `current`; empty namespace lists are sent as `null`, so
/// the patch clears them.
pub(super) async fn patch_fan_out_status<K, S>(
    client: &kube::Client,
    name: &str,
    current: Option<&S>,
    status: &S,
) -> Result<(), kube::Error>
where
    K: Resource<Scope = kube::core::ClusterResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: serde::Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let mut value = serde_json::to_value(status).map_err(kube::Error::SerdeError)?;
    if let serde_json::Value::Object(map) = &mut value {
        for f in ["failedNamespaces", "provisionedNamespaces"] {
            map.entry(f).or_insert(serde_json::Value::Null);
        }
    }
    Api::<K>::all(client.clone())
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": value })),
        )
        .await?;
    Ok(())
}

fn error_policy(_: Arc<ClusterExternalSecret>, error: &ReconcileError, _: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "ClusterExternalSecret reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// The ClusterExternalSecret controller, stopping gracefully on `shutdown`; its cache and
/// watches join `lists` ([`super::fan_out`]).
pub(crate) fn run(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
) -> BoxFuture<'static, ()> {
    super::fan_out::run::<ClusterExternalSecret, ExternalSecret, _>(
        ctx,
        lists,
        shutdown,
        ObjectKind::ClusterExternalSecret,
        reconcile,
        error_policy,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ces(annotations: serde_json::Value) -> ClusterExternalSecret {
        serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "c", "annotations": annotations},
            "spec": {"externalSecretSpec": {}}
        }))
        .expect("ClusterExternalSecret")
    }

    #[test]
    fn force_sync_is_mirrored_to_the_children_as_eso_does() {
        // ESO clusterexternalsecret_controller_test.go: "Should propagate the force-sync
        // annotation" and "Should prune the force-sync annotation".
        let template = BTreeMap::from([
            ("team".to_string(), "a".to_string()),
            (labels::FORCE_SYNC.to_string(), "stale".to_string()),
        ]);
        let with = child_annotations(&ces(json!({labels::FORCE_SYNC: "true"})), &template);
        assert_eq!(
            with.get(labels::FORCE_SYNC).map(String::as_str),
            Some("true")
        );
        assert_eq!(with.get("team").map(String::as_str), Some("a"));
        let without = child_annotations(&ces(json!({"other": "x"})), &template);
        assert!(!without.contains_key(labels::FORCE_SYNC), "pruned");
        assert!(
            !without.contains_key("other"),
            "only force-sync is mirrored"
        );
        assert_eq!(without.len(), 1);
    }
}
