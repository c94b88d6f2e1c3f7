//! `spec.provider.openBao` (ESO `OpenBaoProvider`, ESO v2.7+), served by the Vault provider.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{CaProvider, SecretKeySelector};
use crate::providers::{VaultAppRole, VaultAuth, VaultKvVersion, VaultSpec, VaultUserPassAuth};

/// The KV mount ESO's OpenBao provider uses when `path` is omitted.
pub const OPENBAO_DEFAULT_PATH: &str = "kv";

/// OpenBao KV store configuration (ESO's `provider.openBao`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenBaoSpec {
    /// How to authenticate: exactly one of `appRole`, `tokenSecretRef`, `userPass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<OpenBaoAuth>,
    /// Base64-encoded PEM CA bundle for the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// CA bundle from a Secret or ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CaProvider>,
    /// OpenBao namespace of the reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Server address, e.g. `https://openbao.example.com:8200`.
    pub server: String,
    /// KV mount path (`kv` when omitted); `/data` is appended for v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// KV engine version, `v2` by default.
    #[serde(default)]
    pub version: VaultKvVersion,
}

/// OpenBao authentication (ESO's `OpenBaoAuth`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenBaoAuth {
    /// AppRole login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// Namespace to log in to (defaults to the store's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A static token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// Username/password login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pass: Option<VaultUserPassAuth>,
}

impl OpenBaoSpec {
    /// The equivalent `vault` block: the same server, mount (`kv` by default, as ESO),
    /// version, namespaces, CA and auth method.
    pub fn to_vault_spec(&self) -> VaultSpec {
        VaultSpec {
            auth: self.auth.as_ref().map(|a| VaultAuth {
                namespace: a.namespace.clone(),
                token_secret_ref: a.token_secret_ref.clone(),
                app_role: a.app_role.clone(),
                user_pass: a.user_pass.clone(),
                ..VaultAuth::default()
            }),
            server: self.server.clone(),
            path: Some(
                self.path
                    .clone()
                    .filter(|p| !p.trim().is_empty())
                    .unwrap_or_else(|| OPENBAO_DEFAULT_PATH.to_string()),
            ),
            version: self.version,
            namespace: self.namespace.clone(),
            ca_bundle: self.ca_bundle.clone(),
            ca_provider: self.ca_provider.clone(),
            ..VaultSpec::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eso_openbao_block_maps_to_vault() {
        // ESO's docs/provider/openbao.md example shape (v2.7): appRole with roleRef.
        let spec: OpenBaoSpec = serde_json::from_value(serde_json::json!({
            "server": "https://openbao.example.com:8200",
            "namespace": "team",
            "auth": {
                "namespace": "admin",
                "appRole": {
                    "roleRef": {"name": "bao", "key": "role-id"},
                    "secretRef": {"name": "bao", "key": "secret-id"}
                }
            }
        }))
        .expect("ESO's openBao block parses");
        let vault = spec.to_vault_spec();
        assert_eq!(vault.path.as_deref(), Some("kv"), "ESO's default mount");
        assert_eq!(vault.version, VaultKvVersion::V2);
        assert_eq!(vault.namespace.as_deref(), Some("team"));
        let auth = vault.auth.expect("auth");
        assert_eq!(auth.namespace.as_deref(), Some("admin"));
        let app_role = auth.app_role.expect("appRole");
        assert_eq!(app_role.path, "approle", "ESO's default AppRole mount");
        assert_eq!(app_role.secret_ref.key.as_deref(), Some("secret-id"));
    }
}
