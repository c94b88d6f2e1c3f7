//! Process-level settings of the Azure provider, set by the binaries (not by store specs).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

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
    /// Timeout of one HTTP request (token endpoint, managed identity, Key Vault).
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// How many times one read is retried after `429 Too Many Requests`.
    pub max_throttle_retries: u32,
    /// Upper bound of one `Retry-After` wait; longer requests are capped to it.
    pub max_retry_after: Duration,
    /// Wait used when a `429` carries no usable `Retry-After`.
    pub default_retry_after: Duration,
    /// How many secrets `find` reads at once.
    pub find_concurrency: usize,
}

impl Default for AzureOptions {
    fn default() -> Self {
        AzureOptions {
            extra_root_certificates_pem: Vec::new(),
            operator_workload_identity: None,
            managed_identity: ManagedIdentityEndpoint::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_throttle_retries: 3,
            max_retry_after: Duration::from_secs(30),
            default_retry_after: Duration::from_secs(2),
            find_concurrency: 8,
        }
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
