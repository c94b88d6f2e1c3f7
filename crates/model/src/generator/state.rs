//! `GeneratorState` (ESO `GeneratorStateSpec`): what a generator produced that must be cleaned
//! up later (a lease), with the generator manifest that produced it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The label naming the resource a state belongs to (ESO `GeneratorStateLabelOwnerKey`).
pub const OWNER_KEY_LABEL: &str = "generators.external-secrets.io/owner-key";

/// One generator output's state.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "GeneratorState",
    namespaced,
    status = "GeneratorStateStatus",
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "GC Deadline",
        type_ = "string",
        json_path = ".spec.garbageCollectionDeadline"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    derive = "Default",
    crates(
        kube_core = "::kube_core",
        k8s_openapi = "::k8s_openapi",
        schemars = "::schemars",
        serde = "::serde",
        serde_json = "::serde_json"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateSpec {
    /// When the state (and what it holds) is to be cleaned up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_collection_deadline: Option<Time>,
    /// The generator manifest that produced the state.
    #[serde(default)]
    #[schemars(schema_with = "crate::generator::any_json")]
    pub resource: serde_json::Value,
    /// The state the generator produced (never a credential).
    #[serde(default)]
    #[schemars(schema_with = "crate::generator::any_json")]
    pub state: serde_json::Value,
}

/// `GeneratorState` status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GeneratorStateStatus {
    /// Conditions (`Ready`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<GeneratorStateCondition>,
}

/// A `GeneratorState` condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason (`Created`, `Error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}
