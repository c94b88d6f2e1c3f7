//! ClusterExternalSecret: stamps an ExternalSecret into every selected namespace.
//!
//! Namespaces are selected by `namespaceSelectors` (ORed), the deprecated `namespaceSelector`
//! and the deprecated `namespaces` list. Each child is server-side applied (field manager
//! `clusterexternalsecrets.external-secrets.io/<name>`) with a controller ownerReference; a
//! namespace that already has an ExternalSecret of that name not controlled by this
//! ClusterExternalSecret is reported in `status.failedNamespaces`. Children in namespaces no
//! longer selected are deleted. Any Namespace change re-evaluates every ClusterExternalSecret.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use secretsync_model::cluster_external_secret::{
    ClusterExternalSecret, ClusterExternalSecretCondition, ClusterExternalSecretStatus,
    NamespaceFailure,
};
use secretsync_model::external_secret::{ExternalSecret, labels};
use secretsync_model::meta::ConditionStatus;

use super::fan_out::{self, ChildTemplate, FanOutContext, NAMESPACES_NOT_LISTED_RETRY};
use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;

const CONTROLLER: &str = "clusterexternalsecret";

/// Whether the ClusterExternalSecret selects the namespace: listed in the deprecated
/// `namespaces`, or matched by a selector of `namespaceSelectors` or the deprecated
/// `namespaceSelector` (ORed).
fn selected(ces: &ClusterExternalSecret, ns: &impl Resource) -> Result<bool, String> {
    if ces.spec.namespaces.contains(&ns.name_any()) {
        return Ok(true);
    }
    let selectors = ces
        .spec
        .namespace_selectors
        .iter()
        .chain(ces.spec.namespace_selector.iter());
    fan_out::any_selects(selectors, ns)
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

/// The `Ready` condition for the number of failed namespaces (ESO: `True` when none failed).
fn ready_condition(failed: usize) -> ClusterExternalSecretCondition {
    let ready = failed == 0;
    ClusterExternalSecretCondition {
        type_: "Ready".to_string(),
        status: if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        message: Some(if ready {
            "ExternalSecrets provisioned in every selected namespace".to_string()
        } else {
            format!("{failed} namespace(s) failed, see status.failedNamespaces")
        }),
    }
}

async fn reconcile(
    ces: Arc<ClusterExternalSecret>,
    fan_out: Arc<FanOutContext>,
) -> Result<Action, ReconcileError> {
    fan_out::measured(
        ces.as_ref(),
        &fan_out.ctx,
        ObjectKind::ClusterExternalSecret,
        CONTROLLER,
        provision(&ces, &fan_out),
    )
    .await
}

/// Provisions the ExternalSecrets of the selected namespaces and reports the status.
async fn provision(
    ces: &ClusterExternalSecret,
    fan_out: &FanOutContext,
) -> Result<Action, ReconcileError> {
    let ctx = &fan_out.ctx;
    if ces.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let interval = fan_out::refresh_interval(
        ces.spec.refresh_time.as_deref(),
        ctx.config.cluster_external_secret_interval,
    );
    let metadata = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    let template = ChildTemplate {
        name: ces
            .spec
            .external_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| ces.name_any()),
        annotations: child_annotations(ces, &metadata.annotations),
        labels: metadata.labels,
        spec: serde_json::to_value(&ces.spec.external_secret_spec)
            .map_err(kube::Error::SerdeError)?,
    };
    let previous = ces
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.as_slice())
        .unwrap_or_default();
    // (ESO reports only the namespaces where the child could not be applied.)
    let Some(outcome) = fan_out::provision(
        fan_out,
        ces,
        &template,
        previous,
        |ns| selected(ces, ns),
        |_: &ExternalSecret| None,
    )
    .await?
    else {
        // (requeued shortly: the namespace watch lists within moments of the start)
        return Ok(Action::requeue(NAMESPACES_NOT_LISTED_RETRY));
    };
    let condition = ready_condition(outcome.failed.len());
    let ready = condition.status == ConditionStatus::True;
    let status = ClusterExternalSecretStatus {
        external_secret_name: Some(template.name),
        provisioned_namespaces: outcome.namespaces.into_iter().collect(),
        conditions: vec![condition],
        failed_namespaces: outcome
            .failed
            .into_iter()
            .map(|(namespace, reason)| NamespaceFailure {
                namespace,
                reason: Some(reason),
            })
            .collect(),
    };
    ctx.metrics.set_ready(
        ObjectKind::ClusterExternalSecret,
        "",
        &ces.name_any(),
        ready,
    );
    fan_out::patch_status::<ClusterExternalSecret, _>(
        &ctx.client,
        &ces.name_any(),
        ces.status.as_ref(),
        &status,
    )
    .await?;
    Ok(Action::requeue(interval))
}

fn error_policy(
    _: Arc<ClusterExternalSecret>,
    error: &ReconcileError,
    _: Arc<FanOutContext>,
) -> Action {
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
    fan_out::run::<ClusterExternalSecret, ExternalSecret, _>(
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
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::json;

    fn selecting(spec: serde_json::Value) -> ClusterExternalSecret {
        let mut spec = spec;
        spec["externalSecretSpec"] = json!({});
        serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "c"}, "spec": spec
        }))
        .expect("ClusterExternalSecret")
    }

    #[test]
    fn namespaces_are_selected_by_name_or_by_any_selector_old_or_new() {
        let ns: Namespace = serde_json::from_value(
            json!({"metadata": {"name": "team-a", "labels": {"team": "a"}}}),
        )
        .expect("Namespace");
        for (spec, expected) in [
            (json!({}), Ok(false)),
            (json!({"namespaces": ["team-b", "team-a"]}), Ok(true)),
            (json!({"namespaces": ["team-b"]}), Ok(false)),
            (
                json!({"namespaceSelector": {"matchLabels": {"team": "a"}}}),
                Ok(true),
            ),
            (
                json!({"namespaceSelectors": [{"matchLabels": {"team": "b"}}],
                       "namespaceSelector": {"matchLabels": {"team": "a"}}}),
                Ok(true),
            ),
            (
                json!({"namespaceSelectors": [{"matchLabels": {"team": "b"}}]}),
                Ok(false),
            ),
            (
                json!({"namespaceSelectors": [{"matchExpressions": [
                    {"key": "team", "operator": "In"}]}]}),
                Err(
                    "namespace selector 0: failed to parse value as expression: \
                     Expected values for In operator, got none"
                        .to_string(),
                ),
            ),
        ] {
            assert_eq!(selected(&selecting(spec.clone()), &ns), expected, "{spec}");
        }
    }

    #[test]
    fn ready_only_when_no_namespace_failed() {
        let ok = ready_condition(0);
        assert_eq!(ok.status, ConditionStatus::True);
        let failed = ready_condition(2);
        assert_eq!(failed.status, ConditionStatus::False);
        assert_eq!(
            failed.message.as_deref(),
            Some("2 namespace(s) failed, see status.failedNamespaces")
        );
    }

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
