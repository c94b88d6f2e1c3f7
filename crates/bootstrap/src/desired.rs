//! `bootstrap.yaml` → the [`Item`]s that should exist: the ADR's ClusterSecretStores and
//! ExternalSecrets, the operator's ServiceAccount, and the Vault setup. Pure.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{
    AWS_STORE, AZURE_STORE, Bootstrap, BootstrapSecret, Migration, VAULT_STORE, Vault,
};
use crate::plan::{Item, KubeObject, Phase, SecretField, Want};

/// `apiVersion` of the stores and ExternalSecrets, as the ADR writes them.
pub const ESO_API_VERSION: &str = "external-secrets.io/v1beta1";
/// The Vault policy the operator's role carries (ADR: role `external-secrets`).
pub const POLICY: &str = "external-secrets";
/// The Kubernetes auth mount (ADR: `mountPath: "kubernetes"`).
pub const KUBERNETES_MOUNT: &str = "kubernetes";
/// The KV v2 mount (ADR: `path: "secret"`, `version: "v2"`).
pub const KV_MOUNT: &str = "secret";
/// ClusterRoleBinding letting the operator's ServiceAccount review tokens (Vault's Kubernetes
/// auth reviews each login token with that token itself).
pub const TOKEN_REVIEW_BINDING: &str = "secretsync-bootstrap-token-review";
/// Token TTL of the Vault roles, seconds.
pub const TOKEN_TTL: u64 = 3600;

/// What the Vault setup needs from the cluster (resolved before planning).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// API server URL as Vault reaches it.
    pub host: String,
    /// Its CA (PEM).
    pub ca_pem: String,
}

/// Every item, in the order they are applied.
pub fn desired(config: &Bootstrap, cluster: &ClusterEndpoint, operator: &[Value]) -> Vec<Item> {
    let mut items = cloud_items(config, operator);
    if let Some(vault) = &config.vault {
        items.extend(vault_items(config, vault, cluster));
    }
    for m in &config.migration {
        items.push(Item {
            id: format!("{KV_MOUNT}/{} from {}", m.to, m.source()),
            phase: Phase::Migration,
            want: Want::Migrated(m.clone()),
        });
    }
    for c in &config.cutover {
        items.push(Item {
            id: format!("ExternalSecret {}/{} on {VAULT_STORE}", c.namespace, c.name),
            phase: Phase::Cutover,
            want: Want::CutOver {
                namespace: c.namespace.clone(),
                name: c.name.clone(),
            },
        });
    }
    items
}

/// A bootstrap ExternalSecret in its cut-over form (the references `migration` covers on
/// `vault`, as [`crate::cutover::translate`] switches any ExternalSecret).
pub fn cut_over(s: &BootstrapSecret, migration: &[Migration]) -> Value {
    let mut body = external_secret(s);
    if let Ok(changes) = crate::cutover::translate::translate(&body, migration) {
        crate::cutover::translate::switch(&mut body, &changes);
    }
    body
}

fn object(phase: Phase, body: Value, plural: &str) -> Item {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let obj = KubeObject {
        api_version: s(&body["apiVersion"]),
        kind: s(&body["kind"]),
        plural: plural.to_string(),
        namespace: body["metadata"]
            .get("namespace")
            .map(|n| n.as_str().unwrap_or_default().to_string()),
        name: s(&body["metadata"]["name"]),
        body,
        also: Vec::new(),
    };
    let id = match &obj.namespace {
        Some(ns) => format!("{} {ns}/{}", obj.kind, obj.name),
        None => format!("{} {}", obj.kind, obj.name),
    };
    Item {
        id,
        phase,
        want: Want::Object(obj),
    }
}

fn verified(phase: Phase, items: &[Item]) -> Item {
    let mut hash = Sha256::new();
    for i in items.iter().filter(|i| i.phase == phase) {
        hash.update(format!("{:?}\n", i).as_bytes());
    }
    let digest = hash.finalize();
    let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Item {
        id: format!("checks of {phase}"),
        phase,
        want: Want::Verified { phase, fingerprint },
    }
}

fn service_account_ref(config: &Bootstrap) -> Value {
    json!({
        "name": config.operator.service_account,
        "namespace": config.operator.namespace,
    })
}

