//! `status` of an ExternalSecret, with ESO's fields and reasons plus per-key outcomes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{ConditionStatus, LocalObjectReference};

/// Observed state of an ExternalSecret (ESO fields plus `observedGeneration` and `keys`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// Start time of the last completed refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<Time>,
    /// `<generation>-<hash of labels and annotations>` of the last synced spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// Conditions; ESO uses a single `Ready` condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ExternalSecretCondition>,
    /// servicebinding.io binding to the produced Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<LocalObjectReference>,
    /// The `metadata.generation` this status describes (secretsync extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Outcome per Secret key, so a partial sync is visible (secretsync extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyOutcomeStatus>,
}

/// One condition of an ExternalSecret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretCondition {
    /// `Ready` (or `Deleted`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// One of the `reasons` constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message; never contains secret values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Outcome of one Secret key (or one `dataFrom` entry) in the last sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyOutcomeStatus {
    /// The Secret key, or `dataFrom[i]` for a dataFrom entry.
    pub key: String,
    /// `Synced`, `Missing` or `Failed`.
    pub state: String,
    /// Why, when not synced; never contains secret values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Condition types and reasons used by ESO.
pub mod reasons {
    /// The condition type ESO sets.
    pub const READY: &str = "Ready";
    /// Secret written and up to date.
    pub const SECRET_SYNCED: &str = "SecretSynced";
    /// Sync failed; the Secret (if any) was left untouched.
    pub const SECRET_SYNCED_ERROR: &str = "SecretSyncedError";
    /// Secret deleted because the provider returned no data (deletionPolicy Delete).
    pub const SECRET_DELETED: &str = "SecretDeleted";
    /// creationPolicy Merge and the target Secret does not exist.
    pub const SECRET_MISSING: &str = "SecretMissing";
    /// Event reason: Secret created.
    pub const CREATED: &str = "Created";
    /// Event reason: Secret updated.
    pub const UPDATED: &str = "Updated";
    /// Event reason: Secret deleted.
    pub const DELETED: &str = "Deleted";
    /// Event reason: writing failed.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// Event reason: a remote secret is missing and was skipped.
    pub const MISSING_PROVIDER_SECRET: &str = "MissingProviderSecret";
    /// Event: entries were served by the `secretsync.io/fallback-store` (secretsync only).
    pub const SERVED_FROM_FALLBACK: &str = "ServedFromFallback";
}
