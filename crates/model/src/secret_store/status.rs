//! Store status: `Ready` condition and capabilities.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::ConditionStatus;

/// Observed state of a store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// Conditions; a single `Ready` condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SecretStoreCondition>,
    /// What the store can do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<StoreCapabilities>,
}

/// A store condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// `Valid`, `InvalidStoreConfiguration`, `InvalidProviderConfig`, `ValidationFailed`, `ValidationUnknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// What a store can do (ESO `SecretStoreCapabilities`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StoreCapabilities {
    /// Read only.
    #[default]
    ReadOnly,
    /// Write only.
    WriteOnly,
    /// Read and write.
    ReadWrite,
}

/// Store condition reasons used by ESO.
pub mod store_reasons {
    /// The store validated.
    pub const VALID: &str = "Valid";
    /// The store spec is invalid.
    pub const INVALID_STORE: &str = "InvalidStoreConfiguration";
    /// The provider configuration is invalid.
    pub const INVALID_PROVIDER_CONFIG: &str = "InvalidProviderConfig";
    /// Validation against the provider failed.
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// Validation could not be performed (e.g. referent authentication).
    pub const VALIDATION_UNKNOWN: &str = "ValidationUnknown";
}
