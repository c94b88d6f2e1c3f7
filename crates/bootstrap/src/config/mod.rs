//! `bootstrap.yaml`: what the bootstrapper sets up. Typed, with unknown fields refused and every
//! error naming the field (`vault.database.role: ...`). It holds no secret value: the Vault
//! setup token and the database password come from the environment or a file at run time.

use std::collections::BTreeMap;

use serde::Deserialize;

mod validate;
pub use validate::validate;

/// The file's `kind`.
pub const KIND: &str = "Bootstrap";
/// The file's `apiVersion`.
pub const API_VERSION: &str = "secretsync.io/v1alpha1";
/// Name of the ADR's Azure Key Vault ClusterSecretStore.
pub const AZURE_STORE: &str = "azure-keyvault";
/// Name of the ADR's AWS Secrets Manager ClusterSecretStore.
pub const AWS_STORE: &str = "aws-secretsmanager";
/// Name of the ADR's Vault ClusterSecretStore.
pub const VAULT_STORE: &str = "vault";

/// A problem with `bootstrap.yaml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid YAML, or a field of the wrong type or unknown.
    #[error("{file}: {path}: {message}")]
    Parse {
        /// File name.
        file: String,
        /// Field path (`vault.pki.role`), `.` for the document.
        path: String,
        /// What was expected.
        message: String,
    },
    /// Well-formed, but a rule is broken.
    #[error("{file}: {field}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// Field path.
        field: String,
        /// What was expected.
        message: String,
    },
}

/// The whole file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bootstrap {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be [`KIND`].
    pub kind: String,
    /// The operator's namespace and ServiceAccount (the identity every store uses).
    #[serde(default)]
    pub operator: Operator,
    /// Phase 1: the cloud stores (absent = not used, e.g. a local kind cluster).
    #[serde(default)]
    pub stores: CloudStores,
    /// Phase 1: ExternalSecrets synced once directly, so Crossplane can start.
    #[serde(default)]
    pub bootstrap_secrets: Vec<BootstrapSecret>,
    /// Phase 2: Vault setup (absent = phase 2 is skipped).
    #[serde(default)]
    pub vault: Option<Vault>,
    /// Migration: cloud keys copied into Vault KV v2 (needs `vault`).
    #[serde(default)]
    pub migration: Vec<Migration>,
    /// Cut-over: ExternalSecrets (the bootstrap ones or any other, by namespace and name)
    /// switched to the `vault` store once every reference they read is covered by `migration`
    /// and rendering through `vault` is byte-identical to their Secret.
    #[serde(default)]
    pub cutover: Vec<CutoverRef>,
}

/// One cloud key (or one property of its JSON value) copied into Vault: KV v2 `secret/<to>`,
/// property [`VALUE_PROPERTY`].
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migration {
    /// `azure-keyvault` or `aws-secretsmanager`.
    pub store: String,
    /// The cloud key.
    pub key: String,
    /// A property of the cloud value (a JSON document), read as an ExternalSecret's
    /// `remoteRef.property` reads it; absent: the whole value.
    #[serde(default)]
    pub property: Option<String>,
    /// Path below `secret/`.
    pub to: String,
}

impl Migration {
    /// `<store>/<key>` or `<store>/<key>#<property>`: the provenance recorded in Vault.
    pub fn source(&self) -> String {
        match &self.property {
            Some(p) => format!("{}/{}#{p}", self.store, self.key),
            None => format!("{}/{}", self.store, self.key),
        }
    }
}

/// The KV property a migrated value is stored under.
pub const VALUE_PROPERTY: &str = "value";

/// An ExternalSecret to cut over: one of `bootstrapSecrets` or any other (created by a user,
/// Helm, GitOps).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CutoverRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The operator's identity.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operator {
    /// Namespace (ADR: `external-secrets`).
    #[serde(default = "default_operator")]
    pub namespace: String,
    /// ServiceAccount (ADR: `external-secrets`).
    #[serde(default = "default_operator")]
    pub service_account: String,
    /// Install the CRDs (default true).
    #[serde(default = "yes")]
    pub install_crds: bool,
    /// Drift key Secret shared with the operator (default `secretsync-drift-key`).
    #[serde(default)]
    pub drift_key_secret: Option<String>,
    /// Install the operator itself in phase 1 from these manifests: a YAML file or a
    /// kustomization directory such as `deploy/overlays/cluster-wide` (default: not installed).
    #[serde(default)]
    pub install: Option<String>,
}

impl Default for Operator {
    fn default() -> Self {
        Operator {
            namespace: default_operator(),
            service_account: default_operator(),
            install_crds: true,
            drift_key_secret: None,
            install: None,
        }
    }
}

fn default_operator() -> String {
    "external-secrets".into()
}

fn yes() -> bool {
    true
}

/// The cloud secret managers of phase 1.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudStores {
    /// Azure Key Vault through workload identity (ClusterSecretStore `azure-keyvault`).
    #[serde(default)]
    pub azure: Option<AzureStore>,
    /// AWS Secrets Manager through IRSA (ClusterSecretStore `aws-secretsmanager`).
    #[serde(default)]
    pub aws: Option<AwsStore>,
}

