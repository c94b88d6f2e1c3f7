//! One pass of a fan-out parent over the namespaces: its child server-side applied in every
//! selected namespace, a namespace whose child cannot be applied (or is not the parent's)
//! reported, and the children of namespaces no longer selected deleted. ClusterExternalSecret
//! and ClusterPushSecret differ only in what they select and stamp ([`ChildTemplate`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::{
    ClusterResourceScope, NamespaceResourceScope, PartialObjectMeta, Selector, SelectorExt,
};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::FanOutContext;

/// What a fan-out parent keeps in each namespace it selects (the child's kind comes from its
/// Rust type).
#[derive(Debug, Clone)]
pub(crate) struct ChildTemplate {
    /// The child's name, the same in every namespace.
    pub name: String,
    /// The child's `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The child's `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The child's `spec`.
    pub spec: serde_json::Value,
}

/// Where a parent's children stand after one pass.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Provisioned {
    /// The namespaces that hold the parent's child.
    pub namespaces: BTreeSet<String>,
    /// `(namespace, reason)` for each selected namespace that does not, by namespace.
    pub failed: Vec<(String, String)>,
}

/// Whether any of `selectors` (ORed) matches the namespace's labels; an invalid selector is an
/// error naming its position.
pub(crate) fn any_selects<'a>(
    selectors: impl IntoIterator<Item = &'a LabelSelector>,
    ns: &impl Resource,
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

/// Whether `child` is controlled by the object with `parent_uid`.
pub(crate) fn controlled_by(child: &impl Resource, parent_uid: Option<&String>) -> bool {
    parent_uid.is_some_and(|uid| {
        child
            .owner_references()
            .iter()
            .any(|o| o.controller == Some(true) && &o.uid == uid)
    })
}

