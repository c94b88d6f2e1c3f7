//! `ClusterGenerator`: a cluster-scoped generator of any kind (ESO `ClusterGeneratorSpec`).

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::kinds::{
    EcrAuthorizationTokenSpec, FakeSpec, PasswordSpec, StsSessionTokenSpec, UuidSpec,
    VaultDynamicSecretSpec,
};

/// A generator usable from every namespace.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "ClusterGenerator",
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
pub struct ClusterGeneratorSpec {
    /// The kind of the generator (`Password`, `UUID`, `VaultDynamicSecret`, ...).
    #[serde(default)]
    pub kind: String,
    /// The generator's spec, in the field matching `kind`.
    #[serde(default)]
    pub generator: ClusterGeneratorBody,
}

/// ESO `GeneratorSpec`: one field per kind. Kinds secretsync does not type are kept verbatim
/// (the CRD preserves them) so they are reported as unsupported, not seen as empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGeneratorBody {
    /// `kind: Password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_spec: Option<PasswordSpec>,
    /// `kind: UUID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid_spec: Option<UuidSpec>,
    /// `kind: Fake`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake_spec: Option<FakeSpec>,
    /// `kind: VaultDynamicSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_dynamic_secret_spec: Option<VaultDynamicSecretSpec>,
    /// `kind: STSSessionToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_session_token_spec: Option<StsSessionTokenSpec>,
    /// `kind: ECRAuthorizationToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr_authorization_token_spec: Option<EcrAuthorizationTokenSpec>,
    /// Specs of kinds secretsync does not implement, verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, serde_json::Value>,
}
