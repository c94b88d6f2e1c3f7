//! What the harness creates: namespaces, the ServiceAccount every store logs in as, three
//! ClusterSecretStores (Vault KV v2, AWS Secrets Manager, Azure Key Vault), N ExternalSecrets
//! over K remote keys and M unrelated Secrets. Manifests are plain data built by pure functions.

use futures::{StreamExt as _, TryStreamExt as _};
use secretsync_provider_azure::{ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID};
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::peers::{AWS_REGION, AWS_ROLE_ARN, AZURE_CLIENT_ID, Peers, VAULT_ROLE};

/// Label on every object the harness creates (value: the run id).
pub const RUN_LABEL: &str = "secretsync.io/scale-run";
/// Controller class of the harness's stores (the operator is started with it).
pub const CONTROLLER_CLASS: &str = "secretsync-scale";
/// Creation requests in flight.
const CREATE_CONCURRENCY: usize = 32;

/// A backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// OpenBao, KV v2.
    Vault,
    /// moto, Secrets Manager.
    Aws,
    /// The Azure Key Vault double.
    Azure,
}

impl Provider {
    /// All three, in key order (key `k` lives at `ALL[k % 3]`).
    pub const ALL: [Provider; 3] = [Provider::Vault, Provider::Aws, Provider::Azure];

    /// Short name (store suffix, report key).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Vault => "vault",
            Provider::Aws => "aws",
            Provider::Azure => "azure",
        }
    }
}

/// The ServiceAccount the stores authenticate as.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// Names and sizes of one run.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Run id (label value; part of names on a real cluster).
    pub run: String,
    /// Prefix of every name (`scale-` on the double, `scale-<run>-` on a real cluster).
    pub prefix: String,
    /// ExternalSecrets.
    pub n: usize,
    /// Distinct remote keys.
    pub k: usize,
    /// Unrelated Secrets.
    pub m: usize,
    /// Size of each unrelated Secret.
    pub unrelated_kib: usize,
    /// Namespaces the ExternalSecrets and unrelated Secrets are spread over.
    pub namespaces: usize,
    /// `spec.refreshInterval` of every ExternalSecret, in seconds.
    pub refresh_secs: u64,
}

impl Layout {
    /// The ServiceAccount of the stores.
    pub fn identity(&self) -> Identity {
        Identity {
            name: "secretsync-scale".into(),
            namespace: format!("{}identity", self.prefix),
        }
    }

    /// Namespace of the operator (its drift key Secret).
    pub fn operator_namespace(&self) -> String {
        format!("{}system", self.prefix)
    }

    /// Namespace number `i`.
    pub fn namespace(&self, i: usize) -> String {
        format!("{}{:03}", self.prefix, i % self.namespaces.max(1))
    }

    /// Store of `provider`.
    pub fn store(&self, provider: Provider) -> String {
        format!("{}{}", self.prefix, provider.name())
    }

    /// Remote key `k`: its backend, name and value.
    pub fn key(&self, k: usize) -> (Provider, String, String) {
        (
            Provider::ALL[k % 3],
            format!("scale-{k:05}"),
            format!("value-{k}"),
        )
    }

    /// Namespace and name of ExternalSecret `i` (also its target Secret's name).
    pub fn external_secret(&self, i: usize) -> (String, String) {
        (self.namespace(i), format!("es-{i:05}"))
    }

    /// The value ExternalSecret `i`'s Secret holds under `value`.
    pub fn expected_value(&self, i: usize) -> String {
        self.key(i % self.k.max(1)).2
    }

    fn labels(&self) -> Value {
        json!({ RUN_LABEL: self.run })
    }