/// The server-side apply body of `parent`'s child in `namespace`: the template under a
/// controller ownerReference to the parent.
pub(crate) fn child_body<P, C>(
    parent: &P,
    template: &ChildTemplate,
    namespace: &str,
) -> serde_json::Value
where
    P: Resource<DynamicType = ()>,
    C: Resource<DynamicType = ()>,
{
    json!({
        "apiVersion": C::api_version(&()),
        "kind": C::kind(&()),
        "metadata": {
            "name": template.name,
            "namespace": namespace,
            "labels": template.labels,
            "annotations": template.annotations,
            "ownerReferences": [{
                "apiVersion": P::api_version(&()),
                "kind": P::kind(&()),
                "name": parent.name_any(),
                "uid": parent.meta().uid.clone().unwrap_or_default(),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": template.spec,
    })
}

/// One pass of `parent` (kind `P`) over the cluster's namespaces, keeping a child of kind `C`
/// from `template` in each namespace `select` accepts (limited to the operator's namespace when
/// it has one). A child that exists but is not controlled by the parent is left alone and
/// reported; a child applied but failing by `child_failure` is reported too. The children in
/// `previous` namespaces no longer provisioned are deleted when the parent controls them.
/// Reasons hold no value from the API server ([`crate::sanitize::api_error`]). `None`, doing
/// nothing, while the namespace cache has not listed: every previous namespace would look
/// unselected.
pub(crate) async fn provision<P, C>(
    fan_out: &FanOutContext,
    parent: &P,
    template: &ChildTemplate,
    previous: &[String],
    select: impl Fn(&PartialObjectMeta<Namespace>) -> Result<bool, String>,
    child_failure: impl Fn(&C) -> Option<String>,
) -> Result<Option<Provisioned>, kube::Error>
where
    P: Resource<DynamicType = (), Scope = ClusterResourceScope>,
    C: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let (kind, parent_kind, name) = (C::kind(&()), P::kind(&()), &template.name);
    let manager = format!("{}.{}/{}", P::plural(&()), P::group(&()), parent.name_any());
    let uid = parent.meta().uid.as_ref();
    if !crate::cache::listed(&fan_out.namespaces) {
        return Ok(None);
    }
    let ctx = &fan_out.ctx;
    let mut namespaces = fan_out.namespaces.state();
    namespaces.sort_by_key(|n| n.name_any());
    let mut out = Provisioned::default();
    for ns in namespaces
        .iter()
        .filter(|n| n.meta().deletion_timestamp.is_none())
    {
        let ns_name = ns.name_any();
        if ctx
            .config
            .namespace
            .as_ref()
            .is_some_and(|scope| *scope != ns_name)
        {
            continue;
        }
        match select(ns.as_ref()) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(reason) => {
                out.failed.push((ns_name, reason));
                continue;
            }
        }
        let api: Api<C> = Api::namespaced(ctx.client.clone(), &ns_name);
        if let Some(existing) = api.get_opt(name).await?
            && !controlled_by(&existing, uid)
        {
            out.failed.push((
                ns_name,
                format!("{kind} {name} already exists and is not managed by this {parent_kind}"),
            ));
            continue;
        }
        let body = child_body::<P, C>(parent, template, &ns_name);
        match api
            .patch(
                name,
                &PatchParams::apply(&manager).force(),
                &Patch::Apply(body),
            )
            .await
        {
            Ok(child) => {
                if let Some(message) = child_failure(&child) {
                    out.failed
                        .push((ns_name.clone(), format!("{kind} {name}: {message}")));
                }
                out.namespaces.insert(ns_name);
            }
            Err(e) => out.failed.push((
                ns_name,
                format!("applying {kind} {name}: {}", crate::sanitize::api_error(&e)),
            )),
        }
    }
    for ns in previous.iter().filter(|n| !out.namespaces.contains(*n)) {
        let api: Api<C> = Api::namespaced(ctx.client.clone(), ns);
        if let Some(existing) = api.get_opt(name).await?
            && controlled_by(&existing, uid)
        {
            let _ = api.delete(name, &DeleteParams::default()).await;
        }
    }
    out.failed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::cluster_external_secret::ClusterExternalSecret;
    use secretsync_model::external_secret::ExternalSecret;
    use secretsync_model::push_secret::{ClusterPushSecret, PushSecret};

    fn namespace(labels: serde_json::Value) -> Namespace {
        serde_json::from_value(json!({"metadata": {"name": "team-a", "labels": labels}}))
            .expect("Namespace")
    }

    fn selector(value: serde_json::Value) -> LabelSelector {
        serde_json::from_value(value).expect("LabelSelector")
    }

    #[test]
    fn selectors_are_ored_and_an_invalid_one_names_its_position() {
        let ns = namespace(json!({"team": "a", "tier": "prod"}));
        let team_b = selector(json!({"matchLabels": {"team": "b"}}));
        let prod = selector(json!({"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["prod"]}]}));
        let invalid = selector(json!({"matchExpressions": [
            {"key": "tier", "operator": "Sometimes", "values": ["prod"]}]}));
        for (selectors, expected) in [
            (vec![], Ok(false)),
            (vec![&team_b], Ok(false)),
            (vec![&team_b, &prod], Ok(true)),
            (vec![&prod, &invalid], Ok(true)),
        ] {
            assert_eq!(
                any_selects(selectors.clone(), &ns),
                expected,
                "{selectors:?}"
            );
        }
        let error = any_selects([&team_b, &invalid], &ns).expect_err("invalid operator");
        assert!(error.starts_with("namespace selector 1: "), "{error}");
    }

    fn child_owned_by(uid: &str, controller: Option<bool>) -> ExternalSecret {
        serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "c", "namespace": "team-a", "ownerReferences": [{
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
                "name": "p", "uid": uid, "controller": controller}]},
            "spec": {}
        }))
        .expect("ExternalSecret")
    }

    #[test]
    fn only_a_controller_reference_with_the_parents_uid_makes_a_child() {
        let uid = "u-1".to_string();
        for (child, parent, expected) in [
            (child_owned_by("u-1", Some(true)), Some(&uid), true),
            (child_owned_by("u-1", None), Some(&uid), false),
            (child_owned_by("u-1", Some(false)), Some(&uid), false),
            (child_owned_by("u-2", Some(true)), Some(&uid), false),
            // A parent without a uid (not yet created) controls nothing.
            (child_owned_by("", Some(true)), None, false),
        ] {
            assert_eq!(controlled_by(&child, parent), expected, "{parent:?}");
        }
    }

    fn template() -> ChildTemplate {
        ChildTemplate {
            name: "db".to_string(),
            labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
            annotations: BTreeMap::new(),
            spec: json!({"refreshInterval": "1h"}),
        }
    }

    #[test]
    fn the_child_is_the_template_under_a_controller_reference_to_its_parent() {
        let ces: ClusterExternalSecret = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "fan", "uid": "u-1"}, "spec": {"externalSecretSpec": {}}
        }))
        .expect("ClusterExternalSecret");
        let body = child_body::<_, ExternalSecret>(&ces, &template(), "team-a");
        assert_eq!(
            body,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "db", "namespace": "team-a", "labels": {"team": "a"},
                    "annotations": {}, "ownerReferences": [{
                        "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
                        "name": "fan", "uid": "u-1", "controller": true,
                        "blockOwnerDeletion": true}]},
                "spec": {"refreshInterval": "1h"}
            })
        );
        let child: ExternalSecret = serde_json::from_value(body).expect("a valid child");
        assert!(controlled_by(&child, ces.meta().uid.as_ref()));

        let cps: ClusterPushSecret = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "ClusterPushSecret",
            "metadata": {"name": "fan", "uid": "u-2"},
            "spec": {"pushSecretSpec": {"secretStoreRefs": [], "selector": {}}}
        }))
        .expect("ClusterPushSecret");
        let body = child_body::<_, PushSecret>(&cps, &template(), "team-b");
        assert_eq!(body["apiVersion"], "external-secrets.io/v1alpha1");
        assert_eq!(body["kind"], "PushSecret");
        assert_eq!(
            body["metadata"]["ownerReferences"][0]["kind"],
            "ClusterPushSecret"
        );
        assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], "u-2");
    }
}
