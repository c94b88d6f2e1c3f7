//! `spec.data[]` and `spec.dataFrom[]`: where values come from and how keys are shaped.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretStoreRef;

/// One Secret key filled from one remote value (ESO `ExternalSecretData`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// The key in the Kubernetes Secret (`^[-._a-zA-Z0-9]+$`, at most 253 characters; the
    /// CRD schema says so as ESO's does, so the API server rejects other keys at apply time).
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"), length(min = 1, max = 253))]
    pub secret_key: String,
    /// The remote value to read.
    pub remote_ref: RemoteRef,
    /// Reads this entry from another store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// Location of a provider value (ESO `ExternalSecretDataRemoteRef`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    /// Provider key, path or name.
    pub key: String,
    /// `None` (default) reads the value; `Fetch` reads the secret's tags/metadata instead.
    #[serde(default)]
    pub metadata_policy: MetadataPolicy,
    /// JSON path into the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Provider version (AWS stage or `uuid/<id>`, SSM number, Azure version, Vault KV v2 version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How keys produced by `dataFrom` are sanitised.
    #[serde(default)]
    pub conversion_strategy: ConversionStrategy,
    /// How fetched values are decoded.
    #[serde(default)]
    pub decoding_strategy: DecodingStrategy,
    /// What to do when a value contains NUL bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Whether to read a remote value or its metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum MetadataPolicy {
    /// Read the value.
    #[default]
    None,
    /// Read tags/metadata instead of the value.
    Fetch,
}

/// Key sanitising for `dataFrom` results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConversionStrategy {
    /// Invalid characters become `_`.
    #[default]
    Default,
    /// Invalid characters become `_UXXXX_`.
    Unicode,
}

/// Decoding applied to fetched values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DecodingStrategy {
    /// Use the value as is.
    #[default]
    None,
    /// Standard base64.
    Base64,
    /// URL-safe base64.
    #[serde(rename = "Base64URL")]
    Base64Url,
    /// Base64 or base64url when the value decodes, else as is.
    Auto,
}

/// What to do with NUL bytes in a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NullBytePolicy {
    /// Keep the value.
    #[default]
    Ignore,
    /// Fail the sync.
    Fail,
}

/// Per-entry store override for `data[]` (ESO `StoreSourceRef`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreSourceRef {
    /// The store to read this entry from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Deprecated in ESO and not implemented for `data[]`; rejected by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// Many keys from one source (ESO `ExternalSecretDataFromRemoteRef`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataFromRemoteRef {
    /// All JSON keys of one remote secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<RemoteRef>,
    /// All remote secrets matching a name pattern, path or tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<FindRef>,
    /// Key rewrites, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<Rewrite>,
    /// Reads from another store or from a generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreGeneratorSourceRef>,
}

/// Store or generator source for a `dataFrom` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreGeneratorSourceRef {
    /// The store to read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// A generator resource (not supported by secretsync yet; reported as such).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// Reference to an ESO generator resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRef {
    /// API version, `generators.external-secrets.io/v1alpha1` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Generator kind (Password, UUID, VaultDynamicSecret, ...).
    pub kind: String,
    /// Generator name.
    pub name: String,
}

/// Search for remote secrets (ESO `ExternalSecretFind`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindRef {
    /// Root path to search under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Tags that must all match exactly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// How found names are turned into Secret keys.
    #[serde(default)]
    pub conversion_strategy: ConversionStrategy,
    /// How found values are decoded.
    #[serde(default)]
    pub decoding_strategy: DecodingStrategy,
    /// What to do when a value contains NUL bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Name filter of a find.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct FindName {
    /// Regular expression (RE2 syntax) the remote name must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One key rewrite; exactly one operation must be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rewrite {
    /// Merge values of several keys into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<RewriteMerge>,
    /// Regexp replace-all on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Template applied to each key (`.value` is the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// Regexp rewrite.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RewriteRegexp {
    /// Pattern.
    pub source: String,
    /// Replacement (`$1` style groups).
    pub target: String,
}

/// Template rewrite.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RewriteTransform {
    /// Go template; `.value` is the key.
    pub template: String,
}

/// Merge rewrite (ESO `ExternalSecretRewriteMerge`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewriteMerge {
    /// Target key (required for strategy JSON).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub into: String,
    /// Keys in priority order for conflict resolution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<String>,
    /// `Strict` (default) or `IgnoreNotFound` for keys named in `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_policy: Option<MergePriorityPolicy>,
    /// `Error` (default) or `Ignore` on conflicts.
    #[serde(default)]
    pub conflict_policy: MergeConflictPolicy,
    /// `Extract` (default) or `JSON`.
    #[serde(default)]
    pub strategy: MergeStrategy,
}

/// What to do with priority keys that are absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MergePriorityPolicy {
    /// Absent priority keys are an error.
    #[default]
    Strict,
    /// Absent priority keys are skipped.
    IgnoreNotFound,
}

/// Conflict handling for merges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MergeConflictPolicy {
    /// Ignore conflicts.
    Ignore,
    /// Fail on conflicts.
    #[default]
    Error,
}

/// How a merge combines values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MergeStrategy {
    /// Merge the JSON keys of every value into the result.
    #[default]
    Extract,
    /// Merge into one JSON document under `into`.
    #[serde(rename = "JSON")]
    Json,
}
