//! `bootstrap.yaml`: what the bootstrapper sets up. Typed, with unknown fields refused and every
//! error naming the field (`vault.database.role: ...`). It holds no secret value: the Vault
//! setup token and the database password come from the environment or a file at run time.

use std::collections::BTreeMap;

use serde::Deserialize;

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
    /// Cut-over: bootstrap ExternalSecrets switched to the `vault` store once every key they
    /// read is migrated and rendering through `vault` is byte-identical.
    #[serde(default)]
    pub cutover: Vec<CutoverRef>,
}

/// One cloud key copied into Vault: KV v2 `secret/<to>`, property [`VALUE_PROPERTY`].
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migration {
    /// `azure-keyvault` or `aws-secretsmanager`.
    pub store: String,
    /// The cloud key.
    pub key: String,
    /// Path below `secret/`.
    pub to: String,
}

/// The KV property a migrated value is stored under.
pub const VALUE_PROPERTY: &str = "value";

/// An ExternalSecret to cut over.
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
}

impl Default for Operator {
    fn default() -> Self {
        Operator {
            namespace: default_operator(),
            service_account: default_operator(),
            install_crds: true,
            drift_key_secret: None,
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

type Rule = Result<(), (String, String)>;

fn fail(field: impl Into<String>, message: impl Into<String>) -> Rule {
    Err((field.into(), message.into()))
}

/// A DNS-1123 label (namespaces, ServiceAccounts) or subdomain (Secrets) check.
fn is_name(s: &str, subdomain: bool) -> bool {
    let max = if subdomain { 253 } else { 63 };
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (subdomain && b == b'.')
        })
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A Vault path segment: no empty segments, no `..`, no leading or trailing `/`.
fn is_vault_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg != ".." && seg != ".")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

fn http_url(field: &str, s: &str) -> Rule {
    match url_scheme(s) {
        Some("http" | "https") => Ok(()),
        _ => fail(field, format!("expected an http(s) URL, got {s:?}")),
    }
}

fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, rest) = s.split_once("://")?;
    (!rest.is_empty()).then_some(scheme)
}

