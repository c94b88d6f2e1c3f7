//! `spec.provider.azurekv` (ESO `AzureKVProvider`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{SecretKeySelector, ServiceAccountSelector};

/// Azure Key Vault configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureKvSpec {
    /// `ServicePrincipal` (default), `ManagedIdentity` or `WorkloadIdentity`.
    #[serde(default)]
    pub auth_type: AzureAuthType,
    /// Vault URL, e.g. `https://my-vault.vault.azure.net`.
    pub vault_url: String,
    /// Tenant id (required for ServicePrincipal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Cloud whose endpoints to use.
    #[serde(default)]
    pub environment_type: AzureEnvironmentType,
    /// Client credentials from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AzureKvAuth>,
    /// ServiceAccount for WorkloadIdentity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// User-assigned managed identity (client id) to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// ESO switch between Azure SDKs; accepted and ignored (secretsync has one client).
    #[serde(
        rename = "useAzureSDK",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_azure_sdk: Option<bool>,
    /// Custom cloud endpoints (AzureStackCloud or private clouds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_cloud_config: Option<AzureCustomCloudConfig>,
}

/// Azure authentication types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AzureAuthType {
    /// Client secret or certificate of an app registration.
    #[default]
    ServicePrincipal,
    /// The pod's managed identity.
    ManagedIdentity,
    /// Federated ServiceAccount token.
    WorkloadIdentity,
}

/// Azure clouds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AzureEnvironmentType {
    /// Azure public cloud.
    #[default]
    PublicCloud,
    /// Azure US Government.
    USGovernmentCloud,
    /// Azure China.
    ChinaCloud,
    /// Azure Germany (retired; endpoints kept for compatibility).
    GermanCloud,
    /// Azure Stack; needs `customCloudConfig`.
    AzureStackCloud,
}

/// Client credentials for Azure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureKvAuth {
    /// Client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// Tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretKeySelector>,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeySelector>,
    /// Client certificate and key, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<SecretKeySelector>,
}

/// Custom cloud endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureCustomCloudConfig {
    /// Entra ID (authority) endpoint.
    pub active_directory_endpoint: String,
    /// Key Vault resource endpoint (token audience).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_vault_endpoint: Option<String>,
    /// Key Vault DNS suffix.
    #[serde(
        rename = "keyVaultDNSSuffix",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub key_vault_dns_suffix: Option<String>,
    /// Resource Manager endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_manager_endpoint: Option<String>,
    /// Audience for workload identity federation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}
