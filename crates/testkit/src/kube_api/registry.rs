//! The resource types the double serves: built-ins plus CustomResourceDefinitions.

use super::ssa::values::{ListKind, ListTypes};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Type-specific behaviour hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// No special behaviour.
    None,
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Secret.
    Secret,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition.
    Crd,
    /// A custom resource.
    Custom,
}

/// One served resource.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Served versions; the first is the preferred version.
    pub versions: Vec<String>,
    /// The version objects are stored in.
    pub storage_version: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// List kind.
    pub list_kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names for discovery.
    pub short_names: Vec<String>,
    /// Categories for discovery.
    pub categories: Vec<String>,
    /// Whether a `status` subresource is served.
    pub status_subresource: bool,
    /// Whether `metadata.generation` tracks spec changes.
    pub tracks_generation: bool,
    /// Special behaviour.
    pub special: Special,
    /// The storage version's openAPIV3Schema (CRDs) for list semantics.
    pub schema: Option<Value>,
}

impl ResourceType {
    /// `group/version` (or `version` for core).
    pub fn group_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short: &[&str],
    ) -> Self {
        Self {
            group: group.into(),
            versions: vec![version.into()],
            storage_version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            status_subresource: false,
            tracks_generation: false,
            special: Special::None,
            schema: None,
        }
    }

    /// Discovery entries (`APIResource`) for this type, including subresources.
    pub fn discovery_entries(&self) -> Vec<Value> {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        if self.special != Special::Namespace {
            verbs.insert(1, "deletecollection");
        }
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut out = vec![main];
        if self.status_subresource {
            out.push(json!({"name": format!("{}/status", self.plural), "singularName": "",
                "namespaced": self.namespaced, "kind": self.kind, "verbs": ["get", "patch", "update"]}));
        }
        if self.plural == "serviceaccounts" && self.group.is_empty() {
            out.push(json!({"name": "serviceaccounts/token", "singularName": "", "namespaced": true,
                "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}));
        }
        out
    }
}

/// Default list semantics for well-known paths; CRD schemas override them.
impl ListTypes for ResourceType {
    fn list_kind(&self, path: &[String]) -> ListKind {
        let joined = path.join(".");
        match joined.as_str() {
            "metadata.ownerReferences" => return ListKind::Map(vec!["uid".into()]),
            "metadata.finalizers" => return ListKind::Set,
            _ => {}
        }
        if let Some(kind) = self.schema.as_ref().and_then(|s| schema_list_kind(s, path)) {
            return kind;
        }
        match (self.special, joined.as_str()) {
            (Special::Custom, "status.conditions") => ListKind::Map(vec!["type".into()]),
            (Special::Crd, "spec.versions") => ListKind::Map(vec!["name".into()]),
            (Special::Crd, "status.conditions") => ListKind::Map(vec!["type".into()]),
            (Special::Namespace, "status.conditions") => ListKind::Map(vec!["type".into()]),
            (Special::None, "secrets") if self.plural == "serviceaccounts" => {
                ListKind::Map(vec!["name".into()])
            }
            _ => ListKind::Atomic,
        }
    }
}

/// Walks an openAPIV3Schema to the node at `path` and reads `x-kubernetes-list-type`.
fn schema_list_kind(schema: &Value, path: &[String]) -> Option<ListKind> {
    let mut node = schema;
    for seg in path {
        node = if seg == "[]" {
            node.get("items")?
        } else {
            match node.get("properties").and_then(|p| p.get(seg)) {
                Some(n) => n,
                None => node.get("additionalProperties").filter(|a| a.is_object())?,
            }
        };
    }
    match node.get("x-kubernetes-list-type")?.as_str()? {
        "atomic" => Some(ListKind::Atomic),
        "set" => Some(ListKind::Set),
        "map" => Some(ListKind::Map(
            node.get("x-kubernetes-list-map-keys")?
                .as_array()?
                .iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect(),
        )),
        _ => None,
    }
}

/// All served resource types, keyed by `(group, plural)`.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<(String, String), Arc<ResourceType>>,
}

impl Registry {
    /// The built-in types.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        let mut ns = ResourceType::builtin("", "v1", "namespaces", "Namespace", false, &["ns"]);
        ns.special = Special::Namespace;
        ns.status_subresource = true;
        let mut secret = ResourceType::builtin("", "v1", "secrets", "Secret", true, &[]);
        secret.special = Special::Secret;
        let mut cm = ResourceType::builtin("", "v1", "configmaps", "ConfigMap", true, &["cm"]);
        cm.special = Special::ConfigMap;
        let sa =
            ResourceType::builtin("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]);
        let ev = ResourceType::builtin("", "v1", "events", "Event", true, &["ev"]);
        let lease =
            ResourceType::builtin("coordination.k8s.io", "v1", "leases", "Lease", true, &[]);
        let ev2 = ResourceType::builtin("events.k8s.io", "v1", "events", "Event", true, &["ev"]);
        let mut crd = ResourceType::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
        );
        crd.special = Special::Crd;
        crd.status_subresource = true;
        crd.tracks_generation = true;
        for t in [ns, secret, cm, sa, ev, lease, ev2, crd] {
            r.insert(t);
        }
        // Stored as plain objects (no controllers run them): enough to apply deploy/ manifests.
        let mut deploy =
            ResourceType::builtin("apps", "v1", "deployments", "Deployment", true, &["deploy"]);
        deploy.status_subresource = true;
        deploy.tracks_generation = true;
        let mut pdb = ResourceType::builtin(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            &["pdb"],
        );
        pdb.status_subresource = true;
        let rbac = "rbac.authorization.k8s.io";
        for t in [
            ResourceType::builtin("", "v1", "services", "Service", true, &["svc"]),
            ResourceType::builtin(
                "networking.k8s.io",
                "v1",
                "networkpolicies",
                "NetworkPolicy",
                true,
                &["netpol"],
            ),
            deploy,
            pdb,
            ResourceType::builtin(rbac, "v1", "clusterroles", "ClusterRole", false, &[]),
            ResourceType::builtin(
                rbac,
                "v1",
                "clusterrolebindings",
                "ClusterRoleBinding",
                false,
                &[],
            ),
            ResourceType::builtin(rbac, "v1", "roles", "Role", true, &[]),
            ResourceType::builtin(rbac, "v1", "rolebindings", "RoleBinding", true, &[]),
        ] {
            r.insert(t);
        }
        r
    }

    /// Adds or replaces a type.
    pub fn insert(&mut self, t: ResourceType) {
        self.types
            .insert((t.group.clone(), t.plural.clone()), Arc::new(t));
    }

    /// Removes a type.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.types.remove(&(group.to_string(), plural.to_string()));
    }

    /// Looks a type up by group, version and plural; the version must be served.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.versions.iter().any(|v| v == version))
            .cloned()
    }

    /// Looks a type up by group and plural.
    pub fn by_plural(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .cloned()
    }

    /// Every type.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }
}

