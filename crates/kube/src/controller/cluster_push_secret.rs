//! ClusterPushSecret: stamps a PushSecret into every namespace selected by
//! `namespaceSelectors` (ORed), as ESO's `clusterpushsecret_controller.go`.
//!
//! Each child is server-side applied (field manager
//! `clusterpushsecrets.external-secrets.io/<name>`) with a controller ownerReference and
//! `pushSecretMetadata`; a namespace that already has a PushSecret of that name not controlled
//! by this ClusterPushSecret, or where applying fails, is reported in
//! `status.failedNamespaces`. Children in namespaces no longer selected are deleted (their
//! `deletionPolicy` then applies). Namespace changes re-evaluate every ClusterPushSecret.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use secretsync_model::duration::parse_go_duration;
use secretsync_model::meta::ConditionStatus;
use secretsync_model::push_secret::{
    ClusterPushSecret, ClusterPushSecretNamespaceFailure, ClusterPushSecretStatus, PushSecret,
    PushSecretStatusCondition, reasons, validate_cluster_push_secret,
};
use serde_json::json;

use super::cluster_external_secret::{any_selects, patch_fan_out_status};
use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;

const CONTROLLER: &str = "clusterpushsecret";

fn owned_by(ps: &PushSecret, cps: &ClusterPushSecret) -> bool {
    ps.owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(&o.uid) == cps.meta().uid.as_ref())
}

/// The `Ready` condition for the failures found (ESO: `True` when every namespace worked).
pub fn ready_condition(failed: usize, invalid: Option<&str>) -> PushSecretStatusCondition {
    let (status, reason, message) = match (invalid, failed) {
        (Some(m), _) => (ConditionStatus::False, reasons::ERRORED, m.to_string()),
        (None, 0) => (
            ConditionStatus::True,
            reasons::SYNCED,
            "PushSecrets provisioned in every selected namespace".to_string(),
        ),
        (None, n) => (
            ConditionStatus::False,
            reasons::ERRORED,
            format!("{n} namespace(s) failed, see status.failedNamespaces"),
        ),
    };
    PushSecretStatusCondition {
        type_: reasons::READY.to_string(),
        status,
        reason: Some(reason.to_string()),
        message: Some(message),
        last_transition_time: None,
    }
}

/// The message of a child's `Ready=False` condition.
fn child_failure(child: &PushSecret) -> Option<String> {
    let c = child
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == reasons::READY)?;
    (c.status == ConditionStatus::False).then(|| c.message.clone().unwrap_or_default())
}

async fn reconcile(
    cps: Arc<ClusterPushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let working = ctx.metrics.runtime.queued(CONTROLLER).start();
    let started = std::time::Instant::now();
    let result = provision(&cps, &ctx).await;
    if cps.meta().deletion_timestamp.is_some() {
        ctx.metrics
            .forget(ObjectKind::ClusterPushSecret, "", &cps.name_any());
    } else {
        ctx.metrics.object_reconciled(
            ObjectKind::ClusterPushSecret,
            "",
            &cps.name_any(),
            started.elapsed().as_secs_f64(),
        );
    }
    working.finish(match &result {
        Ok(action) => ReconcileResult::of(false, action),
        Err(_) => ReconcileResult::error,
    });
    result
}

