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

/// The official domains of a cloud: its Entra authority, its Key Vault (and Managed HSM) DNS
/// suffixes and token resources.
struct OfficialDomains {
    authority: &'static str,
    vault_suffixes: &'static [&'static str],
    resources: &'static [&'static str],
}

fn official_domains(environment: AzureEnvironmentType) -> Option<OfficialDomains> {
    let domains = match environment {
        AzureEnvironmentType::PublicCloud => OfficialDomains {
            authority: "login.microsoftonline.com",
            vault_suffixes: &[".vault.azure.net", ".managedhsm.azure.net"],
            resources: &["https://vault.azure.net", "https://managedhsm.azure.net"],
        },
        AzureEnvironmentType::USGovernmentCloud => OfficialDomains {
            authority: "login.microsoftonline.us",
            vault_suffixes: &[".vault.usgovcloudapi.net", ".managedhsm.usgovcloudapi.net"],
            resources: &[
                "https://vault.usgovcloudapi.net",
                "https://managedhsm.usgovcloudapi.net",
            ],
        },
        AzureEnvironmentType::ChinaCloud => OfficialDomains {
            authority: "login.chinacloudapi.cn",
            vault_suffixes: &[".vault.azure.cn", ".managedhsm.azure.cn"],
            resources: &["https://vault.azure.cn", "https://managedhsm.azure.cn"],
        },
        AzureEnvironmentType::GermanCloud => OfficialDomains {
            authority: "login.microsoftonline.de",
            vault_suffixes: &[".vault.microsoftazure.de"],
            resources: &["https://vault.microsoftazure.de"],
        },
        AzureEnvironmentType::AzureStackCloud => return None,
    };
    Some(domains)
}

/// For stores a tenant writes (SecretStores): the vault, the authority and the token resource
/// must belong to the chosen cloud's official domains (default port), so a tenant cannot make
/// the operator send credentials or tokens to a host of its choosing. AzureStackCloud has no
/// official domains, so its custom endpoints are refused for such stores.
pub(crate) fn check_official_hosts(
    spec: &AzureKvSpec,
    vault: &url::Url,
    endpoints: &CloudEndpoints,
) -> Result<(), ProviderError> {
    const WHY: &str = "a SecretStore may only use the official endpoints of its cloud \
                       (an administrator can create a ClusterSecretStore, or allow any \
                       endpoint with --allow-operator-identity-in-secret-stores)";
    let Some(domains) = official_domains(spec.environment_type) else {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "spec.provider.azurekv.environmentType: AzureStackCloud endpoints are not official \
             Azure domains; {WHY}"
        )));
    };
    let default_port = |u: &url::Url| u.port().is_none_or(|p| p == 443);
    let host = vault.host_str().unwrap_or_default().to_ascii_lowercase();
    let vault_ok = default_port(vault)
        && domains
            .vault_suffixes
            .iter()
            .any(|suffix| host.len() > suffix.len() && host.ends_with(suffix));
    if !vault_ok {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "spec.provider.azurekv.vaultUrl: expected a host ending in {} for {:?}, got {host:?}; {WHY}",
            domains.vault_suffixes.join(" or "),
            spec.environment_type
        )));
    }
    let authority = url::Url::parse(&endpoints.authority_host).ok();
    let authority_ok = authority.as_ref().is_some_and(|u| {
        default_port(u)
            && u.host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(domains.authority))
    });
    if !authority_ok {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint: expected \
             https://{} for {:?}, got {:?}; {WHY}",
            domains.authority, spec.environment_type, endpoints.authority_host
        )));
    }
    if !domains
        .resources
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&endpoints.key_vault_resource))
    {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "spec.provider.azurekv.customCloudConfig.keyVaultEndpoint: expected {} for {:?}, \
             got {:?}; {WHY}",
            domains.resources.join(" or "),
            spec.environment_type,
            endpoints.key_vault_resource
        )));
    }
    Ok(())
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
    fn secret_store_hosts_must_be_official() {
        let check = |env, vault: &str, authority: Option<&str>, resource: Option<&str>| {
            let mut s = spec(env);
            s.vault_url = vault.into();
            if authority.is_some() || resource.is_some() {
                let base = CloudEndpoints::well_known(env);
                s.custom_cloud_config = Some(AzureCustomCloudConfig {
                    active_directory_endpoint: authority
                        .map(str::to_string)
                        .or_else(|| base.as_ref().map(|b| b.authority_host.clone()))
                        .unwrap_or_default(),
                    key_vault_endpoint: resource.map(str::to_string),
                    ..Default::default()
                });
            }
            let endpoints = CloudEndpoints::for_spec(&s)?;
            let url = url::Url::parse(vault).expect("url");
            check_official_hosts(&s, &url, &endpoints)
        };
        use AzureEnvironmentType::*;
        type Case<'a> = (
            AzureEnvironmentType,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: [Case<'_>; 11] = [
            (PublicCloud, "https://v.vault.azure.net", None, None, None),
            (PublicCloud, "https://V.Vault.Azure.NET/", None, None, None),
            (
                PublicCloud,
                "https://hsm.managedhsm.azure.net",
                None,
                Some("https://managedhsm.azure.net"),
                None,
            ),
            (
                USGovernmentCloud,
                "https://v.vault.usgovcloudapi.net",
                None,
                None,
                None,
            ),
            (ChinaCloud, "https://v.vault.azure.cn", None, None, None),
            (
                PublicCloud,
                "https://evil.example",
                None,
                None,
                Some("vaultUrl"),
            ),
            (
                PublicCloud,
                "https://vault.azure.net.evil.example",
                None,
                None,
                Some("vaultUrl"),
            ),
            (
                PublicCloud,
                "https://v.vault.azure.net:8443",
                None,
                None,
                Some("vaultUrl"),
            ),
            (
                PublicCloud,
                "https://v.vault.usgovcloudapi.net",
                None,
                None,
                Some("vaultUrl"),
            ),
            (
                PublicCloud,
                "https://v.vault.azure.net",
                Some("https://127.0.0.1:8443"),
                None,
                Some("activeDirectoryEndpoint"),
            ),
            (
                PublicCloud,
                "https://v.vault.azure.net",
                None,
                Some("https://management.azure.com"),
                Some("keyVaultEndpoint"),
            ),
        ];
        for (env, vault, authority, resource, refused_field) in cases {
            match (check(env, vault, authority, resource), refused_field) {
                (Ok(()), None) => {}
                (Err(e), Some(field)) => assert!(e.to_string().contains(field), "{vault}: {e}"),
                (got, want) => {
                    panic!("{vault} {authority:?} {resource:?}: {got:?}, expected {want:?}")
                }
            }
        }
        let e = check(
            AzureStackCloud,
            "https://v.vault.local",
            Some("https://login.local"),
            Some("https://vault.local"),
        )
        .expect_err("no official domains");
        assert!(e.to_string().contains("AzureStackCloud"), "{e}");
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
