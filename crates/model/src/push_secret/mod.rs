//! The `PushSecret` custom resource (`external-secrets.io/v1alpha1`): publishes keys of a
//! Kubernetes Secret to providers. Field names and shapes are ESO's.

mod cluster;
mod status;
mod validate;

pub use cluster::*;
pub use status::*;
pub use validate::*;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::external_secret::{
    ExternalSecretTemplate, GeneratorRef, RewriteRegexp, RewriteTransform, StoreKind,
};

/// Desired state of a PushSecret (ESO `PushSecretSpec`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1alpha1",
    kind = "PushSecret",
    namespaced,
    status = "PushSecretStatus",
    shortname = "ps",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.refreshTime"),
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
pub struct PushSecretSpec {
    /// Go duration between pushes (default `1h0m0s`; `0` pushes once per change).
    #[serde(
        default = "default_refresh_interval",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_interval: Option<String>,
    /// The stores to push to.
    pub secret_store_refs: Vec<PushSecretStoreRef>,
    /// `Replace` (default) or `IfNotExists`.
    #[serde(default)]
    pub update_policy: PushSecretUpdatePolicy,
    /// `None` (default) or `Delete`: what happens to pushed remote keys when they are no
    /// longer pushed (entry removed, PushSecret deleted).
    #[serde(default)]
    pub deletion_policy: PushSecretDeletionPolicy,
    /// The source: a Secret (by name or labels) or a generator.
    pub selector: PushSecretSelector,
    /// One entry per remote key (or property) to push.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<PushSecretData>,
    /// Bulk push rules expanding source keys into provider entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_to: Vec<PushSecretDataTo>,
    /// Template applied to the source Secret before pushing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
}

/// ESO's CRD default for `spec.refreshInterval`.
pub const DEFAULT_REFRESH_INTERVAL: &str = "1h0m0s";

fn default_refresh_interval() -> Option<String> {
    Some(DEFAULT_REFRESH_INTERVAL.to_string())
}

/// A store (or stores, by labels) to push to (ESO `PushSecretStoreRef`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStoreRef {
    /// Name of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Selects stores by labels instead of by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// `SecretStore` (default) or `ClusterSecretStore`.
    #[serde(default)]
    pub kind: StoreKind,
}

/// ESO's `updatePolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PushSecretUpdatePolicy {
    /// Write the value whenever it differs from the remote one.
    #[default]
    Replace,
    /// Write only remote keys that do not exist yet.
    IfNotExists,
}

/// ESO's `deletionPolicy` for PushSecrets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PushSecretDeletionPolicy {
    /// Delete the remote keys this PushSecret pushed when they stop being pushed.
    Delete,
    /// Leave remote keys in place.
    #[default]
    None,
}

/// ESO's `conversionStrategy` for pushed values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PushSecretConversionStrategy {
    /// The Secret key is used as is.
    #[default]
    None,
    /// `_U<hex>_` sequences in the Secret key are turned back into the characters they encode.
    ReverseUnicode,
}

/// Where the source comes from; exactly one member (ESO `PushSecretSelector`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct PushSecretSelector {
    /// A Secret in the PushSecret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<PushSecretSecret>,
    /// A generator producing the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// The source Secret, by name or by labels (ESO `PushSecretSecret`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSecret {
    /// Name of the Secret (same namespace as the PushSecret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Selects Secrets by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// One push: a Secret key (or the whole Secret) to a remote key or property (ESO `PushSecretData`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretData {
    /// Which Secret key goes where.
    #[serde(rename = "match")]
    pub match_: PushSecretMatch,
    /// Provider-specific metadata (tags, labels, content type, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::push_secret::free_json")]
    pub metadata: Option<serde_json::Value>,
    /// How the Secret key is converted.
    #[serde(default)]
    pub conversion_strategy: PushSecretConversionStrategy,
}

/// Secret key and remote location (ESO `PushSecretMatch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretMatch {
    /// The Secret key to push; empty pushes the whole Secret as a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Where to push it.
    pub remote_ref: PushSecretRemoteRef,
}

/// Remote location of a push (ESO `PushSecretRemoteRef`).
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRemoteRef {
    /// Name of the provider secret.
    pub remote_key: String,
    /// Property within the provider secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

impl PushSecretRemoteRef {
    /// The property, when set and not empty.
    pub fn property(&self) -> Option<&str> {
        self.property.as_deref().filter(|p| !p.is_empty())
    }
}

impl PushSecretData {
    /// The Secret key, when set and not empty (empty: the whole Secret).
    pub fn secret_key(&self) -> Option<&str> {
        self.match_.secret_key.as_deref().filter(|k| !k.is_empty())
    }
}

/// Bulk push rule (ESO `PushSecretDataTo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataTo {
    /// The store to push to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<PushSecretStoreRef>,
    /// One remote secret receiving all matched keys as a JSON object; unset pushes each key
    /// to its own remote secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_key: Option<String>,
    /// Which source keys are pushed (all when unset).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_: Option<PushSecretDataToMatch>,
    /// Key rewrites applied in order (per-key mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<PushSecretRewrite>,
    /// Provider-specific metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::push_secret::free_json")]
    pub metadata: Option<serde_json::Value>,
    /// How source keys are converted.
    #[serde(default)]
    pub conversion_strategy: PushSecretConversionStrategy,
}

/// Key filter of a bulk push rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PushSecretDataToMatch {
    /// Regular expression the source key must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// A key rewrite of a bulk push rule; exactly one operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PushSecretRewrite {
    /// Regexp replace-all on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Template applied to each key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// Schema of ESO's `apiextensionsv1.JSON` fields: any JSON value, kept as written.
pub(crate) fn free_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

impl PushSecret {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}",
            self.metadata.namespace.as_deref().unwrap_or_default(),
            self.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

/// Finalizer ESO puts on PushSecrets with `deletionPolicy: Delete`.
pub const FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";
