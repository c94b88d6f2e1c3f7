//! `spec.provider.fake` (ESO `FakeProvider`): static data for tests and examples.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Static key/value pairs served by the fake provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FakeSpec {
    /// The entries.
    #[serde(default)]
    pub data: Vec<FakeData>,
    /// What validation reports (ESO's `ValidationResult`): 0 Ready, 1 Unknown, 2 Error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_result: Option<u8>,
}

/// One fake entry. The value is plain text in the store manifest: use it only for
/// non-sensitive examples and tests.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FakeData {
    /// Remote key.
    pub key: String,
    /// Value (a JSON document for structured values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Deprecated map form of a structured value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub value_map: BTreeMap<String, String>,
    /// Version this entry answers to; empty matches requests without a version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl std::fmt::Debug for FakeData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeData")
            .field("key", &self.key)
            .field("value", &self.value.as_ref().map(|_| "[REDACTED]"))
            .field("value_map_keys", &self.value_map.keys().collect::<Vec<_>>())
            .field("version", &self.version)
            .finish()
    }
}
