//! The namespaced generator kinds of `generators.external-secrets.io/v1alpha1`, field names as
//! ESO defines them (`apis/generators/v1alpha1/types_*.go`).

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::providers::AwsAuth;
use crate::providers::VaultSpec;
use crate::secret_store::RetrySettings;

/// ESO's default password length.
pub const DEFAULT_PASSWORD_LENGTH: i64 = 24;

fn default_password_length() -> i64 {
    DEFAULT_PASSWORD_LENGTH
}

/// Random passwords (ESO `PasswordSpec`).
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "Password",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    derive = "PartialEq",
    crates(
        kube_core = "::kube_core",
        k8s_openapi = "::k8s_openapi",
        schemars = "::schemars",
        serde = "::serde",
        serde_json = "::serde_json"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSpec {
    /// Length of the password (default 24; zero or less means the default, as in ESO).
    #[serde(default = "default_password_length")]
    pub length: i64,
    /// Number of digits (default 25% of the length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<i64>,
    /// Number of symbol characters (default 25% of the length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<i64>,
    /// The symbol characters to draw from (default ``~!@#$%^&*()_+`-={}|[]\:"<>?,./``).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_characters: Option<String>,
    /// No uppercase letters.
    #[serde(default)]
    pub no_upper: bool,
    /// Allow a character to appear more than once.
    #[serde(default)]
    pub allow_repeat: bool,
    /// The keys that receive a password each (default `password`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_keys: Vec<String>,
    /// Encoding of the generated password (default `raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<PasswordEncoding>,
}

impl Default for PasswordSpec {
    fn default() -> Self {
        PasswordSpec {
            length: DEFAULT_PASSWORD_LENGTH,
            digits: None,
            symbols: None,
            symbol_characters: None,
            no_upper: false,
            allow_repeat: false,
            secret_keys: Vec::new(),
            encoding: None,
        }
    }
}

/// `PasswordSpec.encoding`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PasswordEncoding {
    /// No encoding.
    #[default]
    Raw,
    /// Standard base64.
    Base64,
    /// URL-safe base64 (padded, as Go's `base64.URLEncoding`).
    Base64url,
    /// Standard base32 (padded).
    Base32,
    /// Lowercase hexadecimal.
    Hex,
}

/// Version 4 UUIDs (ESO `UUIDSpec`: no fields).
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "UUID",
    root = "Uuid",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
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
pub struct UuidSpec {}

/// Static data, for tests (ESO `FakeSpec`).
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "Fake",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
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
pub struct FakeSpec {
    /// Controller class that serves this generator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub controller: String,
    /// The data returned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// Dynamic secrets from Vault / OpenBao (ESO `VaultDynamicSecretSpec`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "VaultDynamicSecret",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
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
pub struct VaultDynamicSecretSpec {
    /// Controller class that serves this generator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub controller: String,
    /// HTTP method (`GET` reads, anything else writes `parameters`); ESO's default is `GET`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Body of a non-GET request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::generator::any_json")]
    pub parameters: Option<serde_json::Value>,
    /// Query parameters of a GET request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub get_parameters: BTreeMap<String, Vec<String>>,
    /// Which part of the response becomes the data: `Data` (default), `Auth` or `Raw`.
    #[serde(default)]
    pub result_type: VaultDynamicSecretResultType,
    /// HTTP retry settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<RetrySettings>,
    /// The Vault server and its authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<VaultSpec>,
    /// The Vault path, e.g. `database/creds/app` or `pki/issue/web`.
    #[serde(default)]
    pub path: String,
    /// Accept a response without data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty_response: bool,
}

/// `VaultDynamicSecretSpec.resultType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VaultDynamicSecretResultType {
    /// The response's `data`.
    #[default]
    Data,
    /// The response's `auth`.
    Auth,
    /// The whole response.
    Raw,
}

/// AWS STS session tokens (ESO `STSSessionTokenSpec`).
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "STSSessionToken",
    root = "StsSessionToken",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
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
pub struct StsSessionTokenSpec {
    /// AWS region.
    #[serde(default)]
    pub region: String,
    /// How to authenticate with AWS.
    #[serde(default)]
    pub auth: AwsAuth,
    /// Role to assume first.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// Parameters of `GetSessionToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<StsRequestParameters>,
}

/// ESO `RequestParameters` of an STS session token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StsRequestParameters {
    /// Validity in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<i32>,
    /// MFA device serial number or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// MFA token code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_code: Option<String>,
}

/// AWS ECR authorization tokens (ESO `ECRAuthorizationTokenSpec`).
#[derive(
    CustomResource, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "ECRAuthorizationToken",
    root = "EcrAuthorizationToken",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
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
pub struct EcrAuthorizationTokenSpec {
    /// AWS region.
    #[serde(default)]
    pub region: String,
    /// How to authenticate with AWS.
    #[serde(default)]
    pub auth: AwsAuth,
    /// Role to assume first.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// `private` (default) or `public`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}
