//! Credentials from the CI environment (see `docs/ci.md`).
//!
//! A store gets the CLI's own identity in two cases:
//! - it names no credentials of its own: Vault without `auth`, AWS without `auth`, Azure
//!   `WorkloadIdentity` without `serviceAccountRef` or `ManagedIdentity`;
//! - `--env-credentials` names it: its own credentials (meant for the cluster, e.g. a
//!   ServiceAccount) are replaced by the environment's.
//!
//! AWS and Azure workload identity need nothing here: the providers read the standard
//! variables (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` and the SDK chain;
//! `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`). Vault logins and the
//! Azure client secret are turned into the store's own ESO auth block pointing at a reserved,
//! synthetic Secret ([`CI_SECRET`]) that only this layer serves, and only to the stores it
//! rewrote; its values are read from the environment or from files at each use (CI tokens
//! rotate).

mod environment;

pub use environment::CiEnvironment;

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use secretsync_model::SecretValue;
use secretsync_model::StoreId;
use secretsync_model::meta::SecretKeySelector;
use secretsync_model::providers::{
    AwsAuth, AzureAuthType, AzureKvAuth, VaultAppRole, VaultAuth, VaultJwtAuth,
};
use secretsync_model::secret_store::SecretStoreSpec;

/// Name of the synthetic Secret holding credentials from the environment.
pub const CI_SECRET: &str = "secretsync-cli-environment";

/// Where a credential comes from: a variable's value, or a file read at each use.
#[derive(Clone, Debug)]
pub enum Source {
    /// The value of a variable.
    Value {
        /// The variable (for messages).
        variable: String,
        /// Its value.
        value: SecretString,
    },
    /// A file named by a variable.
    File {
        /// The variable (for messages).
        variable: String,
        /// The file.
        path: PathBuf,
    },
}

impl Source {
    /// Reads the value (trimmed of surrounding whitespace, as tokens in files usually end with
    /// a newline). Errors name the variable and file, never the content.
    pub fn read(&self) -> Result<SecretValue, String> {
        match self {
            Source::Value { value, .. } => Ok(SecretValue::from(value.expose_secret().trim())),
            Source::File { variable, path } => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("{variable}: reading {}: {e}", path.display()))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("{variable}: {} is not UTF-8 text", path.display()))?;
                Ok(SecretValue::from(text.trim()))
            }
        }
    }

    fn variable(&self) -> &str {
        match self {
            Source::Value { variable, .. } | Source::File { variable, .. } => variable,
        }
    }
}

/// How the CLI logs in to Vault.
#[derive(Clone, Debug)]
pub enum VaultLogin {
    /// `VAULT_TOKEN` / `VAULT_TOKEN_FILE`.
    Token(Source),
    /// `VAULT_ROLE_ID[_FILE]` + `VAULT_SECRET_ID[_FILE]` at `VAULT_APPROLE_PATH` (`approle`).
    AppRole {
        /// Mount path.
        path: String,
        /// Role id.
        role_id: Source,
        /// Secret id.
        secret_id: Source,
    },
    /// `VAULT_JWT[_FILE]` (the CI's OIDC token) at `VAULT_JWT_PATH` (`jwt`) as `VAULT_JWT_ROLE`.
    Jwt {
        /// Mount path.
        path: String,
        /// Role (the method's default role when unset).
        role: Option<String>,
        /// The token.
        token: Source,
    },
}

/// Azure client-secret credentials: `AZURE_CLIENT_SECRET[_FILE]` + `AZURE_CLIENT_ID` +
/// `AZURE_TENANT_ID`.
#[derive(Clone, Debug)]
pub struct AzureClientSecret {
    /// Tenant id.
    pub tenant_id: String,
    /// Client (app) id.
    pub client_id: String,
    /// The secret.
    pub secret: Source,
}

/// The credentials the CI environment offers.
#[derive(Clone, Debug, Default)]
pub struct CiCredentials {
    /// Vault login, if any.
    pub vault: Option<VaultLogin>,
    /// Azure client secret, if any.
    pub azure_client_secret: Option<AzureClientSecret>,
    /// Whether an Azure federated token file is configured (the provider uses it itself).
    pub azure_federated: bool,
}

