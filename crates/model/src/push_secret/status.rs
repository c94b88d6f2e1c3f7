//! `status` of a PushSecret, as ESO writes it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PushSecretData;
use crate::meta::ConditionStatus;

/// What was pushed where: `<StoreKind>/<storeName>` → `<remoteKey>[/<property>]` → the entry
/// (ESO `SyncedPushSecretsMap`).
pub type SyncedPushSecretsMap = BTreeMap<String, BTreeMap<String, PushSecretData>>;

/// Observed state of a PushSecret (ESO `PushSecretStatus`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatus {
    /// Start time of the last successful push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<Time>,
    /// `<generation>-<hash of labels and annotations>` of the last pushed spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// Entries pushed (or found already present), per store.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub synced_push_secrets: SyncedPushSecretsMap,
    /// A single `Ready` condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PushSecretStatusCondition>,
}

/// A PushSecret or ClusterPushSecret condition (ESO `PushSecretStatusCondition`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatusCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// One of [`reasons`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message; never contains secret values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// ESO's PushSecret condition type and reasons.
pub mod reasons {
    /// The condition type.
    pub const READY: &str = "Ready";
    /// Every entry was pushed (or already present).
    pub const SYNCED: &str = "Synced";
    /// Pushing failed.
    pub const ERRORED: &str = "Errored";
    /// The source Secret was deleted and the pushed remote keys were removed.
    pub const SOURCE_DELETED: &str = "SourceDeleted";
}