async fn provision(cps: &ClusterPushSecret, ctx: &Context) -> Result<Action, ReconcileError> {
    if cps.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = cps
        .spec
        .push_secret_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| cps.name_any());
    let manager = format!("clusterpushsecrets.external-secrets.io/{}", cps.name_any());
    let interval = cps
        .spec
        .refresh_time
        .as_deref()
        .and_then(|r| parse_go_duration(r).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(ctx.config.cluster_external_secret_interval);
    let problems = validate_cluster_push_secret(&cps.spec);
    let invalid = problems
        .first()
        .map(|p| format!("ClusterPushSecret {}: {p}", cps.name_any()));

    let mut provisioned = BTreeSet::new();
    let mut failed = Vec::new();
    if invalid.is_none() {
        let namespaces = Api::<Namespace>::all(ctx.client.clone())
            .list(&ListParams::default())
            .await?;
        let metadata = cps.spec.push_secret_metadata.clone().unwrap_or_default();
        for ns in namespaces
            .items
            .iter()
            .filter(|n| n.meta().deletion_timestamp.is_none())
        {
            let ns_name = ns.name_any();
            match any_selects(&cps.spec.namespace_selectors, ns) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(message) => {
                    failed.push(ClusterPushSecretNamespaceFailure {
                        namespace: ns_name,
                        reason: Some(message),
                    });
                    continue;
                }
            }
            let api: Api<PushSecret> = Api::namespaced(ctx.client.clone(), &ns_name);
            if let Some(existing) = api.get_opt(&name).await?
                && !owned_by(&existing, cps)
            {
                failed.push(ClusterPushSecretNamespaceFailure {
                    namespace: ns_name,
                    reason: Some(format!(
                        "PushSecret {name} already exists and is not managed by this ClusterPushSecret"
                    )),
                });
                continue;
            }
            let body = json!({
                "apiVersion": "external-secrets.io/v1alpha1",
                "kind": "PushSecret",
                "metadata": {
                    "name": name,
                    "namespace": ns_name,
                    "labels": metadata.labels,
                    "annotations": metadata.annotations,
                    "ownerReferences": [{
                        "apiVersion": "external-secrets.io/v1alpha1",
                        "kind": "ClusterPushSecret",
                        "name": cps.name_any(),
                        "uid": cps.meta().uid.clone().unwrap_or_default(),
                        "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                },
                "spec": cps.spec.push_secret_spec,
            });
            match api
                .patch(
                    &name,
                    &PatchParams::apply(&manager).force(),
                    &Patch::Apply(body),
                )
                .await
            {
                Ok(child) => {
                    // A child whose push fails is reported too (secretsync extension: ESO
                    // lists only namespaces where the PushSecret could not be applied).
                    if let Some(message) = child_failure(&child) {
                        failed.push(ClusterPushSecretNamespaceFailure {
                            namespace: ns_name.clone(),
                            reason: Some(format!("PushSecret {name}: {message}")),
                        });
                    }
                    provisioned.insert(ns_name);
                }
                Err(e) => failed.push(ClusterPushSecretNamespaceFailure {
                    namespace: ns_name,
                    reason: Some(format!(
                        "applying PushSecret {name}: {}",
                        crate::sanitize::api_error(&e)
                    )),
                }),
            }
        }
    }
    // Children in namespaces that are no longer selected.
    let previous = cps
        .status
        .clone()
        .unwrap_or_default()
        .provisioned_namespaces;
    for ns in previous.iter().filter(|n| !provisioned.contains(*n)) {
        let api: Api<PushSecret> = Api::namespaced(ctx.client.clone(), ns);
        if let Some(existing) = api.get_opt(&name).await?
            && owned_by(&existing, cps)
        {
            let _ = api.delete(&name, &DeleteParams::default()).await;
        }
    }
    failed.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let condition = ready_condition(failed.len(), invalid.as_deref());
    let ready = condition.status == ConditionStatus::True;
    let status = ClusterPushSecretStatus {
        push_secret_name: Some(name),
        provisioned_namespaces: provisioned.into_iter().collect(),
        conditions: vec![condition],
        failed_namespaces: failed,
    };
    ctx.metrics
        .set_ready(ObjectKind::ClusterPushSecret, "", &cps.name_any(), ready);
    patch_fan_out_status::<ClusterPushSecret, _>(
        &ctx.client,
        &cps.name_any(),
        cps.status.as_ref(),
        &status,
    )
    .await?;
    Ok(Action::requeue(interval))
}

fn error_policy(_: Arc<ClusterPushSecret>, error: &ReconcileError, _: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "ClusterPushSecret reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// The ClusterPushSecret controller, stopping gracefully on `shutdown`; its cache and watches
/// join `lists` ([`super::fan_out`]).
pub(crate) fn run(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
) -> BoxFuture<'static, ()> {
    super::fan_out::run::<ClusterPushSecret, PushSecret, _>(
        ctx,
        lists,
        shutdown,
        ObjectKind::ClusterPushSecret,
        reconcile,
        error_policy,
    )
}
