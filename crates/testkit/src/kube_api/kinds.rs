//! Type-specific write hooks: Secret/ConfigMap validation, Namespace and CRD status,
//! custom-resource schema handling, and what controllers create in new namespaces.

use super::objects::{WriteCtx, create};
use super::registry::{ResourceType, Special, type_from_crd};
use super::state::State;
use super::status::{ApiError, ApiResult};
use super::util::now_rfc3339;
use super::validation::{prepare_configmap, prepare_secret};
use serde_json::{Value, json};

/// Normalises and validates an object of type `rt` before it is stored.
pub fn prepare(
    state: &State,
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    name: &str,
    ctx: &WriteCtx,
) -> ApiResult<()> {
    let meta_causes = super::metadata::validate(obj);
    if !meta_causes.is_empty() {
        return Err(ApiError::invalid(&rt.group, &rt.kind, name, meta_causes));
    }
    match rt.special {
        Special::Secret => prepare_secret(obj, old, name),
        Special::ConfigMap => prepare_configmap(obj, old, name),
        Special::Namespace => {
            if old.is_none() {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                obj["status"] = json!({"phase": "Active"});
            }
            Ok(())
        }
        Special::Crd => {
            let t = type_from_crd(obj).map_err(|msg| {
                ApiError::invalid(
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    name,
                    vec![super::status::Cause {
                        reason: "FieldValueInvalid",
                        message: msg.clone(),
                        field: "spec".into(),
                    }],
                )
            })?;
            if let Some(existing) = state.registry.by_plural(&t.group, &t.plural)
                && existing.special != Special::Custom
            {
                return Err(ApiError::invalid(
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    name,
                    vec![super::status::Cause {
                        reason: "FieldValueInvalid",
                        message: "Invalid value: collides with a built-in resource".into(),
                        field: "spec.names.plural".into(),
                    }],
                ));
            }
            let names = obj["spec"]["names"].clone();
            let stored: Vec<Value> = t.versions.iter().map(|v| json!(v)).collect();
            obj["status"] = json!({
                "acceptedNames": names,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "message": "no conflicts found", "lastTransitionTime": now_rfc3339()},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted", "lastTransitionTime": now_rfc3339()}
                ],
                "storedVersions": [t.storage_version.clone()],
            });
            let _ = stored;
            Ok(())
        }
        Special::Custom => {
            if let Some(schema) = &rt.schema {
                let pruned = super::schema::prune(obj, schema, true);
                if ctx.strict && !pruned.is_empty() {
                    let fields: Vec<String> = pruned
                        .iter()
                        .map(|p| format!("unknown field \"{p}\""))
                        .collect();
                    return Err(ApiError::bad_request(format!(
                        "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                        fields.join(", "),
                        kind = rt.kind,
                        v = ctx.version
                    )));
                }
                super::schema::apply_defaults(obj, schema);
                let mut violations = super::schema::validate(obj, schema);
                if violations.is_empty() {
                    violations = super::cel::validate(obj, schema);
                }
                if !violations.is_empty() {
                    let causes = violations
                        .into_iter()
                        .map(|(field, reason, message)| super::status::Cause {
                            reason,
                            message,
                            field,
                        })
                        .collect();
                    return Err(ApiError::invalid(&rt.group, &rt.kind, name, causes));
                }
            }
            Ok(())
        }
        Special::None => Ok(()),
    }
}

/// What the service-account and root-CA controllers create in every new namespace.
pub fn populate_namespace(state: &mut State, namespace: &str) {
    let ctx = WriteCtx {
        manager: "kube-controller-manager".into(),
        version: "v1".into(),
        subresource: None,
        dry_run: false,
        strict: false,
    };
    if let Some(sa) = state.registry.by_plural("", "serviceaccounts") {
        let obj =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
        let _ = create(state, &sa, Some(namespace), obj, &ctx, None);
    }
    if let (Some(cm), Some(ca)) = (
        state.registry.by_plural("", "configmaps"),
        state.root_ca_pem.clone(),
    ) {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": ca}});
        let _ = create(state, &cm, Some(namespace), obj, &ctx, None);
    }
}
