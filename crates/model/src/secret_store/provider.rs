//! `spec.provider`: exactly one provider block.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::providers::{AwsService, AwsSpec, AzureKvSpec, FakeSpec, OpenBaoSpec, VaultSpec};

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
    /// OpenBao (ESO's `openBao` block), served by the Vault provider.
    #[serde(default, rename = "openBao", skip_serializing_if = "Option::is_none")]
    pub open_bao: Option<OpenBaoSpec>,
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
    /// `openBao`.
    OpenBao(&'a OpenBaoSpec),
}

/// ESO's metric labels for reads through one provider
/// (`externalsecret_provider_api_calls_count{provider,call}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProviderMetricLabels {
    /// ESO's provider label, e.g. `AWS/SecretsManager`.
    pub provider: &'static str,
    /// ESO's call label of a single read, e.g. `GetSecretValue`.
    pub fetch_call: &'static str,
    /// ESO's call label of a listing (`find`), e.g. `ListSecrets`.
    pub find_call: &'static str,
}

impl ProviderConfig<'_> {
    /// The provider's field name in `spec.provider`.
    pub fn name(&self) -> &'static str {
        match self {
            ProviderConfig::Vault(_) => "vault",
            ProviderConfig::Aws(_) => "aws",
            ProviderConfig::AzureKv(_) => "azurekv",
            ProviderConfig::Fake(_) => "fake",
            ProviderConfig::OpenBao(_) => "openBao",
        }
    }

    /// ESO's metric labels for this provider (ESO's `runtime/constants`; ESO's OpenBao and fake
    /// providers record no calls, so their labels are the interface method names).
    pub fn metric_labels(&self) -> ProviderMetricLabels {
        let (provider, fetch_call, find_call) = match self {
            ProviderConfig::Vault(_) => ("HashiCorp/Vault", "ReadSecretData", "ListSecrets"),
            ProviderConfig::Aws(aws) => match aws.service {
                AwsService::SecretsManager => {
                    ("AWS/SecretsManager", "GetSecretValue", "ListSecrets")
                }
                AwsService::ParameterStore => {
                    ("AWS/ParameterStore", "GetParameter", "DescribeParameters")
                }
            },
            ProviderConfig::AzureKv(_) => ("Azure/KeyVault", "GetSecret", "GetSecrets"),
            ProviderConfig::Fake(_) => ("Fake", "GetSecret", "GetAllSecrets"),
            ProviderConfig::OpenBao(_) => ("OpenBao", "GetSecret", "GetAllSecrets"),
        };
        ProviderMetricLabels {
            provider,
            fetch_call,
            find_call,
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
            self.open_bao.as_ref().map(|_| "openBao"),
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
        if let Some(v) = &self.open_bao {
            return Ok(ProviderConfig::OpenBao(v));
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
                        "openBao" => out.open_bao = map.next_value()?,
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
