//! ClusterPushSecret: stamps a PushSecret into every namespace selected by
//! `namespaceSelectors` (ORed), as ESO's `clusterpushsecret_controller.go`.
//!
//! Each child is server-side applied (field manager
//! `clusterpushsecrets.external-secrets.io/<name>`) with a controller ownerReference and
//! `pushSecretMetadata`; a namespace that already has a PushSecret of that name not controlled
//! by this ClusterPushSecret, or where applying fails, is reported in
//! `status.failedNamespaces`. Children in namespaces no longer selected are deleted (their
//! `deletionPolicy` then applies). Namespace changes re-evaluate every ClusterPushSecret.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use secretsync_model::meta::ConditionStatus;
use secretsync_model::push_secret::{
    ClusterPushSecret, ClusterPushSecretNamespaceFailure, ClusterPushSecretStatus, PushSecret,
    PushSecretStatusCondition, reasons, validate_cluster_push_secret,
};

use super::fan_out::{
    self, ChildTemplate, FanOutContext, NAMESPACES_NOT_LISTED_RETRY, Provisioned,
};
use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;

const CONTROLLER: &str = "clusterpushsecret";

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

/// The message of a child's `Ready=False` condition (secretsync extension: ESO lists only
/// namespaces where the PushSecret could not be applied).
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
    fan_out: Arc<FanOutContext>,
) -> Result<Action, ReconcileError> {
    fan_out::measured(
        cps.as_ref(),
        &fan_out.ctx,
        ObjectKind::ClusterPushSecret,
        CONTROLLER,
        provision(&cps, &fan_out),
    )
    .await
}

async fn provision(
    cps: &ClusterPushSecret,
    fan_out: &FanOutContext,
) -> Result<Action, ReconcileError> {
    let ctx = &fan_out.ctx;
    if cps.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let interval = fan_out::refresh_interval(
        cps.spec.refresh_time.as_deref(),
        ctx.config.cluster_external_secret_interval,
    );
    let metadata = cps.spec.push_secret_metadata.clone().unwrap_or_default();
    let template = ChildTemplate {
        name: cps
            .spec
            .push_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| cps.name_any()),
        labels: metadata.labels,
        annotations: metadata.annotations,
        spec: serde_json::to_value(&cps.spec.push_secret_spec).map_err(kube::Error::SerdeError)?,
    };
    let invalid = validate_cluster_push_secret(&cps.spec)
        .first()
        .map(|p| format!("ClusterPushSecret {}: {p}", cps.name_any()));
    let previous = cps
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.as_slice())
        .unwrap_or_default();
    // An invalid ClusterPushSecret selects no namespace (and so removes the children it had).
    let Some(outcome) = fan_out::provision(
        fan_out,
        cps,
        &template,
        previous,
        |ns| match invalid {
            Some(_) => Ok(false),
            None => fan_out::any_selects(&cps.spec.namespace_selectors, ns),
        },
        child_failure,
    )
    .await?
    else {
        // (requeued shortly: the namespace watch lists within moments of the start)
        return Ok(Action::requeue(NAMESPACES_NOT_LISTED_RETRY));
    };
    let Provisioned { namespaces, failed } = outcome;
    let condition = ready_condition(failed.len(), invalid.as_deref());
    let ready = condition.status == ConditionStatus::True;
    let status = ClusterPushSecretStatus {
        push_secret_name: Some(template.name),
        provisioned_namespaces: namespaces.into_iter().collect(),
        conditions: vec![condition],
        failed_namespaces: failed
            .into_iter()
            .map(|(namespace, reason)| ClusterPushSecretNamespaceFailure {
                namespace,
                reason: Some(reason),
            })
            .collect(),
    };
    ctx.metrics
        .set_ready(ObjectKind::ClusterPushSecret, "", &cps.name_any(), ready);
    fan_out::patch_status::<ClusterPushSecret, _>(
        &ctx.client,
        &cps.name_any(),
        cps.status.as_ref(),
        &status,
    )
    .await?;
    Ok(Action::requeue(interval))
}

fn error_policy(
    _: Arc<ClusterPushSecret>,
    error: &ReconcileError,
    _: Arc<FanOutContext>,
) -> Action {
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
    fan_out::run::<ClusterPushSecret, PushSecret, _>(
        ctx,
        lists,
        shutdown,
        ObjectKind::ClusterPushSecret,
        reconcile,
        error_policy,
    )
}
