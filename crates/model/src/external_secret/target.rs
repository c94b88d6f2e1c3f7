//! `spec.target`: the Secret to produce and its template.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DecodingStrategy;

/// The Kubernetes Secret an ExternalSecret produces (ESO `ExternalSecretTarget`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    /// Secret name; defaults to the ExternalSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the Secret is created and owned.
    #[serde(default)]
    pub creation_policy: CreationPolicy,
    /// What happens when the provider returns no data.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Blueprint of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
    /// Write a non-Secret manifest (needs ESO's unsafe generic targets; not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<TargetManifest>,
    /// Make the Secret immutable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
}

/// Generic target kind (ESO `spec.target.manifest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetManifest {
    /// API version of the target.
    pub api_version: String,
    /// Kind of the target.
    pub kind: String,
}

/// ESO's `creationPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CreationPolicy {
    /// Create the Secret, owned by the ExternalSecret (garbage-collected with it).
    #[default]
    Owner,
    /// Create/update the Secret without an owner.
    Orphan,
    /// Never create; merge keys into an existing Secret.
    Merge,
    /// Do not write a Secret.
    None,
    /// Create when absent, otherwise merge; no owner.
    CreateOrMerge,
}

/// ESO's `deletionPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the Secret when the provider has no data (requires creationPolicy Owner).
    Delete,
    /// Remove only the managed keys when the provider has no data.
    Merge,
    /// Keep the Secret when the provider has no data.
    #[default]
    Retain,
}

/// Blueprint of the produced Secret (ESO `ExternalSecretTemplate`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplate {
    /// Secret type (`Opaque` by default).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Template engine version; only `v2` exists.
    #[serde(default)]
    pub engine_version: TemplateEngineVersion,
    /// Labels and annotations of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// `Replace` (template output only) or `Merge` (provider keys plus template).
    #[serde(default)]
    pub merge_policy: TemplateMergePolicy,
    /// Go templates per Secret key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Templates taken from ConfigMaps, Secrets or literals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_from: Vec<TemplateFrom>,
}

/// Template engine versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateEngineVersion {
    /// Go `text/template` with sprig and ESO's functions.
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// Metadata applied to the produced Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateMetadata {
    /// Annotations (values are templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels (values are templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Finalizers to set on the Secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// How template output combines with provider data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateMergePolicy {
    /// Only template output lands in the Secret.
    #[default]
    Replace,
    /// Provider keys plus template output; the template wins.
    Merge,
}

/// A template source (ESO `TemplateFrom`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates stored in a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates stored in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// Where the rendered output goes.
    #[serde(default)]
    pub target: TemplateTarget,
    /// An inline template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// Decoding of this entry's rendered values (`None`, `Base64`, `Base64URL`, `Auto`) before
    /// they land in the target; `None` when omitted. `template.data` is never decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<DecodingStrategy>,
}

/// Where templateFrom output goes. ESO's field is a string matched case-insensitively
/// (`strings.EqualFold`, `strings.ToLower` in its template engine): `data`, `LABELS` and
/// `Annotations` all work, and empty means `Data`. Written back as `Data`, `Annotations`,
/// `Labels`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum TemplateTarget {
    /// Secret data.
    #[default]
    Data,
    /// Secret annotations.
    Annotations,
    /// Secret labels.
    Labels,
}

impl TemplateTarget {
    /// Parses ESO's value, ignoring case; empty is `Data`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "" | "data" => Some(TemplateTarget::Data),
            "annotations" => Some(TemplateTarget::Annotations),
            "labels" => Some(TemplateTarget::Labels),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for TemplateTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        TemplateTarget::parse(&value).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "templateFrom target {value:?}: expected Data, Annotations or Labels (any case)"
            ))
        })
    }
}

impl JsonSchema for TemplateTarget {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TemplateTarget".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            // Admission keeps other values out (they would not deserialize).
            "pattern": "^(?i:data|annotations|labels)?$",
            "description": "Where the rendered output goes: Data, Annotations or Labels, matched case-insensitively as ESO does."
        })
    }
}

/// Reference to a ConfigMap or Secret holding templates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateRef {
    /// Object name.
    pub name: String,
    /// Keys to use as templates.
    #[serde(default)]
    pub items: Vec<TemplateRefItem>,
}

/// One template key of a [`TemplateRef`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// Key in the ConfigMap or Secret.
    pub key: String,
    /// `Values` (render the value under the same key) or `KeysAndValues` (the output is YAML of keys and values).
    #[serde(default)]
    pub template_as: TemplateScope,
}

/// How a template item is interpreted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateScope {
    /// The rendered value becomes the value of the same key.
    #[default]
    Values,
    /// The rendered output is a YAML map of keys to values.
    KeysAndValues,
}