/// Azure Key Vault with workload identity.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureStore {
    /// `https://<name>.vault.azure.net`.
    pub vault_url: String,
    /// Client id of the managed identity / app registration (ServiceAccount annotation
    /// `azure.workload.identity/client-id`).
    pub client_id: String,
    /// Tenant id (annotation `azure.workload.identity/tenant-id`).
    pub tenant_id: String,
    /// Entra authority for sovereign or test clouds (`customCloudConfig.activeDirectoryEndpoint`).
    #[serde(default)]
    pub authority_host: Option<String>,
}

/// AWS Secrets Manager with IRSA.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsStore {
    /// Region (ADR: `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// IAM role for the ServiceAccount (annotation `eks.amazonaws.com/role-arn`).
    pub role_arn: String,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// One ExternalSecret of phase 1 (shaped like the ADR's `azure-credentials`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapSecret {
    /// ExternalSecret and target Secret name.
    pub name: String,
    /// Namespace (ADR: `crossplane-system`).
    pub namespace: String,
    /// `azure-keyvault` or `aws-secretsmanager`.
    pub store: String,
    /// ESO refreshInterval (default `1h`).
    #[serde(default = "default_refresh")]
    pub refresh_interval: String,
    /// Keys of the target Secret.
    pub data: Vec<SecretKeyRef>,
}

fn default_refresh() -> String {
    "1h".into()
}

/// One `data[]` entry.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Key in the target Secret.
    pub secret_key: String,
    /// Remote key in the store.
    pub remote_key: String,
    /// Property of a JSON value.
    #[serde(default)]
    pub property: Option<String>,
}

/// Phase 2: Vault / OpenBao.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vault {
    /// Where the bootstrapper reaches Vault (e.g. through a port-forward).
    pub address: String,
    /// `spec.provider.vault.server` of the `vault` store (ADR: `http://vault.vault:8200`).
    #[serde(default = "default_vault_server")]
    pub server: String,
    /// Extra CA (PEM file) trusted for `address`.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Kubernetes auth at `auth/kubernetes`.
    #[serde(default)]
    pub kubernetes: KubernetesAuth,
    /// AppRole for CI (absent = not set up).
    #[serde(default)]
    pub app_role: Option<AppRole>,
    /// Database secrets engine (absent = not set up).
    #[serde(default)]
    pub database: Option<Database>,
    /// PKI mount (absent = not set up).
    #[serde(default)]
    pub pki: Option<Pki>,
}

fn default_vault_server() -> String {
    "http://vault.vault:8200".into()
}

/// `auth/kubernetes/config`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesAuth {
    /// API server as Vault reaches it (default: the bootstrapper's own cluster URL).
    #[serde(default)]
    pub host: Option<String>,
    /// CA of that API server, PEM file (default: the bootstrapper's own cluster CA).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// ServiceAccount token issuer, when Vault should check it.
    #[serde(default)]
    pub issuer: Option<String>,
}

/// AppRole `ci` with its own policy.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppRole {
    /// Role name (default `ci`).
    #[serde(default = "default_ci")]
    pub role: String,
    /// Paths below `secret/` the role may read (`ci/*`).
    pub read_paths: Vec<String>,
}

fn default_ci() -> String {
    "ci".into()
}

/// Database secrets engine with one role.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Database {
    /// Mount path (default `database`).
    #[serde(default = "default_database")]
    pub mount: String,
    /// Connection name (default `postgres`).
    #[serde(default = "default_postgres")]
    pub connection: String,
    /// `host:port/dbname` (no credentials: those come from `username` and the password env).
    pub address: String,
    /// Admin user Vault connects as.
    pub username: String,
    /// Environment variable holding the admin password (default `SECRETSYNC_DB_PASSWORD`).
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// Role name.
    pub role: String,
    /// Lease TTL in seconds of issued credentials (default 3600).
    #[serde(default = "default_ttl")]
    pub default_ttl: u64,
}

fn default_database() -> String {
    "database".into()
}
fn default_postgres() -> String {
    "postgres".into()
}
fn default_password_env() -> String {
    "SECRETSYNC_DB_PASSWORD".into()
}
fn default_ttl() -> u64 {
    3600
}

/// PKI mount with a root CA and one role.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pki {
    /// Mount path (default `pki`).
    #[serde(default = "default_pki")]
    pub mount: String,
    /// Common name of the generated root CA.
    pub common_name: String,
    /// Role name.
    pub role: String,
    /// Domains the role may issue for (subdomains allowed).
    pub allowed_domains: Vec<String>,
    /// Max TTL of issued certificates in seconds (default 86400).
    #[serde(default = "default_cert_ttl")]
    pub max_ttl: u64,
}

fn default_pki() -> String {
    "pki".into()
}
fn default_cert_ttl() -> u64 {
    86400
}