/// The rules beyond types.
pub fn validate(c: &Bootstrap) -> Rule {
    if c.api_version != API_VERSION {
        return fail("apiVersion", format!("expected {API_VERSION:?}"));
    }
    if c.kind != KIND {
        return fail("kind", format!("expected {KIND:?}"));
    }
    if !is_name(&c.operator.namespace, false) {
        return fail("operator.namespace", "expected a DNS-1123 label");
    }
    if !is_name(&c.operator.service_account, true) {
        return fail("operator.serviceAccount", "expected a DNS-1123 subdomain");
    }
    if let Some(a) = &c.stores.azure {
        http_url("stores.azure.vaultUrl", &a.vault_url)?;
        if let Some(h) = &a.authority_host {
            http_url("stores.azure.authorityHost", h)?;
        }
        for (field, v) in [("clientId", &a.client_id), ("tenantId", &a.tenant_id)] {
            if v.is_empty() {
                return fail(format!("stores.azure.{field}"), "must not be empty");
            }
        }
    }
    if let Some(a) = &c.stores.aws {
        if !a.role_arn.starts_with("arn:") {
            return fail("stores.aws.roleArn", "expected an IAM role ARN (arn:...)");
        }
        if a.region.is_empty() {
            return fail("stores.aws.region", "must not be empty");
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in c.bootstrap_secrets.iter().enumerate() {
        let at = |f: &str| format!("bootstrapSecrets[{i}].{f}");
        if !is_name(&s.name, true) {
            return fail(at("name"), "expected a DNS-1123 subdomain");
        }
        if !is_name(&s.namespace, false) {
            return fail(at("namespace"), "expected a DNS-1123 label");
        }
        if !seen.insert((s.namespace.clone(), s.name.clone())) {
            return fail(
                at("name"),
                format!("{}/{} is listed twice", s.namespace, s.name),
            );
        }
        let configured = match s.store.as_str() {
            AZURE_STORE => c.stores.azure.is_some(),
            AWS_STORE => c.stores.aws.is_some(),
            _ => {
                return fail(
                    at("store"),
                    format!(
                        "expected {AZURE_STORE:?} or {AWS_STORE:?}, got {:?}",
                        s.store
                    ),
                );
            }
        };
        if !configured {
            return fail(
                at("store"),
                format!("store {:?} is not configured under stores", s.store),
            );
        }
        if secretsync_model::duration::parse_go_duration(&s.refresh_interval).is_err() {
            return fail(at("refreshInterval"), "expected a Go duration such as 1h");
        }
        if s.data.is_empty() {
            return fail(at("data"), "expected at least one entry");
        }
        let mut keys = std::collections::BTreeSet::new();
        for (j, d) in s.data.iter().enumerate() {
            if d.secret_key.is_empty() || !keys.insert(d.secret_key.as_str()) {
                return fail(
                    at(&format!("data[{j}].secretKey")),
                    "expected a non-empty key, unique in this secret",
                );
            }
            if d.remote_key.is_empty() {
                return fail(at(&format!("data[{j}].remoteKey")), "must not be empty");
            }
        }
    }
    if let Some(v) = &c.vault {
        validate_vault(v)?;
    }
    validate_migration(c)
}

fn validate_migration(c: &Bootstrap) -> Rule {
    if c.vault.is_none() && (!c.migration.is_empty() || !c.cutover.is_empty()) {
        return fail("vault", "migration and cutover need the vault block");
    }
    let mut targets = std::collections::BTreeSet::new();
    for (i, m) in c.migration.iter().enumerate() {
        let at = |f: &str| format!("migration[{i}].{f}");
        let configured = match m.store.as_str() {
            AZURE_STORE => c.stores.azure.is_some(),
            AWS_STORE => c.stores.aws.is_some(),
            _ => false,
        };
        if !configured {
            return fail(at("store"), "expected a store configured under stores");
        }
        if m.key.is_empty() {
            return fail(at("key"), "must not be empty");
        }
        if !is_vault_path(&m.to) {
            return fail(
                at("to"),
                "expected a path below secret/ such as crossplane/azure",
            );
        }
        if !targets.insert(m.to.as_str()) {
            return fail(at("to"), format!("{:?} is the target of two keys", m.to));
        }
    }
    for (i, r) in c.cutover.iter().enumerate() {
        let Some(es) = c
            .bootstrap_secrets
            .iter()
            .find(|s| s.namespace == r.namespace && s.name == r.name)
        else {
            return fail(
                format!("cutover[{i}]"),
                format!("{}/{} is not one of bootstrapSecrets", r.namespace, r.name),
            );
        };
        for d in &es.data {
            let migrated = c
                .migration
                .iter()
                .any(|m| m.store == es.store && m.key == d.remote_key);
            if !migrated || d.property.is_some() {
                return fail(
                    format!("cutover[{i}]"),
                    format!(
                        "{}/{}: key {:?} of store {} is not in migration (or reads a property)",
                        r.namespace, r.name, d.remote_key, es.store
                    ),
                );
            }
        }
    }
    Ok(())
}

fn validate_vault(v: &Vault) -> Rule {
    http_url("vault.address", &v.address)?;
    http_url("vault.server", &v.server)?;
    if let Some(h) = &v.kubernetes.host {
        http_url("vault.kubernetes.host", h)?;
    }
    if let Some(a) = &v.app_role {
        if !is_vault_path(&a.role) || a.role.contains('/') {
            return fail("vault.appRole.role", "expected a role name");
        }
        if a.read_paths.is_empty() {
            return fail("vault.appRole.readPaths", "expected at least one path");
        }
        for (i, p) in a.read_paths.iter().enumerate() {
            let bare = p.strip_suffix("/*").or(p.strip_suffix('*')).unwrap_or(p);
            if !bare.is_empty() && !is_vault_path(bare) {
                return fail(
                    format!("vault.appRole.readPaths[{i}]"),
                    "expected a path below secret/ such as ci/*",
                );
            }
        }
    }
    if let Some(d) = &v.database {
        for (field, value) in [
            ("mount", &d.mount),
            ("connection", &d.connection),
            ("role", &d.role),
        ] {
            if !is_vault_path(value) || (field != "mount" && value.contains('/')) {
                return fail(format!("vault.database.{field}"), "expected a Vault name");
            }
        }
        if d.address.contains('@') || d.address.contains("://") {
            return fail(
                "vault.database.address",
                "expected host:port/dbname without scheme or credentials",
            );
        }
        if d.username.is_empty() {
            return fail("vault.database.username", "must not be empty");
        }
        if d.default_ttl == 0 {
            return fail("vault.database.defaultTtl", "expected seconds > 0");
        }
    }
    if let Some(p) = &v.pki {
        if !is_vault_path(&p.mount) {
            return fail("vault.pki.mount", "expected a Vault path");
        }
        if !is_vault_path(&p.role) || p.role.contains('/') {
            return fail("vault.pki.role", "expected a role name");
        }
        if p.common_name.is_empty() {
            return fail("vault.pki.commonName", "must not be empty");
        }
        if p.allowed_domains.is_empty() {
            return fail("vault.pki.allowedDomains", "expected at least one domain");
        }
        if p.max_ttl == 0 {
            return fail("vault.pki.maxTtl", "expected seconds > 0");
        }
    }
    Ok(())
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
        let text = include_str!("../../../examples/bootstrap/bootstrap.yaml");
        let c = parse("bootstrap.yaml", text).expect("example is valid");
        assert!(c.stores.azure.is_some() && c.stores.aws.is_some());
        assert!(c.vault.is_some());
        let kind = include_str!("../../../examples/bootstrap/kind.yaml");
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
        ];
        for (text, want) in table {
            let err = parse("b.yaml", text).expect_err(text).to_string();
            assert!(err.starts_with("b.yaml: "), "{err}");
            assert!(err.contains(want), "{text:?}: {err:?} lacks {want:?}");
        }
        parse("b.yaml", MINIMAL).expect("minimal file");
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
