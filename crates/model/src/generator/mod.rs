//! The `generators.external-secrets.io/v1alpha1` resources and the [`Generator`] trait.
//!
//! An ExternalSecret names a generator in `dataFrom[].sourceRef.generatorRef`: a namespaced
//! kind ([`kinds`]) or a [`ClusterGenerator`](cluster::ClusterGenerator). The host resolves the
//! reference to a [`GeneratorSpec`]; the engine hands it to the [`Generator`] serving its kind.
//! [`GeneratorState`](state::GeneratorState) keeps what a generator must clean up later.

pub mod cluster;
pub mod kinds;
pub mod lease;
pub mod state;

use std::sync::Arc;

use async_trait::async_trait;

use crate::credentials::CredentialResolver;
use crate::error::ProviderError;
use crate::value::SecretData;

pub use cluster::{ClusterGenerator, ClusterGeneratorBody, ClusterGeneratorSpec};
pub use kinds::{
    EcrAuthorizationToken, EcrAuthorizationTokenSpec, Fake, FakeSpec, Password, PasswordEncoding,
    PasswordSpec, StsRequestParameters, StsSessionToken, StsSessionTokenSpec, Uuid, UuidSpec,
    VaultDynamicSecret, VaultDynamicSecretResultType, VaultDynamicSecretSpec,
};
pub use lease::{LeaseKind, LeaseState};
pub use state::{GeneratorState, GeneratorStateSpec};

/// The generators API group.
pub const GROUP: &str = "generators.external-secrets.io";

/// The generators API version (`generators.external-secrets.io/v1alpha1`).
pub const API_VERSION: &str = "generators.external-secrets.io/v1alpha1";

/// The kind of a cluster-scoped generator.
pub const CLUSTER_GENERATOR: &str = "ClusterGenerator";

/// The namespaced kinds secretsync has types for, with their resource (plural) names.
pub const TYPED_KINDS: [(&str, &str); 6] = [
    ("Password", "passwords"),
    ("UUID", "uuids"),
    ("Fake", "fakes"),
    ("VaultDynamicSecret", "vaultdynamicsecrets"),
    ("STSSessionToken", "stssessiontokens"),
    ("ECRAuthorizationToken", "ecrauthorizationtokens"),
];

/// The resource (plural) name of a typed kind or of `ClusterGenerator`.
pub fn plural_of(kind: &str) -> Option<&'static str> {
    if kind == CLUSTER_GENERATOR {
        return Some("clustergenerators");
    }
    TYPED_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, plural)| *plural)
}

/// A generator's spec, resolved from a namespaced kind or a `ClusterGenerator`.
#[derive(Clone, Debug, PartialEq)]
pub enum GeneratorSpec {
    /// `Password`.
    Password(PasswordSpec),
    /// `UUID`.
    Uuid(UuidSpec),
    /// `Fake`.
    Fake(FakeSpec),
    /// `VaultDynamicSecret`.
    VaultDynamicSecret(Box<VaultDynamicSecretSpec>),
    /// `STSSessionToken`.
    StsSessionToken(Box<StsSessionTokenSpec>),
    /// `ECRAuthorizationToken`.
    EcrAuthorizationToken(Box<EcrAuthorizationTokenSpec>),
    /// A kind secretsync has no type for (`Webhook`, `SSHKey`, ...).
    Other {
        /// The kind.
        kind: String,
    },
}

impl GeneratorSpec {
    /// The resolved generator as `{"kind": K, "spec": {...}}`, kept in a `GeneratorState`'s
    /// `spec.resource` so its state can be renewed or cleaned up even after the generator
    /// object changed or was deleted. Holds references to credentials, never their values.
    pub fn to_resource(&self) -> serde_json::Value {
        let spec = match self {
            GeneratorSpec::Password(s) => serde_json::to_value(s),
            GeneratorSpec::Uuid(s) => serde_json::to_value(s),
            GeneratorSpec::Fake(s) => serde_json::to_value(s),
            GeneratorSpec::VaultDynamicSecret(s) => serde_json::to_value(s),
            GeneratorSpec::StsSessionToken(s) => serde_json::to_value(s),
            GeneratorSpec::EcrAuthorizationToken(s) => serde_json::to_value(s),
            GeneratorSpec::Other { .. } => Ok(serde_json::Value::Null),
        };
        serde_json::json!({"kind": self.kind(), "spec": spec.unwrap_or_default()})
    }

