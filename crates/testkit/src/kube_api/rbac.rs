//! RBAC authorization (`rbac.authorization.k8s.io/v1`) as kube-apiserver's RBAC authorizer
//! decides it: Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, verbs and `*`,
//! resources with subresources (`secrets`, `externalsecrets/status`, `*/status`), `resourceNames`,
//! `apiGroups` and `nonResourceURLs`. No aggregation, no escalation checks.
//!
//! [`Policy`] is plain data built from the stored RBAC objects; [`Policy::allows`] is a pure
//! function of it, the user and the request. The server applies it to service-account callers
//! (the admin token stays unrestricted).

use super::status::{ApiError, qualified};
use super::store::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const RBAC: &str = "rbac.authorization.k8s.io";

/// An authenticated user: name and groups, as the token authenticator reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// e.g. `system:serviceaccount:ns:name`.
    pub name: String,
    /// e.g. `system:serviceaccounts`, `system:serviceaccounts:ns`, `system:authenticated`.
    pub groups: Vec<String>,
}

impl User {
    /// The user a service-account token authenticates as.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

/// What is asked: the authorizer's request attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A request on an API resource.
    Resource {
        /// get, list, watch, create, update, patch, delete, deletecollection.
        verb: String,
        /// API group ("" for core).
        group: String,
        /// Plural resource.
        resource: String,
        /// Subresource ("" when none).
        subresource: String,
        /// Namespace ("" for cluster scope).
        namespace: String,
        /// Object name ("" for collections and create).
        name: String,
    },
    /// A request on a non-resource path (`/api`, `/version`, ...).
    NonResource {
        /// Lower-case HTTP method (`get`, `post`, ...).
        verb: String,
        /// The path, starting with `/`.
        path: String,
    },
}

impl Request {
    /// A resource request.
    pub fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        Request::Resource {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The 403 the API server answers when this request is denied to `user`.
    pub fn forbidden(&self, user: &User) -> ApiError {
        match self {
            Request::NonResource { verb, path } => ApiError {
                code: 403,
                reason: "Forbidden",
                message: format!(
                    "forbidden: User {:?} cannot {verb} path {path:?}",
                    user.name
                ),
                details: Some(json!({})),
            },
            Request::Resource {
                verb,
                group,
                resource,
                subresource,
                namespace,
                name,
            } => {
                let full = if subresource.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}/{subresource}")
                };
                let scope = if namespace.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("in the namespace {namespace:?}")
                };
                let cause = format!(
                    "User {:?} cannot {verb} resource {full:?} in API group {group:?} {scope}",
                    user.name
                );
                let subject = qualified(group, resource);
                let message = if name.is_empty() {
                    format!("{subject} is forbidden: {cause}")
                } else {
                    format!("{subject} {name:?} is forbidden: {cause}")
                };
                let mut details = json!({"name": name, "kind": resource});
                if !group.is_empty() {
                    details["group"] = json!(group);
                }
                ApiError {
                    code: 403,
                    reason: "Forbidden",
                    message,
                    details: Some(details),
                }
            }
        }
    }
}

/// One `PolicyRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    non_resource_urls: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Rule {
    fn parse(v: &Value) -> Self {
        Self {
            verbs: strings(&v["verbs"]),
            api_groups: strings(&v["apiGroups"]),
            resources: strings(&v["resources"]),
            resource_names: strings(&v["resourceNames"]),
            non_resource_urls: strings(&v["nonResourceURLs"]),
        }
    }

    fn verb_matches(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    /// kube's `ResourceMatches`: `*`, the exact `resource[/subresource]`, or `*/subresource`.
    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        let combined = if subresource.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}/{subresource}")
        };
        self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
        })
    }

    fn allows(&self, req: &Request) -> bool {
        match req {
            Request::Resource {
                verb,
                group,
                resource,
                subresource,
                name,
                ..
            } => {
                self.verb_matches(verb)
                    && self.api_groups.iter().any(|g| g == "*" || g == group)
                    && self.resource_matches(resource, subresource)
                    && (self.resource_names.is_empty() || self.resource_names.contains(name))
            }
            Request::NonResource { verb, path } => {
                self.verb_matches(verb)
                    && self.non_resource_urls.iter().any(|u| {
                        u == "*"
                            || u == path
                            || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                    })
            }
        }
    }
}