/// Phase 1: CRDs, namespaces, the annotated ServiceAccount, the operator's own manifests (when
/// `operator.install` names them; objects the bootstrapper already manages, such as the CRDs,
/// keep the bootstrapper's version), the cloud stores, the bootstrap ExternalSecrets, their
/// one-time sync, the checks.
fn cloud_items(config: &Bootstrap, operator: &[Value]) -> Vec<Item> {
    let phase = Phase::Cloud;
    let mut items = Vec::new();
    if config.operator.install_crds {
        for crd in secretsync_model::crd::all() {
            let mut body = serde_json::to_value(&crd).unwrap_or(Value::Null);
            body["apiVersion"] = json!("apiextensions.k8s.io/v1");
            body["kind"] = json!("CustomResourceDefinition");
            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                m.retain(|k, _| k == "name");
            }
            if let Some(o) = body.as_object_mut() {
                o.remove("status");
            }
            items.push(object(phase, body, "customresourcedefinitions"));
        }
    }
    let mut namespaces = vec![config.operator.namespace.clone()];
    for s in &config.bootstrap_secrets {
        if !namespaces.contains(&s.namespace) {
            namespaces.push(s.namespace.clone());
        }
    }
    for ns in namespaces {
        items.push(object(
            phase,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            "namespaces",
        ));
    }
    items.push(object(
        phase,
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": config.operator.service_account,
                "namespace": config.operator.namespace,
                "annotations": config.service_account_annotations(),
            }
        }),
        "serviceaccounts",
    ));
    for manifest in operator {
        let kind = manifest["kind"].as_str().unwrap_or_default();
        let Ok(plural) = crate::operator_install::plural(kind) else {
            continue; // rejected when loaded
        };
        let item = object(phase, manifest.clone(), &plural);
        if !items.iter().any(|i| i.id == item.id) {
            items.push(item);
        }
    }
    if let Some(azure) = &config.stores.azure {
        let mut provider = json!({
            "authType": "WorkloadIdentity",
            "vaultUrl": azure.vault_url,
            "serviceAccountRef": service_account_ref(config),
        });
        if let Some(host) = &azure.authority_host {
            provider["customCloudConfig"] = json!({"activeDirectoryEndpoint": host});
        }
        items.push(store(phase, AZURE_STORE, json!({"azurekv": provider})));
    }
    if let Some(aws) = &config.stores.aws {
        items.push(store(
            phase,
            AWS_STORE,
            json!({"aws": {
                "service": "SecretsManager",
                "region": aws.region,
                "auth": {"jwt": {"serviceAccountRef": service_account_ref(config)}},
            }}),
        ));
    }
    for s in &config.bootstrap_secrets {
        let mut item = object(phase, external_secret(s), "externalsecrets");
        if let Want::Object(obj) = &mut item.want
            && config
                .cutover
                .iter()
                .any(|c| c.namespace == s.namespace && c.name == s.name)
        {
            obj.also.push(cut_over(s, &config.migration));
        }
        items.push(item);
    }
    for s in &config.bootstrap_secrets {
        items.push(Item {
            id: format!("Secret {}/{} synced once", s.namespace, s.name),
            phase,
            want: Want::Synced {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
            },
        });
    }
    let check = verified(phase, &items);
    items.push(check);
    items
}

fn store(phase: Phase, name: &str, provider: Value) -> Item {
    object(
        phase,
        json!({
            "apiVersion": ESO_API_VERSION,
            "kind": "ClusterSecretStore",
            "metadata": {"name": name},
            "spec": {"provider": provider},
        }),
        "clustersecretstores",
    )
}

/// The ADR's ExternalSecret shape for one bootstrap secret.
pub fn external_secret(s: &BootstrapSecret) -> Value {
    let data: Vec<Value> = s
        .data
        .iter()
        .map(|d| {
            let mut remote = json!({"key": d.remote_key});
            if let Some(p) = &d.property {
                remote["property"] = json!(p);
            }
            json!({"secretKey": d.secret_key, "remoteRef": remote})
        })
        .collect();
    json!({
        "apiVersion": ESO_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": s.name, "namespace": s.namespace},
        "spec": {
            "refreshInterval": s.refresh_interval,
            "secretStoreRef": {"name": s.store, "kind": "ClusterSecretStore"},
            "target": {"name": s.name, "creationPolicy": "Owner"},
            "data": data,
        }
    })
}

/// The `external-secrets` policy: read the KV v2 data and metadata of `secret/`.
pub fn operator_policy() -> String {
    format!(
        "path \"{KV_MOUNT}/data/*\" {{\n  capabilities = [\"read\"]\n}}\n\
         path \"{KV_MOUNT}/metadata/*\" {{\n  capabilities = [\"read\", \"list\"]\n}}\n"
    )
}

fn read_policy(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("path \"{KV_MOUNT}/data/{p}\" {{\n  capabilities = [\"read\"]\n}}\n"))
        .collect()
}

