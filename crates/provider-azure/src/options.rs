//! Process-level settings of the Azure provider, set by the binaries (not by store specs).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use secretsync_provider_support::{AmbientIdentity, ReadLimits, SharedClock};

/// Process-level settings shared by every Azure store of a process.
///
/// The binaries fill these from their environment (`AZURE_FEDERATED_TOKEN_FILE`,
/// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, ...);
/// the provider itself never reads environment variables.
#[derive(Clone, Debug)]
pub struct AzureOptions {
    /// Extra trusted root CA certificates (PEM, one or more per entry), added to the system roots.
    pub extra_root_certificates_pem: Vec<String>,
    /// The operator's own federated identity, used by `WorkloadIdentity` stores without
    /// `serviceAccountRef` (as ESO uses `AZURE_FEDERATED_TOKEN_FILE`).
    pub operator_workload_identity: Option<OperatorWorkloadIdentity>,
    /// Where `ManagedIdentity` stores get tokens.
    pub managed_identity: ManagedIdentityEndpoint,
    /// Timeout of one HTTP request (token endpoint, managed identity, Key Vault), from
    /// connecting until the whole body is read (a drip-feeding server cannot hold a call).
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// How many secrets `find` reads at once.
    pub find_concurrency: usize,
    /// Caps on response bodies, listing pages (`nextLink`) and `find` results.
    pub limits: ReadLimits,
    /// Whether SecretStores (not only ClusterSecretStores) may use the operator's own identity
    /// (`ManagedIdentity`, `WorkloadIdentity` without `serviceAccountRef`) and hosts outside
    /// the cloud's official domains.
    pub ambient_identity: AmbientIdentity,
    /// The clock token lifetimes are measured with.
    pub clock: SharedClock,
}

impl Default for AzureOptions {
    fn default() -> Self {
        AzureOptions {
            extra_root_certificates_pem: Vec::new(),
            operator_workload_identity: None,
            managed_identity: ManagedIdentityEndpoint::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            find_concurrency: 8,
            limits: ReadLimits::default(),
            ambient_identity: AmbientIdentity::default(),
            clock: SharedClock::default(),
        }
    }
}

impl AzureOptions {
    /// Default options with the identity settings a binary reads from its environment, given
    /// as a lookup (e.g. `|k| std::env::var(k).ok()`), as the Azure SDKs name them:
    /// `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` (all three, or
    /// none) for the operator's workload identity; `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` for
    /// an App Service style managed-identity endpoint, else `AZURE_POD_IDENTITY_AUTHORITY_HOST`
    /// as the IMDS address.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut options = AzureOptions::default();
        let wi = [
            get("AZURE_FEDERATED_TOKEN_FILE"),
            get("AZURE_CLIENT_ID"),
            get("AZURE_TENANT_ID"),
        ];
        match wi {
            [Some(file), Some(client_id), Some(tenant_id)] => {
                options.operator_workload_identity = Some(OperatorWorkloadIdentity {
                    token_file: PathBuf::from(file),
                    client_id,
                    tenant_id,
                });
            }
            [Some(_), _, _] => {
                return Err("AZURE_FEDERATED_TOKEN_FILE is set: expected AZURE_CLIENT_ID and AZURE_TENANT_ID as well".into());
            }
            _ => {}
        }
        match (get("IDENTITY_ENDPOINT"), get("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => {
                options.managed_identity = ManagedIdentityEndpoint::AppService {
                    endpoint,
                    header: SecretString::from(header),
                };
            }
            (Some(_), None) => {
                return Err("IDENTITY_ENDPOINT is set: expected IDENTITY_HEADER as well".into());
            }
            _ => {
                if let Some(base_url) = get("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
                    options.managed_identity = ManagedIdentityEndpoint::Imds { base_url };
                }
            }
        }
        Ok(options)
    }
}

/// The operator pod's own workload identity (what the Azure Workload Identity webhook injects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorWorkloadIdentity {
    /// File holding the projected ServiceAccount token (`AZURE_FEDERATED_TOKEN_FILE`); re-read
    /// for every token exchange, since the kubelet rotates it.
    pub token_file: PathBuf,
    /// App (client) id (`AZURE_CLIENT_ID`).
    pub client_id: String,
    /// Tenant id (`AZURE_TENANT_ID`); also the tenant fallback of `serviceAccountRef` stores.
    pub tenant_id: String,
}

/// The managed-identity token endpoint.
#[derive(Clone, Debug)]
pub enum ManagedIdentityEndpoint {
    /// Azure Instance Metadata Service style: `GET {base}/metadata/identity/oauth2/token`
    /// with `Metadata: true` and `api-version=2018-02-01`.
    Imds {
        /// Base URL, default `http://169.254.169.254`.
        base_url: String,
    },
    /// App Service / Container Apps style (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`):
    /// `GET {endpoint}?api-version=2019-08-01` with `X-IDENTITY-HEADER`.
    AppService {
        /// The full endpoint URL (`IDENTITY_ENDPOINT`).
        endpoint: String,
        /// The header value (`IDENTITY_HEADER`).
        header: SecretString,
    },
}

impl Default for ManagedIdentityEndpoint {
    fn default() -> Self {
        ManagedIdentityEndpoint::Imds {
            base_url: "http://169.254.169.254".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_settings_map_to_options() {
        let o = AzureOptions::from_lookup(lookup(&[
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                "/var/run/secrets/azure/tokens/azure-identity-token",
            ),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "t"),
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ]))
        .expect("options");
        let wi = o.operator_workload_identity.expect("operator identity");
        assert_eq!(wi.client_id, "c");
        assert_eq!(wi.tenant_id, "t");
        assert!(
            matches!(o.managed_identity, ManagedIdentityEndpoint::AppService { ref endpoint, .. } if endpoint == "http://localhost:42356/msi/token")
        );

        let o = AzureOptions::from_lookup(lookup(&[(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://10.0.0.1",
        )]))
        .expect("options");
        assert!(o.operator_workload_identity.is_none());
        assert!(
            matches!(o.managed_identity, ManagedIdentityEndpoint::Imds { ref base_url } if base_url == "http://10.0.0.1")
        );
    }

    #[test]
    fn incomplete_settings_are_rejected() {
        let err = AzureOptions::from_lookup(lookup(&[("AZURE_FEDERATED_TOKEN_FILE", "/t")]))
            .expect_err("partial");
        assert!(err.contains("AZURE_CLIENT_ID"), "{err}");
        let err = AzureOptions::from_lookup(lookup(&[("IDENTITY_ENDPOINT", "http://x")]))
            .expect_err("partial");
        assert!(err.contains("IDENTITY_HEADER"), "{err}");
    }
}