/// A binding: its role reference and subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    /// `Role` or `ClusterRole`.
    role_kind: String,
    role_name: String,
    /// The binding's namespace ("" for a ClusterRoleBinding).
    namespace: String,
    subjects: Vec<Value>,
}

impl Binding {
    fn parse(v: &Value, namespace: &str) -> Self {
        Self {
            role_kind: v["roleRef"]["kind"].as_str().unwrap_or_default().into(),
            role_name: v["roleRef"]["name"].as_str().unwrap_or_default().into(),
            namespace: namespace.into(),
            subjects: v["subjects"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// kube's `appliesToUser`: User by name, Group by membership, ServiceAccount by
    /// namespace (defaulting to the binding's) and name.
    fn applies_to(&self, user: &User) -> bool {
        self.subjects.iter().any(|s| {
            let name = s["name"].as_str().unwrap_or_default();
            match s["kind"].as_str().unwrap_or_default() {
                "User" => user.name == name,
                "Group" => user.groups.iter().any(|g| g == name),
                "ServiceAccount" => {
                    let ns = s["namespace"]
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .unwrap_or(&self.namespace);
                    user.name == format!("system:serviceaccount:{ns}:{name}")
                }
                _ => false,
            }
        })
    }
}

/// The RBAC objects in force.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    cluster_roles: BTreeMap<String, Vec<Rule>>,
    roles: BTreeMap<(String, String), Vec<Rule>>,
    cluster_bindings: Vec<Binding>,
    /// RoleBindings by namespace.
    bindings: BTreeMap<String, Vec<Binding>>,
}

fn rules_of(v: &Value) -> Vec<Rule> {
    v["rules"]
        .as_array()
        .map(|a| a.iter().map(Rule::parse).collect())
        .unwrap_or_default()
}

impl Policy {
    /// Reads every Role, ClusterRole and binding from the store.
    pub fn from_store(store: &Store) -> Self {
        let mut p = Policy::default();
        for resource in [
            "clusterroles",
            "clusterrolebindings",
            "roles",
            "rolebindings",
        ] {
            for (_, obj) in store.list(RBAC, resource, None) {
                p.add(resource, obj);
            }
        }
        p
    }

    /// Adds one object of `resource` (`roles`, `clusterroles`, `rolebindings`,
    /// `clusterrolebindings`).
    pub fn add(&mut self, resource: &str, obj: &Value) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        match resource {
            "clusterroles" => {
                self.cluster_roles.insert(name.into(), rules_of(obj));
            }
            "roles" => {
                self.roles.insert((ns.into(), name.into()), rules_of(obj));
            }
            "clusterrolebindings" => self.cluster_bindings.push(Binding::parse(obj, "")),
            "rolebindings" => self
                .bindings
                .entry(ns.into())
                .or_default()
                .push(Binding::parse(obj, ns)),
            _ => {}
        }
    }

    fn role_rules(&self, b: &Binding) -> &[Rule] {
        let rules = match b.role_kind.as_str() {
            "ClusterRole" => self.cluster_roles.get(&b.role_name),
            "Role" if !b.namespace.is_empty() => {
                self.roles.get(&(b.namespace.clone(), b.role_name.clone()))
            }
            _ => None,
        };
        rules.map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether any binding that applies to `user` grants `req`. A RoleBinding grants only
    /// resource requests in its own namespace; a ClusterRoleBinding grants everywhere.
    pub fn allows(&self, user: &User, req: &Request) -> bool {
        let grants =
            |b: &Binding| b.applies_to(user) && self.role_rules(b).iter().any(|r| r.allows(req));
        if self.cluster_bindings.iter().any(grants) {
            return true;
        }
        match req {
            Request::Resource { namespace, .. } if !namespace.is_empty() => self
                .bindings
                .get(namespace)
                .is_some_and(|bs| bs.iter().any(grants)),
            _ => false,
        }
    }
}

/// The default ClusterRoles and ClusterRoleBindings kube-apiserver creates at start (the
/// subset a test can need): `cluster-admin`, `system:discovery`, `system:basic-user`,
/// `system:public-info-viewer`, `system:service-account-issuer-discovery` and
/// `system:auth-delegator` (the last without a binding, as on a real cluster).
pub fn bootstrap_objects() -> Vec<(&'static str, Value)> {
    let role = |name: &str, rules: Value| {
        (
            "clusterroles",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
                "rules": rules}),
        )
    };
    let binding = |name: &str, groups: &[&str]| {
        let subjects: Vec<Value> = groups
            .iter()
            .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
            .collect();
        (
            "clusterrolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": subjects}),
        )
    };
    vec![
        role(
            "cluster-admin",
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        ),
        binding("cluster-admin", &["system:masters"]),
        role(
            "system:discovery",
            json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        ),
        binding("system:discovery", &["system:authenticated"]),
        role(
            "system:basic-user",
            json!([{"apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]}]),
        ),
        binding("system:basic-user", &["system:authenticated"]),
        role(
            "system:public-info-viewer",
            json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                "verbs": ["get"]}]),
        ),
        binding(
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
        role(
            "system:service-account-issuer-discovery",
            json!([{"nonResourceURLs": ["/.well-known/openid-configuration", "/openid/v1/jwks"],
                "verbs": ["get"]}]),
        ),
        binding(
            "system:service-account-issuer-discovery",
            &["system:serviceaccounts"],
        ),
        role(
            "system:auth-delegator",
            json!([{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> Policy {
        let mut p = Policy::default();
        for doc in serde_yaml::Deserializer::from_str(yaml) {
            let v: Value = serde::Deserialize::deserialize(doc).expect("yaml");
            let resource = match v["kind"].as_str().unwrap_or_default() {
                "Role" => "roles",
                "ClusterRole" => "clusterroles",
                "RoleBinding" => "rolebindings",
                _ => "clusterrolebindings",
            };
            p.add(resource, &v);
        }
        for (resource, obj) in bootstrap_objects() {
            p.add(resource, &obj);
        }
        p
    }

    const OPERATOR: &str = r#"
kind: ClusterRole
metadata: {name: reader}
rules:
  - apiGroups: ["external-secrets.io"]
    resources: ["externalsecrets", "clustersecretstores"]
    verbs: ["get", "list", "watch"]
  - apiGroups: ["external-secrets.io"]
    resources: ["externalsecrets/status"]
    verbs: ["patch"]
  - apiGroups: [""]
    resources: ["configmaps"]
    resourceNames: ["allowed"]
    verbs: ["get"]
---
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: op, namespace: sys}]
---
kind: Role
metadata: {name: writer, namespace: apps}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["*"]
  - apiGroups: ["*"]
    resources: ["*/scale"]
    verbs: ["update"]
---
kind: RoleBinding
metadata: {name: writer, namespace: apps}
roleRef: {kind: Role, name: writer}
subjects: [{kind: ServiceAccount, name: op}]
---
kind: RoleBinding
metadata: {name: cluster-role-in-ns, namespace: team}
roleRef: {kind: ClusterRole, name: secrets-reader}
subjects: [{kind: Group, name: "system:serviceaccounts:sys"}]
---
kind: ClusterRole
metadata: {name: secrets-reader}
rules: [{apiGroups: [""], resources: ["secrets"], verbs: ["get"]}]
---
kind: RoleBinding
metadata: {name: wrong-kind, namespace: team}
roleRef: {kind: Role, name: reader}
subjects: [{kind: User, name: alice}]
"#;

    /// `"verb group resource[/sub] namespace name"`, `-` for empty; or `"GET /path"`.
    fn request(spec: &str) -> Request {
        let f: Vec<&str> = spec
            .split(' ')
            .map(|x| if x == "-" { "" } else { x })
            .collect();
        match f.as_slice() {
            [method, path] => Request::NonResource {
                verb: method.to_ascii_lowercase(),
                path: path.to_string(),
            },
            [verb, group, res, ns, name] => {
                let (resource, sub) = res.split_once('/').unwrap_or((res, ""));
                Request::resource(verb, group, resource, sub, ns, name)
            }
            _ => panic!("bad request spec {spec}"),
        }
    }

    #[test]
    fn rbac_decisions() {
        let p = policy(OPERATOR);
        let users = |who: &str| match who {
            "alice" => User {
                name: "alice".into(),
                groups: vec![],
            },
            sa => {
                let (ns, name) = sa.split_once(':').expect("ns:name");
                User::service_account(ns, name)
            }
        };
        #[rustfmt::skip]
        let cases = [
            ("cluster binding, cluster scope", "sys:op", "watch external-secrets.io clustersecretstores - -", true),
            ("cluster binding, any namespace", "sys:op", "list external-secrets.io externalsecrets x -", true),
            ("verb not granted", "sys:op", "delete external-secrets.io externalsecrets x a", false),
            ("group must match", "sys:op", "get - externalsecrets x a", false),
            ("subresource granted", "sys:op", "patch external-secrets.io externalsecrets/status x a", true),
            ("main resource does not grant subresource", "sys:op", "get external-secrets.io externalsecrets/status x a", false),
            ("subresource does not grant main", "sys:op", "patch external-secrets.io externalsecrets x a", false),
            ("resourceNames match", "sys:op", "get - configmaps x allowed", true),
            ("resourceNames other name", "sys:op", "get - configmaps x other", false),
            ("resourceNames never grant list", "sys:op", "list - configmaps x -", false),
            ("other service account", "sys:other", "list external-secrets.io externalsecrets x -", false),
            ("rolebinding SA namespace defaults to the binding's", "apps:op", "delete - secrets apps s", true),
            ("rolebinding: * verb", "apps:op", "deletecollection - secrets apps -", true),
            ("rolebinding only in its namespace", "apps:op", "get - secrets other s", false),
            ("rolebinding never at cluster scope", "apps:op", "list - secrets - -", false),
            ("*/subresource", "apps:op", "update apps deployments/scale apps d", true),
            ("*/subresource needs a subresource", "apps:op", "update apps deployments apps d", false),
            ("group subject, clusterrole in a namespace", "sys:op", "get - secrets team s", true),
            ("clusterrole via rolebinding stays in the namespace", "sys:op", "get - secrets apps s", false),
            ("roleRef to a Role missing in the namespace", "alice", "watch external-secrets.io externalsecrets team -", false),
            ("user without groups gets no discovery", "alice", "GET /api", false),
            ("discovery for every authenticated user", "sys:other", "GET /apis/external-secrets.io/v1", true),
            ("non-resource post is not discovery", "sys:other", "POST /api", false),
            ("not granted non-resource path", "sys:other", "GET /metrics", false),
            ("basic user may review itself", "sys:other", "create authorization.k8s.io selfsubjectaccessreviews - -", true),
            ("auth-delegator is not bound by default", "sys:other", "create authentication.k8s.io tokenreviews - -", false),
        ];
        for (what, who, spec, expected) in cases {
            assert_eq!(
                p.allows(&users(who), &request(spec)),
                expected,
                "{what}: {who} {spec}"
            );
        }
    }

    #[test]
    fn forbidden_messages_match_the_api_server() {
        let user = User::service_account("secretsync-system", "secretsync");
        let cluster = Request::resource(
            "watch",
            "external-secrets.io",
            "clustersecretstores",
            "",
            "",
            "",
        );
        let e = cluster.forbidden(&user);
        assert_eq!((e.code, e.reason), (403, "Forbidden"));
        assert_eq!(
            e.message,
            "clustersecretstores.external-secrets.io is forbidden: User \"system:serviceaccount:secretsync-system:secretsync\" cannot watch resource \"clustersecretstores\" in API group \"external-secrets.io\" at the cluster scope"
        );
        let named = Request::resource(
            "patch",
            "external-secrets.io",
            "externalsecrets",
            "status",
            "apps",
            "db",
        );
        assert_eq!(
            named.forbidden(&user).message,
            "externalsecrets.external-secrets.io \"db\" is forbidden: User \"system:serviceaccount:secretsync-system:secretsync\" cannot patch resource \"externalsecrets/status\" in API group \"external-secrets.io\" in the namespace \"apps\""
        );
        let core = Request::resource("list", "", "secrets", "", "apps", "");
        let e = core.forbidden(&user);
        assert_eq!(
            e.message,
            "secrets is forbidden: User \"system:serviceaccount:secretsync-system:secretsync\" cannot list resource \"secrets\" in API group \"\" in the namespace \"apps\""
        );
        assert_eq!(e.details, Some(json!({"name": "", "kind": "secrets"})));
        let path = Request::NonResource {
            verb: "get".into(),
            path: "/metrics".into(),
        };
        assert_eq!(
            path.forbidden(&user).message,
            "forbidden: User \"system:serviceaccount:secretsync-system:secretsync\" cannot get path \"/metrics\""
        );
    }
}