    /// ExternalSecret `i`: one key, `refreshInterval` of the layout, its store by key.
    pub fn external_secret_manifest(&self, i: usize) -> Value {
        let (namespace, name) = self.external_secret(i);
        let (provider, key, _) = self.key(i % self.k.max(1));
        let mut remote_ref = json!({"key": key});
        if provider == Provider::Vault {
            remote_ref["property"] = json!("value");
        }
        json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": namespace, "labels": self.labels()},
            "spec": {
                "refreshInterval": format!("{}s", self.refresh_secs),
                "secretStoreRef": {"name": self.store(provider), "kind": "ClusterSecretStore"},
                "target": {"name": name},
                "data": [{"secretKey": "value", "remoteRef": remote_ref}],
            }
        })
    }

    /// Unrelated Secret `j` (`unrelated_kib` KiB of data).
    pub fn unrelated_manifest(&self, j: usize) -> Value {
        let payload = "x".repeat(self.unrelated_kib * 1024);
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": format!("unrelated-{j:05}"), "namespace": self.namespace(j), "labels": self.labels()},
            "stringData": {"blob": payload},
        })
    }

    /// The ServiceAccount (annotated for AWS web identity and Azure workload identity) and its
    /// right to review tokens (OpenBao reviews each login token with the token itself).
    pub fn identity_manifests(&self, azure_tenant: &str) -> Vec<Value> {
        let identity = self.identity();
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": identity.namespace, "labels": self.labels()}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": identity.name, "namespace": identity.namespace,
                "annotations": {
                    ANNOTATION_CLIENT_ID: AZURE_CLIENT_ID,
                    ANNOTATION_TENANT_ID: azure_tenant,
                    "eks.amazonaws.com/role-arn": AWS_ROLE_ARN,
                }}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": format!("{}token-review", self.prefix), "labels": self.labels()},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "system:auth-delegator"},
                   "subjects": [{"kind": "ServiceAccount", "name": identity.name,
                       "namespace": identity.namespace}]}),
        ]
    }

    /// The three ClusterSecretStores, pointed at `peers`, logging in as [`Layout::identity`],
    /// re-validated every refresh interval.
    pub fn store_manifests(&self, peers: &Peers) -> Vec<Value> {
        let identity = self.identity();
        let account = json!({"name": identity.name, "namespace": identity.namespace});
        let store = |provider: Provider, spec: Value| {
            json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ClusterSecretStore",
                "metadata": {"name": self.store(provider), "labels": self.labels()},
                // Validated once per refresh interval, so that every measured cycle holds
                // the store validations too (ESO's default is every 5 minutes).
                "spec": {"controller": CONTROLLER_CLASS, "provider": spec,
                    "refreshInterval": self.refresh_secs},
            })
        };
        vec![
            store(
                Provider::Vault,
                json!({"vault": {"server": peers.bao.addr(), "path": "secret", "version": "v2",
                    "auth": {"kubernetes": {"mountPath": "kubernetes", "role": VAULT_ROLE,
                        "serviceAccountRef": account}}}}),
            ),
            store(
                Provider::Aws,
                json!({"aws": {"service": "SecretsManager", "region": AWS_REGION,
                    "auth": {"jwt": {"serviceAccountRef": account}}}}),
            ),
            store(
                Provider::Azure,
                json!({"azurekv": {"authType": "WorkloadIdentity",
                    "vaultUrl": peers.azure.vault_url(),
                    "serviceAccountRef": account,
                    "customCloudConfig": {"activeDirectoryEndpoint": peers.azure.authority_host()}}}),
            ),
        ]
    }
}

/// Creates `objects` on `cluster`, [`CREATE_CONCURRENCY`] at a time.
pub async fn create_all(cluster: &Cluster, objects: Vec<Value>) -> anyhow::Result<()> {
    futures::stream::iter(objects)
        .map(|o| cluster.create(o))
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<()>()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            run: "r1".into(),
            prefix: "scale-".into(),
            n: 10,
            k: 4,
            m: 2,
            unrelated_kib: 1,
            namespaces: 3,
            refresh_secs: 30,
        }
    }

    #[test]
    fn external_secrets_spread_over_keys_namespaces_and_providers() {
        let l = layout();
        let table = [
            (0, "scale-000", "scale-vault", "scale-00000", Some("value")),
            (1, "scale-001", "scale-aws", "scale-00001", None),
            (2, "scale-002", "scale-azure", "scale-00002", None),
            (5, "scale-002", "scale-aws", "scale-00001", None),
            (8, "scale-002", "scale-vault", "scale-00000", Some("value")),
        ];
        for (i, ns, store, key, property) in table {
            let es = l.external_secret_manifest(i);
            assert_eq!(es["metadata"]["namespace"], ns, "{i}");
            assert_eq!(es["spec"]["secretStoreRef"]["name"], store, "{i}");
            let remote = &es["spec"]["data"][0]["remoteRef"];
            assert_eq!(remote["key"], key, "{i}");
            assert_eq!(remote["property"].as_str(), property, "{i}");
            assert_eq!(es["spec"]["refreshInterval"], "30s");
            assert_eq!(es["metadata"]["labels"][RUN_LABEL], "r1");
        }
        assert_eq!(l.expected_value(5), "value-1");
    }

    #[test]
    fn unrelated_secrets_have_the_requested_size() {
        let s = layout().unrelated_manifest(4);
        assert_eq!(s["metadata"]["namespace"], "scale-001");
        assert_eq!(s["stringData"]["blob"].as_str().map(str::len), Some(1024));
    }
}
