//! `spec.provider`: exactly one provider block.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::providers::{AwsSpec, AzureKvSpec, FakeSpec, VaultSpec};

/// The provider block of a store. Known providers are typed; any other ESO provider
/// (gcpsm, onepassword, ...) is kept verbatim in `other` so it can be reported as unsupported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct SecretStoreProvider {
    /// HashiCorp Vault / OpenBao.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultSpec>,
    /// AWS Secrets Manager or Parameter Store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSpec>,
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azurekv: Option<AzureKvSpec>,
    /// Static data, for tests and examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake: Option<FakeSpec>,
    /// Any other provider block, kept as written.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Which provider a store configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderConfig<'a> {
    /// `vault`.
    Vault(&'a VaultSpec),
    /// `aws`.
    Aws(&'a AwsSpec),
    /// `azurekv`.
    AzureKv(&'a AzureKvSpec),
    /// `fake`.
    Fake(&'a FakeSpec),
}

impl ProviderConfig<'_> {
    /// The provider's field name in `spec.provider`.
    pub fn name(&self) -> &'static str {
        match self {
            ProviderConfig::Vault(_) => "vault",
            ProviderConfig::Aws(_) => "aws",
            ProviderConfig::AzureKv(_) => "azurekv",
            ProviderConfig::Fake(_) => "fake",
        }
    }
}

impl SecretStoreProvider {
    /// Names of all provider blocks present, known or not.
    pub fn configured_names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            self.vault.as_ref().map(|_| "vault"),
            self.aws.as_ref().map(|_| "aws"),
            self.azurekv.as_ref().map(|_| "azurekv"),
            self.fake.as_ref().map(|_| "fake"),
        ]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
        names.extend(self.other.keys().cloned());
        names
    }

    /// The single configured provider, or an error naming what is wrong
    /// (none set, several set, or a provider secretsync does not support).
    pub fn config(&self) -> Result<ProviderConfig<'_>, ModelError> {
        let names = self.configured_names();
        match names.len() {
            0 => {
                return Err(ModelError::field(
                    "spec.provider",
                    "exactly one provider block, found none",
                ));
            }
            1 => {}
            _ => {
                return Err(ModelError::field(
                    "spec.provider",
                    format!("exactly one provider block, found {}", names.join(", ")),
                ));
            }
        }
        if let Some(v) = &self.vault {
            return Ok(ProviderConfig::Vault(v));
        }
        if let Some(v) = &self.aws {
            return Ok(ProviderConfig::Aws(v));
        }
        if let Some(v) = &self.azurekv {
            return Ok(ProviderConfig::AzureKv(v));
        }
        if let Some(v) = &self.fake {
            return Ok(ProviderConfig::Fake(v));
        }
        Err(ModelError::UnsupportedProvider {
            provider: names[0].clone(),
        })
    }
}

// Hand-written so that error paths stay precise (serde's `flatten` loses them).
impl<'de> Deserialize<'de> for SecretStoreProvider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProviderVisitor;
        impl<'de> serde::de::Visitor<'de> for ProviderVisitor {
            type Value = SecretStoreProvider;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map with exactly one provider block")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = SecretStoreProvider::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "vault" => out.vault = map.next_value()?,
                        "aws" => out.aws = map.next_value()?,
                        "azurekv" => out.azurekv = map.next_value()?,
                        "fake" => out.fake = map.next_value()?,
                        _ => {
                            let value: serde_json::Value = map.next_value()?;
                            out.other.insert(key, value);
                        }
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(ProviderVisitor)
    }
}