fn vault_write(phase: Phase, path: String, body: Value) -> Item {
    Item {
        id: format!("vault {path}"),
        phase,
        want: Want::Config {
            path,
            compare: body.clone(),
            body,
            secret: None,
        },
    }
}

fn mount(phase: Phase, auth: bool, path: &str, kind: &str, options: Value) -> Item {
    let at = if auth { "sys/auth" } else { "sys/mounts" };
    Item {
        id: format!("vault {at}/{path}"),
        phase,
        want: Want::Mount {
            auth,
            path: path.to_string(),
            kind: kind.to_string(),
            options,
        },
    }
}

fn policy(phase: Phase, name: &str, text: String) -> Item {
    vault_write(
        phase,
        format!("sys/policies/acl/{name}"),
        json!({ "policy": text }),
    )
}

/// Phase 2: the Vault setup and the `vault` store.
fn vault_items(config: &Bootstrap, vault: &Vault, cluster: &ClusterEndpoint) -> Vec<Item> {
    let phase = Phase::Vault;
    let sa = &config.operator;
    let mut items = vec![
        object(
            phase,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": TOKEN_REVIEW_BINDING},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:auth-delegator",
                },
                "subjects": [{"kind": "ServiceAccount", "name": sa.service_account, "namespace": sa.namespace}],
            }),
            "clusterrolebindings",
        ),
        mount(phase, false, KV_MOUNT, "kv", json!({"version": "2"})),
        mount(phase, true, KUBERNETES_MOUNT, "kubernetes", json!({})),
    ];
    let mut k8s = json!({
        "kubernetes_host": cluster.host,
        "kubernetes_ca_cert": cluster.ca_pem,
        "disable_local_ca_jwt": true,
    });
    if let Some(issuer) = &vault.kubernetes.issuer {
        k8s["issuer"] = json!(issuer);
    }
    items.push(config_item(
        phase,
        format!("auth/{KUBERNETES_MOUNT}/config"),
        k8s,
    ));
    items.push(policy(phase, POLICY, operator_policy()));
    items.push(vault_write(
        phase,
        format!("auth/{KUBERNETES_MOUNT}/role/{POLICY}"),
        json!({
            "bound_service_account_names": [sa.service_account],
            "bound_service_account_namespaces": [sa.namespace],
            "token_policies": [POLICY],
            "token_ttl": TOKEN_TTL,
        }),
    ));
    if let Some(ci) = &vault.app_role {
        items.push(mount(phase, true, "approle", "approle", json!({})));
        items.push(policy(phase, &ci.role, read_policy(&ci.read_paths)));
        items.push(vault_write(
            phase,
            format!("auth/approle/role/{}", ci.role),
            json!({"token_policies": [ci.role], "token_ttl": TOKEN_TTL}),
        ));
    }
    if let Some(db) = &vault.database {
        items.push(mount(phase, false, &db.mount, "database", json!({})));
        let url = format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@{}",
            db.address
        );
        items.push(Item {
            id: format!("vault {}/config/{}", db.mount, db.connection),
            phase,
            want: Want::Config {
                path: format!("{}/config/{}", db.mount, db.connection),
                body: json!({
                    "plugin_name": "postgresql-database-plugin",
                    "connection_url": url,
                    "username": db.username,
                    "allowed_roles": [db.role],
                }),
                compare: json!({
                    "plugin_name": "postgresql-database-plugin",
                    "connection_details": {"connection_url": url, "username": db.username},
                    "allowed_roles": [db.role],
                }),
                secret: Some(SecretField {
                    field: "password".into(),
                    env: db.password_env.clone(),
                }),
            },
        });
        items.push(vault_write(
            phase,
            format!("{}/roles/{}", db.mount, db.role),
            json!({
                "db_name": db.connection,
                "creation_statements": [
                    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
                ],
                "default_ttl": db.default_ttl,
            }),
        ));
    }
    if let Some(pki) = &vault.pki {
        items.push(mount(phase, false, &pki.mount, "pki", json!({})));
        items.push(vault_write(
            phase,
            format!("sys/mounts/{}/tune", pki.mount),
            json!({"max_lease_ttl": 10 * 365 * 86400u64}),
        ));
        items.push(Item {
            id: format!("vault {}/root CA", pki.mount),
            phase,
            want: Want::PkiRoot {
                mount: pki.mount.clone(),
                common_name: pki.common_name.clone(),
                ttl: 10 * 365 * 86400,
            },
        });
        items.push(vault_write(
            phase,
            format!("{}/roles/{}", pki.mount, pki.role),
            json!({
                "allowed_domains": pki.allowed_domains,
                "allow_subdomains": true,
                "max_ttl": pki.max_ttl,
            }),
        ));
    }
    items.push(store(
        phase,
        VAULT_STORE,
        json!({"vault": {
            "server": vault.server,
            "path": KV_MOUNT,
            "version": "v2",
            "auth": {"kubernetes": {
                "mountPath": KUBERNETES_MOUNT,
                "role": POLICY,
                "serviceAccountRef": service_account_ref(config),
            }},
        }}),
    ));
    let check = verified(phase, &items);
    items.push(check);
    items
}

