//! `spec.provider.aws` (ESO `AWSProvider`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{SecretKeySelector, ServiceAccountSelector};

/// AWS Secrets Manager / Parameter Store configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSpec {
    /// `SecretsManager` or `ParameterStore`.
    pub service: AwsService,
    /// How to get credentials; the SDK default chain (IRSA, pod identity, env) when empty.
    #[serde(default, skip_serializing_if = "AwsAuth::is_empty")]
    pub auth: AwsAuth,
    /// Role ARN assumed last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// AWS region.
    pub region: String,
    /// Role ARNs assumed in order before `role`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_roles: Vec<String>,
    /// External ID for AssumeRole.
    #[serde(
        rename = "externalID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// STS session tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_tags: Vec<AwsTag>,
    /// Secrets Manager delete settings (PushSecret only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_manager: Option<AwsSecretsManagerSettings>,
    /// Transitive session tag keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// `None` (default), `Simple` or `Custom` session tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tags_policy: Option<AwsSessionTagsPolicy>,
    /// Extra session tags for policy `Custom`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_session_tags: BTreeMap<String, String>,
    /// Prefix prepended to every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Which AWS service to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AwsService {
    /// AWS Secrets Manager.
    #[default]
    SecretsManager,
    /// AWS Systems Manager Parameter Store.
    ParameterStore,
}

/// AWS authentication; at most one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuth {
    /// Static keys from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AwsAuthSecretRef>,
    /// Web identity with a ServiceAccount token (IRSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<AwsJwtAuth>,
}

impl AwsAuth {
    /// True when neither method is set (use the default chain).
    pub fn is_empty(&self) -> bool {
        self.secret_ref.is_none() && self.jwt.is_none()
    }
}

/// Static AWS keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct AwsAuthSecretRef {
    /// Access key id.
    #[serde(rename = "accessKeyIDSecretRef", default)]
    pub access_key_id: SecretKeySelector,
    /// Secret access key.
    #[serde(rename = "secretAccessKeySecretRef", default)]
    pub secret_access_key: SecretKeySelector,
    /// Session token for temporary keys.
    #[serde(
        rename = "sessionTokenSecretRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_token: Option<SecretKeySelector>,
}

/// Web identity authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsJwtAuth {
    /// ServiceAccount whose token (audience `sts.amazonaws.com`) is exchanged; its
    /// `eks.amazonaws.com/role-arn` annotation names the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

/// An STS session tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct AwsTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Session tag policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AwsSessionTagsPolicy {
    /// No automatic tags.
    #[default]
    None,
    /// Adds `esoNamespace`, `esoStoreName`, `esoStoreKind`.
    Simple,
    /// `Simple` plus `customSessionTags`.
    Custom,
}

/// Secrets Manager delete settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSecretsManagerSettings {
    /// Delete without a recovery window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_delete_without_recovery: bool,
    /// Recovery window in days (7-30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i64>,
}