/// Parses and validates `bootstrap.yaml`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Bootstrap, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    let config: Bootstrap = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ConfigError::Parse {
            file: file.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })?;
    validate(&config).map_err(|(field, message)| ConfigError::Invalid {
        file: file.to_string(),
        field,
        message,
    })?;
    Ok(config)
}

impl Bootstrap {
    /// Annotations the operator's ServiceAccount needs for workload identity and IRSA.
    pub fn service_account_annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(a) = &self.stores.azure {
            out.insert(
                "azure.workload.identity/client-id".to_string(),
                a.client_id.clone(),
            );
            out.insert(
                "azure.workload.identity/tenant-id".to_string(),
                a.tenant_id.clone(),
            );
        }
        if let Some(a) = &self.stores.aws {
            out.insert("eks.amazonaws.com/role-arn".to_string(), a.role_arn.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\n";

    #[test]
    fn the_example_parses() {
        let text = include_str!("../../../../examples/bootstrap/bootstrap.yaml");
        let c = parse("bootstrap.yaml", text).expect("example is valid");
        assert!(c.stores.azure.is_some() && c.stores.aws.is_some());
        assert!(c.vault.is_some());
        let kind = include_str!("../../../../examples/bootstrap/kind.yaml");
        let c = parse("kind.yaml", kind).expect("kind example is valid");
        assert!(c.stores.azure.is_none() && c.stores.aws.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let table: &[(&str, &str)] = &[
            ("apiVersion: v1\nkind: Bootstrap\n", "apiVersion"),
            ("apiVersion: secretsync.io/v1alpha1\nkind: X\n", "kind"),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nbogus: 1\n",
                "unknown field `bogus`",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nstores:\n  aws:\n    roleArn: nope\n",
                "stores.aws.roleArn",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nbootstrapSecrets:\n- name: a\n  namespace: b\n  store: aws-secretsmanager\n  data: [{secretKey: k, remoteKey: r}]\n",
                "bootstrapSecrets[0].store: store \"aws-secretsmanager\" is not configured",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: vault:8200\n",
                "vault.address",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: http://v\n  pki:\n    commonName: x\n    role: a/b\n    allowedDomains: [x]\n",
                "vault.pki.role",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: http://v\n  database:\n    address: postgres://u:p@h/db\n    username: u\n    role: r\n",
                "vault.database.address",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: http://v\n  pki:\n    commonName: x\n    role: r\n    allowedDomains: [x]\n    maxTtl: nope\n",
                "vault.pki.maxTtl",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nstores:\n  aws:\n    roleArn: arn:aws:iam::1:role/r\nvault:\n  address: http://v\nmigration:\n- {store: aws-secretsmanager, key: k, property: '', to: a/b}\n",
                "migration[0].property: expected a property of the cloud value",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: http://v\ncutover:\n- {namespace: Team, name: app}\n",
                "cutover[0].namespace: expected a DNS-1123 label",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault:\n  address: http://v\ncutover:\n- {namespace: team, name: app}\n- {namespace: team, name: app}\n",
                "cutover[1].name: team/app is listed twice",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\ncutover:\n- {namespace: team, name: app}\n",
                "vault: migration and cutover need the vault block",
            ),
            (
                "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nstores:\n  aws:\n    roleArn: arn:aws:iam::1:role/r\nbootstrapSecrets:\n- name: a\n  namespace: b\n  store: aws-secretsmanager\n  data: [{secretKey: k, remoteKey: r}]\nvault:\n  address: http://v\ncutover:\n- {namespace: b, name: a}\n",
                "cutover[0]: bootstrap secret b/a: data[0].remoteRef (key \"r\" of ClusterSecretStore aws-secretsmanager) is not in migration",
            ),
        ];
        for (text, want) in table {
            let err = parse("b.yaml", text).expect_err(text).to_string();
            assert!(err.starts_with("b.yaml: "), "{err}");
            assert!(err.contains(want), "{text:?}: {err:?} lacks {want:?}");
        }
        parse("b.yaml", MINIMAL).expect("minimal file");
        // any ExternalSecret may be listed; its references are checked when it is read
        parse(
            "b.yaml",
            &format!(
                "{MINIMAL}vault:\n  address: http://v\ncutover:\n- {{namespace: team, name: app}}\n"
            ),
        )
        .expect("an ExternalSecret the bootstrapper did not create");
    }

    #[test]
    fn annotations_follow_the_stores() {
        let text = format!(
            "{MINIMAL}stores:\n  aws:\n    roleArn: arn:aws:iam::1:role/r\n  azure:\n    vaultUrl: https://kv.vault.azure.net\n    clientId: c\n    tenantId: t\n"
        );
        let c = parse("b.yaml", &text).expect("valid");
        let a = c.service_account_annotations();
        assert_eq!(a["eks.amazonaws.com/role-arn"], "arn:aws:iam::1:role/r");
        assert_eq!(a["azure.workload.identity/client-id"], "c");
        assert_eq!(a["azure.workload.identity/tenant-id"], "t");
    }
}