/// Kubernetes auth config: Vault never returns the CA as written (it may normalise PEM
/// whitespace), so only the host and flags are compared.
fn config_item(phase: Phase, path: String, body: Value) -> Item {
    let mut compare = body.clone();
    if let Some(o) = compare.as_object_mut() {
        o.remove("kubernetes_ca_cert");
    }
    Item {
        id: format!("vault {path}"),
        phase,
        want: Want::Config {
            path,
            body,
            compare,
            secret: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn example() -> Bootstrap {
        parse(
            "bootstrap.yaml",
            include_str!("../../../examples/bootstrap/bootstrap.yaml"),
        )
        .expect("example")
    }

    fn manifest<'a>(items: &'a [Item], id: &str) -> &'a Value {
        match &items.iter().find(|i| i.id == id).expect(id).want {
            Want::Object(o) => &o.body,
            other => panic!("{id}: {other:?}"),
        }
    }

    /// The three stores and the ExternalSecret exactly as ADR-002 writes them.
    #[test]
    fn the_adr_manifests() {
        let mut c = example();
        if let Some(a) = c.stores.azure.as_mut() {
            a.authority_host = None;
        }
        let items = desired(&c, &ClusterEndpoint::default(), &[]);
        let adr = |file: &str| -> Vec<Value> {
            let text = std::fs::read_to_string(format!(
                "{}/../../examples/adr-002/{file}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect(file);
            serde_yaml::Deserializer::from_str(&text)
                .map(|d| serde::Deserialize::deserialize(d).expect("yaml"))
                .collect()
        };
        for want in adr("cluster-secret-stores.yaml") {
            let name = want["metadata"]["name"].as_str().expect("name");
            assert_eq!(
                manifest(&items, &format!("ClusterSecretStore {name}")),
                &want,
                "{name}"
            );
        }
        let es = adr("external-secret.yaml").remove(0);
        assert_eq!(
            manifest(&items, "ExternalSecret crossplane-system/azure-credentials"),
            &es
        );
    }

    #[test]
    fn checks_follow_the_configuration() {
        let c = example();
        let fp = |c: &Bootstrap| -> Vec<String> {
            desired(c, &ClusterEndpoint::default(), &[])
                .into_iter()
                .filter_map(|i| match i.want {
                    Want::Verified { fingerprint, .. } => Some(fingerprint),
                    _ => None,
                })
                .collect()
        };
        let before = fp(&c);
        let mut changed = c.clone();
        if let Some(v) = changed.vault.as_mut() {
            v.server = "http://elsewhere:8200".into();
        }
        let after = fp(&changed);
        assert_eq!(before[0], after[0], "phase 1 unchanged");
        assert_ne!(before[1], after[1], "phase 2 changed");
    }

    #[test]
    fn the_database_password_is_filled_in_at_run_time_only() {
        let items = desired(&example(), &ClusterEndpoint::default(), &[]);
        let db = items
            .iter()
            .find_map(|i| match &i.want {
                Want::Config {
                    body,
                    secret: Some(f),
                    ..
                } => Some((body, f)),
                _ => None,
            })
            .expect("the database connection item");
        assert!(db.0.get("password").is_none());
        assert_eq!(db.1.env, "SECRETSYNC_DB_PASSWORD");
    }

    #[test]
    fn operator_manifests_follow_the_service_account_and_never_replace_its_items() {
        let manifests = crate::operator_install::parse(
            "ops.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: external-secrets, namespace: external-secrets}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op, namespace: external-secrets}\n",
        )
        .expect("manifests");
        let items = desired(&example(), &ClusterEndpoint::default(), &manifests);
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let sa = "ServiceAccount external-secrets/external-secrets";
        assert_eq!(ids.iter().filter(|i| **i == sa).count(), 1, "{ids:?}");
        let at = |id: &str| ids.iter().position(|i| *i == id).expect(id);
        assert_eq!(at("Deployment external-secrets/op"), at(sa) + 1);
        // the bootstrapper's ServiceAccount (with the workload identity annotations) is kept
        let Want::Object(obj) = &items[at(sa)].want else {
            panic!("an object")
        };
        assert!(
            obj.body["metadata"]["annotations"].is_object(),
            "{}",
            obj.body
        );
    }
}