fn source(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<Source> {
    let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
    if let Some(value) = get(name) {
        return Some(Source::Value {
            variable: name.to_string(),
            value: SecretString::from(value),
        });
    }
    let file = format!("{name}_FILE");
    get(&file).map(|path| Source::File {
        variable: file,
        path: PathBuf::from(path),
    })
}

impl CiCredentials {
    /// Reads the variables through `lookup`. Vault: a token wins over AppRole, which wins over
    /// JWT. Half a configuration (a role id without a secret id) is an error naming both.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mount = |var: &str, default: &str| {
            get(var)
                .map(|p| p.trim_matches('/').to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let approle = match (
            source(&lookup, "VAULT_ROLE_ID"),
            source(&lookup, "VAULT_SECRET_ID"),
        ) {
            (Some(role_id), Some(secret_id)) => Some(VaultLogin::AppRole {
                path: mount("VAULT_APPROLE_PATH", "approle"),
                role_id,
                secret_id,
            }),
            (None, None) => None,
            (Some(s), None) | (None, Some(s)) => {
                return Err(format!(
                    "{} is set: Vault AppRole needs both VAULT_ROLE_ID[_FILE] and VAULT_SECRET_ID[_FILE]",
                    s.variable()
                ));
            }
        };
        let jwt = source(&lookup, "VAULT_JWT").map(|token| VaultLogin::Jwt {
            path: mount("VAULT_JWT_PATH", "jwt"),
            role: get("VAULT_JWT_ROLE"),
            token,
        });
        let vault = source(&lookup, "VAULT_TOKEN")
            .map(VaultLogin::Token)
            .or(approle)
            .or(jwt);
        let azure_client_secret = match source(&lookup, "AZURE_CLIENT_SECRET") {
            None => None,
            Some(secret) => match (get("AZURE_CLIENT_ID"), get("AZURE_TENANT_ID")) {
                (Some(client_id), Some(tenant_id)) => Some(AzureClientSecret {
                    tenant_id,
                    client_id,
                    secret,
                }),
                _ => {
                    return Err(format!(
                        "{} is set: expected AZURE_CLIENT_ID and AZURE_TENANT_ID as well",
                        secret.variable()
                    ));
                }
            },
        };
        Ok(CiCredentials {
            vault,
            azure_client_secret,
            azure_federated: get("AZURE_FEDERATED_TOKEN_FILE").is_some(),
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The value of a key of the synthetic Secret, if this environment has it.
    pub fn value(&self, key: &str) -> Option<Result<SecretValue, String>> {
        let source = match (key, &self.vault, &self.azure_client_secret) {
            (keys::VAULT_TOKEN, Some(VaultLogin::Token(s)), _)
            | (keys::VAULT_ROLE_ID, Some(VaultLogin::AppRole { role_id: s, .. }), _)
            | (keys::VAULT_SECRET_ID, Some(VaultLogin::AppRole { secret_id: s, .. }), _)
            | (keys::VAULT_JWT, Some(VaultLogin::Jwt { token: s, .. }), _)
            | (keys::AZURE_CLIENT_SECRET, _, Some(AzureClientSecret { secret: s, .. })) => s,
            (keys::AZURE_CLIENT_ID, _, Some(a)) => {
                return Some(Ok(SecretValue::from(a.client_id.as_str())));
            }
            _ => return None,
        };
        Some(source.read())
    }

    /// The store spec the CLI uses: `replace` drops the store's own credentials first; then a
    /// Vault store without `auth` gets the environment's login. `Ok((spec, true))` when the
    /// spec now reads the synthetic Secret.
    pub fn apply(
        &self,
        id: &StoreId,
        spec: &SecretStoreSpec,
        replace: bool,
    ) -> Result<(SecretStoreSpec, bool), String> {
        let mut spec = spec.clone();
        let mut synthetic = false;
        if let Some(vault) = spec.provider.vault.as_mut() {
            if replace {
                vault.auth = None;
            }
            if vault.auth.is_none() {
                vault.auth = Some(self.vault_auth().ok_or_else(|| {
                    format!(
                        "{id}: spec.provider.vault.auth is not set and the environment has no Vault credentials \
                         (expected VAULT_TOKEN[_FILE], VAULT_ROLE_ID[_FILE] + VAULT_SECRET_ID[_FILE], or VAULT_JWT[_FILE] with VAULT_JWT_ROLE)"
                    )
                })?);
                synthetic = true;
            }
        }
        if replace && let Some(aws) = spec.provider.aws.as_mut() {
            aws.auth = AwsAuth::default();
        }
        if replace && let Some(azure) = spec.provider.azurekv.as_mut() {
            azure.service_account_ref = None;
            azure.auth_secret_ref = None;
            if self.azure_federated {
                azure.auth_type = AzureAuthType::WorkloadIdentity;
            } else if let Some(cs) = &self.azure_client_secret {
                azure.auth_type = AzureAuthType::ServicePrincipal;
                azure.tenant_id = Some(cs.tenant_id.clone());
                azure.auth_secret_ref = Some(AzureKvAuth {
                    client_id: Some(selector(keys::AZURE_CLIENT_ID)),
                    client_secret: Some(selector(keys::AZURE_CLIENT_SECRET)),
                    ..Default::default()
                });
                synthetic = true;
            } else {
                azure.auth_type = AzureAuthType::ManagedIdentity;
            }
        }
        Ok((spec, synthetic))
    }

    fn vault_auth(&self) -> Option<VaultAuth> {
        let auth = match self.vault.as_ref()? {
            VaultLogin::Token(_) => VaultAuth {
                token_secret_ref: Some(selector(keys::VAULT_TOKEN)),
                ..Default::default()
            },
            VaultLogin::AppRole { path, .. } => VaultAuth {
                app_role: Some(VaultAppRole {
                    path: path.clone(),
                    role_id: None,
                    role_ref: Some(selector(keys::VAULT_ROLE_ID)),
                    secret_ref: selector(keys::VAULT_SECRET_ID),
                }),
                ..Default::default()
            },
            VaultLogin::Jwt { path, role, .. } => VaultAuth {
                jwt: Some(VaultJwtAuth {
                    path: path.clone(),
                    role: role.clone(),
                    secret_ref: Some(selector(keys::VAULT_JWT)),
                    kubernetes_service_account_token: None,
                }),
                ..Default::default()
            },
        };
        Some(auth)
    }
}

/// Keys of the synthetic Secret.
pub mod keys {
    /// Vault token.
    pub const VAULT_TOKEN: &str = "vault-token";
    /// Vault AppRole role id.
    pub const VAULT_ROLE_ID: &str = "vault-role-id";
    /// Vault AppRole secret id.
    pub const VAULT_SECRET_ID: &str = "vault-secret-id";
    /// The JWT for Vault's jwt auth.
    pub const VAULT_JWT: &str = "vault-jwt";
    /// Azure client id.
    pub const AZURE_CLIENT_ID: &str = "azure-client-id";
    /// Azure client secret.
    pub const AZURE_CLIENT_SECRET: &str = "azure-client-secret";
}

fn selector(key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: CI_SECRET.to_string(),
        namespace: None,
        key: Some(key.to_string()),
    }
}

/// Which stores `--env-credentials` names: `*`, `name`, or `Kind/name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorePatterns(Vec<String>);

impl StorePatterns {
    /// From the flag values (each may be a comma-separated list).
    pub fn new(values: &[String]) -> Self {
        StorePatterns(
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    }

    /// Whether store `id` is named.
    pub fn matches(&self, id: &StoreId) -> bool {
        let qualified = format!("{}/{}", id.kind, id.name);
        self.0
            .iter()
            .any(|p| p == "*" || *p == id.name || p.eq_ignore_ascii_case(&qualified))
    }
}

#[cfg(test)]
mod tests;