/// Builds the resource type a CRD object declares; `Err` names the offending field.
pub fn type_from_crd(crd: &Value) -> Result<ResourceType, String> {
    let spec = crd.get("spec").ok_or("spec: Required value")?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let group = s(spec.get("group"));
    let names = spec.get("names").ok_or("spec.names: Required value")?;
    let plural = s(names.get("plural"));
    let kind = s(names.get("kind"));
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err("spec.group, spec.names.plural and spec.names.kind are required".into());
    }
    let expected = format!("{plural}.{group}");
    let name = crd
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name != expected {
        return Err(format!(
            "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
        ));
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .ok_or("spec.versions: Required value")?;
    let served: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .collect();
    let storage = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool).unwrap_or(false))
        .ok_or(
            "spec.versions: Invalid value: must have exactly one version marked as storage version",
        )?;
    let status_subresource = versions.iter().any(|v| {
        v.get("subresources")
            .and_then(|s| s.get("status"))
            .is_some()
    });
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(ResourceType {
        group,
        versions: served.iter().map(|v| s(v.get("name"))).collect(),
        storage_version: s(storage.get("name")),
        singular: match s(names.get("singular")) {
            x if x.is_empty() => kind.to_lowercase(),
            x => x,
        },
        list_kind: match s(names.get("listKind")) {
            x if x.is_empty() => format!("{kind}List"),
            x => x,
        },
        plural,
        kind,
        namespaced: s(spec.get("scope")) != "Cluster",
        short_names: list(names.get("shortNames")),
        categories: list(names.get("categories")),
        status_subresource,
        tracks_generation: true,
        special: Special::Custom,
        schema: storage
            .get("schema")
            .and_then(|s| s.get("openAPIV3Schema"))
            .cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_schema_list_types_are_honoured() {
        let crd = json!({"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced",
            "names":{"plural":"widgets","kind":"Widget"},
            "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
              "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{
                "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["port"],
                  "items":{"type":"object"}}}}}}}}]}});
        let t = type_from_crd(&crd).expect("valid crd");
        assert!(t.status_subresource && t.namespaced);
        assert_eq!(
            t.list_kind(&["spec".into(), "ports".into()]),
            ListKind::Map(vec!["port".into()])
        );
        assert_eq!(
            t.list_kind(&["status".into(), "conditions".into()]),
            ListKind::Map(vec!["type".into()])
        );
        assert_eq!(
            t.list_kind(&["spec".into(), "other".into()]),
            ListKind::Atomic
        );
        let bad = json!({"metadata":{"name":"x"},"spec":crd["spec"].clone()});
        assert!(type_from_crd(&bad).is_err());
    }
}
