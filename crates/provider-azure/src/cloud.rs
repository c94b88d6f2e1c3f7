//! Azure clouds: the Entra ID authority host and the Key Vault token resource of each
//! `environmentType`, with `customCloudConfig` overrides.

use secretsync_model::ProviderError;
use secretsync_model::providers::{AzureEnvironmentType, AzureKvSpec};

/// Endpoints of one cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEndpoints {
    /// Entra ID authority host, without a trailing slash (e.g. `https://login.microsoftonline.com`).
    pub authority_host: String,
    /// Key Vault resource (token audience), without a trailing slash (e.g. `https://vault.azure.net`).
    pub key_vault_resource: String,
}

impl CloudEndpoints {
    /// The well-known endpoints of a cloud; `None` for `AzureStackCloud`, which has none.
    pub fn well_known(environment: AzureEnvironmentType) -> Option<Self> {
        let (authority, resource) = match environment {
            AzureEnvironmentType::PublicCloud => (
                "https://login.microsoftonline.com",
                "https://vault.azure.net",
            ),
            AzureEnvironmentType::USGovernmentCloud => (
                "https://login.microsoftonline.us",
                "https://vault.usgovcloudapi.net",
            ),
            AzureEnvironmentType::ChinaCloud => {
                ("https://login.chinacloudapi.cn", "https://vault.azure.cn")
            }
            AzureEnvironmentType::GermanCloud => (
                "https://login.microsoftonline.de",
                "https://vault.microsoftazure.de",
            ),
            AzureEnvironmentType::AzureStackCloud => return None,
        };
        Some(CloudEndpoints {
            authority_host: authority.to_string(),
            key_vault_resource: resource.to_string(),
        })
    }

    /// The endpoints a store uses: the cloud's, overridden by `customCloudConfig`
    /// (`activeDirectoryEndpoint` → authority, `keyVaultEndpoint` → resource).
    pub fn for_spec(spec: &AzureKvSpec) -> Result<Self, ProviderError> {
        let base = CloudEndpoints::well_known(spec.environment_type);
        let Some(custom) = &spec.custom_cloud_config else {
            return base.ok_or_else(|| {
                ProviderError::InvalidStoreConfig(
                    "spec.provider.azurekv.customCloudConfig: expected custom endpoints when environmentType is AzureStackCloud".into(),
                )
            });
        };
        let authority = custom.active_directory_endpoint.trim();
        if authority.is_empty() {
            return Err(ProviderError::InvalidStoreConfig(
                "spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint: expected the Entra ID authority URL".into(),
            ));
        }
        let resource = match (&custom.key_vault_endpoint, &base) {
            (Some(r), _) if !r.trim().is_empty() => r.trim().to_string(),
            (_, Some(base)) => base.key_vault_resource.clone(),
            (_, None) => {
                return Err(ProviderError::InvalidStoreConfig(
                    "spec.provider.azurekv.customCloudConfig.keyVaultEndpoint: expected the Key Vault resource URL for AzureStackCloud".into(),
                ));
            }
        };
        let endpoints = CloudEndpoints {
            authority_host: authority.trim_end_matches('/').to_string(),
            key_vault_resource: resource.trim_end_matches('/').to_string(),
        };
        require_https(
            "spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint",
            &endpoints.authority_host,
        )?;
        Ok(endpoints)
    }

    /// The OAuth scope for Key Vault tokens: `{resource}/.default`.
    pub fn key_vault_scope(&self) -> String {
        format!("{}/.default", self.key_vault_resource)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.authority_host)
    }
}

/// Bearer tokens and client credentials travel only over TLS.
pub(crate) fn require_https(field: &str, value: &str) -> Result<url::Url, ProviderError> {
    let parsed = url::Url::parse(value).map_err(|e| {
        ProviderError::InvalidStoreConfig(format!(
            "{field}: expected an https:// URL, got {value:?} ({e})"
        ))
    })?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "{field}: expected an https:// URL with a host, got {value:?} (tokens are only sent over TLS)"
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::providers::AzureCustomCloudConfig;

    fn spec(env: AzureEnvironmentType) -> AzureKvSpec {
        AzureKvSpec {
            vault_url: "https://v.vault.azure.net".into(),
            environment_type: env,
            ..AzureKvSpec::default()
        }
    }

    #[test]
    fn each_cloud_has_its_authority_and_resource() {
        let cases = [
            (
                AzureEnvironmentType::PublicCloud,
                "https://login.microsoftonline.com",
                "https://vault.azure.net",
            ),
            (
                AzureEnvironmentType::USGovernmentCloud,
                "https://login.microsoftonline.us",
                "https://vault.usgovcloudapi.net",
            ),
            (
                AzureEnvironmentType::ChinaCloud,
                "https://login.chinacloudapi.cn",
                "https://vault.azure.cn",
            ),
            (
                AzureEnvironmentType::GermanCloud,
                "https://login.microsoftonline.de",
                "https://vault.microsoftazure.de",
            ),
        ];
        for (env, authority, resource) in cases {
            let e = CloudEndpoints::for_spec(&spec(env)).expect("endpoints");
            assert_eq!(e.authority_host, authority, "{env:?}");
            assert_eq!(e.key_vault_resource, resource, "{env:?}");
            assert_eq!(e.key_vault_scope(), format!("{resource}/.default"));
        }
    }

    #[test]
    fn azure_stack_needs_custom_config_with_resource() {
        let err = CloudEndpoints::for_spec(&spec(AzureEnvironmentType::AzureStackCloud))
            .expect_err("no custom config");
        assert!(err.to_string().contains("customCloudConfig"), "{err}");
        let mut s = spec(AzureEnvironmentType::AzureStackCloud);
        s.custom_cloud_config = Some(AzureCustomCloudConfig {
            active_directory_endpoint: "https://login.local/".into(),
            ..Default::default()
        });
        let err = CloudEndpoints::for_spec(&s).expect_err("no resource");
        assert!(err.to_string().contains("keyVaultEndpoint"), "{err}");
        s.custom_cloud_config = Some(AzureCustomCloudConfig {
            active_directory_endpoint: "https://login.local/".into(),
            key_vault_endpoint: Some("https://vault.local/".into()),
            ..Default::default()
        });
        let e = CloudEndpoints::for_spec(&s).expect("endpoints");
        assert_eq!(e.authority_host, "https://login.local");
        assert_eq!(e.key_vault_resource, "https://vault.local");
        assert_eq!(
            e.token_endpoint("t1"),
            "https://login.local/t1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn custom_authority_overrides_the_cloud_and_must_be_https() {
        let mut s = spec(AzureEnvironmentType::PublicCloud);
        s.custom_cloud_config = Some(AzureCustomCloudConfig {
            active_directory_endpoint: "https://127.0.0.1:8443".into(),
            ..Default::default()
        });
        let e = CloudEndpoints::for_spec(&s).expect("endpoints");
        assert_eq!(e.authority_host, "https://127.0.0.1:8443");
        assert_eq!(e.key_vault_resource, "https://vault.azure.net");
        s.custom_cloud_config = Some(AzureCustomCloudConfig {
            active_directory_endpoint: "http://127.0.0.1:8443".into(),
            ..Default::default()
        });
        let err = CloudEndpoints::for_spec(&s).expect_err("plain http");
        assert!(err.to_string().contains("activeDirectoryEndpoint"), "{err}");
    }
}