    /// Reads back [`GeneratorSpec::to_resource`].
    pub fn from_resource(resource: &serde_json::Value) -> Result<Self, String> {
        let kind = resource
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or("spec.resource.kind: expected a generator kind")?;
        Self::from_kind(kind, resource.get("spec").cloned().unwrap_or_default())
    }

    /// The generator kind (`Password`).
    pub fn kind(&self) -> &str {
        match self {
            GeneratorSpec::Password(_) => "Password",
            GeneratorSpec::Uuid(_) => "UUID",
            GeneratorSpec::Fake(_) => "Fake",
            GeneratorSpec::VaultDynamicSecret(_) => "VaultDynamicSecret",
            GeneratorSpec::StsSessionToken(_) => "STSSessionToken",
            GeneratorSpec::EcrAuthorizationToken(_) => "ECRAuthorizationToken",
            GeneratorSpec::Other { kind } => kind,
        }
    }

    /// The spec of a namespaced generator of `kind` (its `spec` field as JSON). Errors name the
    /// field (`spec.length`) and never echo a value.
    pub fn from_kind(kind: &str, spec: serde_json::Value) -> Result<Self, String> {
        let spec = if spec.is_null() {
            serde_json::json!({})
        } else {
            spec
        };
        Ok(match kind {
            "Password" => GeneratorSpec::Password(typed(spec)?),
            "UUID" => GeneratorSpec::Uuid(typed(spec)?),
            "Fake" => GeneratorSpec::Fake(typed(spec)?),
            "VaultDynamicSecret" => GeneratorSpec::VaultDynamicSecret(Box::new(typed(spec)?)),
            "STSSessionToken" => GeneratorSpec::StsSessionToken(Box::new(typed(spec)?)),
            "ECRAuthorizationToken" => GeneratorSpec::EcrAuthorizationToken(Box::new(typed(spec)?)),
            other => GeneratorSpec::Other {
                kind: other.to_string(),
            },
        })
    }
}

/// A generator object read from a manifest or the cluster: where it lives and its spec.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorObject {
    /// `Password`, `ClusterGenerator`, ...
    pub kind: String,
    /// Namespace (`None` for a `ClusterGenerator`).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// The resolved spec.
    pub spec: GeneratorSpec,
}

impl GeneratorObject {
    /// Reads a generator object of `kind` (its whole JSON: metadata and spec).
    pub fn from_json(kind: &str, object: &serde_json::Value) -> Result<Self, String> {
        let metadata = object.get("metadata");
        let text = |key: &str| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let spec_json = object.get("spec").cloned().unwrap_or_default();
        let spec = if kind == CLUSTER_GENERATOR {
            let cluster: ClusterGeneratorSpec = typed(spec_json)?;
            cluster.resolve()?
        } else {
            GeneratorSpec::from_kind(kind, spec_json)?
        };
        Ok(GeneratorObject {
            kind: kind.to_string(),
            namespace: text("namespace").filter(|_| kind != CLUSTER_GENERATOR),
            name: text("name").unwrap_or_default(),
            spec,
        })
    }
}

impl ClusterGeneratorSpec {
    /// The spec in the field matching `kind`, or an error naming the field that is missing.
    pub fn resolve(&self) -> Result<GeneratorSpec, String> {
        let body = &self.generator;
        let missing = |field: &str| {
            format!(
                "spec.generator.{field}: expected the spec of kind {:?}",
                self.kind
            )
        };
        Ok(match self.kind.as_str() {
            "Password" => GeneratorSpec::Password(
                body.password_spec
                    .clone()
                    .ok_or_else(|| missing("passwordSpec"))?,
            ),
            "UUID" => GeneratorSpec::Uuid(body.uuid_spec.clone().unwrap_or_default()),
            "Fake" => {
                GeneratorSpec::Fake(body.fake_spec.clone().ok_or_else(|| missing("fakeSpec"))?)
            }
            "VaultDynamicSecret" => GeneratorSpec::VaultDynamicSecret(Box::new(
                body.vault_dynamic_secret_spec
                    .clone()
                    .ok_or_else(|| missing("vaultDynamicSecretSpec"))?,
            )),
            "STSSessionToken" => GeneratorSpec::StsSessionToken(Box::new(
                body.sts_session_token_spec
                    .clone()
                    .ok_or_else(|| missing("stsSessionTokenSpec"))?,
            )),
            "ECRAuthorizationToken" => GeneratorSpec::EcrAuthorizationToken(Box::new(
                body.ecr_authorization_token_spec
                    .clone()
                    .ok_or_else(|| missing("ecrAuthorizationTokenSpec"))?,
            )),
            "" => return Err("spec.kind: expected a generator kind".into()),
            other => GeneratorSpec::Other {
                kind: other.to_string(),
            },
        })
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = crate::manifest::redact(&e.into_inner().to_string());
        if path == "." {
            format!("spec: {message}")
        } else {
            format!("spec.{path}: {message}")
        }
    })
}

/// The schema of a free-form JSON field (`x-kubernetes-preserve-unknown-fields`).
pub fn any_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// What one generation produced.
#[derive(Debug, Default)]
pub struct Generated {
    /// The values, by Secret key.
    pub data: SecretData,
    /// What must be kept to clean up later (a lease id and its expiry; never a credential).
    pub state: Option<serde_json::Value>,
}

/// One generation: the resolved spec and where it was referenced from.
pub struct GenerateRequest<'a> {
    /// The generator's spec.
    pub spec: &'a GeneratorSpec,
    /// Namespace of the ExternalSecret.
    pub namespace: &'a str,
    /// The generator as a store context (a namespaced generator counts as a SecretStore of its
    /// namespace, a ClusterGenerator as a ClusterSecretStore): identity rules and messages.
    pub context: crate::provider::StoreContext,
    /// Resolves the spec's credential references (with the namespace rules of a SecretStore
    /// in `namespace`).
    pub credentials: Arc<dyn CredentialResolver>,
}

/// A generator implementation (ESO `Generator`): one per kind.
#[async_trait]
pub trait Generator: Send + Sync {
    /// The kind served (`Password`).
    fn kind(&self) -> &'static str;

    /// Produces new values. Errors name fields, never values.
    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError>;

    /// Releases what a previous generation's `state` holds. Default: nothing to release.
    async fn cleanup(
        &self,
        _request: &GenerateRequest<'_>,
        _state: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Extends what a previous generation's `state` holds (a lease) without new values; returns
    /// the new state, or `None` when this kind renews nothing (the host then generates anew).
    async fn renew(
        &self,
        _request: &GenerateRequest<'_>,
        _state: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_resolve_from_json_with_eso_defaults() {
        let spec = GeneratorSpec::from_kind("Password", serde_json::json!({})).expect("valid");
        assert_eq!(spec, GeneratorSpec::Password(PasswordSpec::default()));
        assert_eq!(spec.kind(), "Password");
        let spec = GeneratorSpec::from_kind("UUID", serde_json::Value::Null).expect("valid");
        assert_eq!(spec.kind(), "UUID");
        let spec = GeneratorSpec::from_kind("Webhook", serde_json::json!({"url": "x"}));
        assert_eq!(
            spec,
            Ok(GeneratorSpec::Other {
                kind: "Webhook".into()
            })
        );
    }

    #[test]
    fn bad_fields_are_named_without_their_value() {
        let err = GeneratorSpec::from_kind("Password", serde_json::json!({"length": "s3cr3t"}))
            .expect_err("a string length");
        assert!(err.starts_with("spec.length:"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn cluster_generator_needs_the_spec_of_its_kind() {
        let spec: ClusterGeneratorSpec = serde_json::from_value(serde_json::json!({
            "kind": "Password", "generator": {"passwordSpec": {"length": 12}}
        }))
        .expect("valid");
        let GeneratorSpec::Password(p) = spec.resolve().expect("resolves") else {
            panic!("not a password");
        };
        assert_eq!(p.length, 12);
        let spec: ClusterGeneratorSpec = serde_json::from_value(serde_json::json!({
            "kind": "Password", "generator": {"fakeSpec": {}}
        }))
        .expect("valid");
        let err = spec.resolve().expect_err("wrong field");
        assert!(err.contains("spec.generator.passwordSpec"), "{err}");
        let spec: ClusterGeneratorSpec = serde_json::from_value(serde_json::json!({
            "kind": "SSHKey", "generator": {"sshKeySpec": {"keyType": "rsa"}}
        }))
        .expect("unknown kinds are kept");
        assert_eq!(spec.generator.other.len(), 1);
        assert_eq!(spec.resolve().expect("resolves").kind(), "SSHKey");
    }
}
