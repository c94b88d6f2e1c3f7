//! Azure Key Vault + Entra ID double: one HTTPS listener on a free loopback port serving the Key
//! Vault secrets data plane (plus read-only keys and certificates), the Entra v2.0 token endpoint
//! and discovery documents, and managed-identity token endpoints.
//!
//! The server runs on **its own thread with its own Tokio runtime**, so [`AzureDouble::start`] is
//! a plain function usable from sync tests and from any Tokio runtime (including
//! `#[tokio::test]`'s current-thread one, even when the test blocks). Dropping the double stops it.
//!
//! See the crate README ("Azure Key Vault and Entra ID double") for the client recipes.

mod assertions;
mod entra;
mod jwt;
#[allow(
    clippy::result_large_err,
    reason = "handlers return the ready-made error response as Err; it is built once per request"
)]
mod managed_identity;
mod server;
mod setup;
mod state;
mod tls;
#[allow(
    clippy::result_large_err,
    reason = "handlers return the ready-made error response as Err; it is built once per request"
)]
mod vault;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use assertions::TestIssuer;
pub use entra::grant;
pub use managed_identity::SYSTEM_ASSIGNED_CLIENT_ID;
pub use setup::{CertificateOptions, ManagedIdentity, SecretOptions, TrustedIssuerKeys};
pub use tls::ClientCertificate;
pub use vault::SUPPORTED_API_VERSIONS;

use server::{Config, Shared};
use state::State;

/// Errors from starting or configuring the double.
#[derive(Debug, thiserror::Error)]
pub enum AzureDoubleError {
    /// Generating or loading certificates/keys failed.
    #[error("Azure double PKI: {0}")]
    Pki(String),
    /// Binding the listener or starting the server thread failed.
    #[error("Azure double server: {0}")]
    Server(String),
    /// A setup call got bad input (the message names the field and what was expected).
    #[error("Azure double setup: {0}")]
    InvalidInput(String),
}

/// Options for [`AzureDouble::start`].
#[derive(Debug, Clone)]
pub struct AzureDoubleOptions {
    /// Tenant of the vault: used in the challenge's `authorization` URL and required as `tid`
    /// of access tokens. Apps may be registered in other tenants too.
    pub tenant_id: String,
    /// Vault name; the server certificate also covers `{vault_name}.vault.azure.net`.
    pub vault_name: String,
    /// Lifetime of issued access tokens (set it short to test refresh at expiry).
    pub token_lifetime: Duration,
    /// Resource announced in the challenge and required as token audience.
    pub vault_resource: String,
    /// Value the App Service style managed-identity endpoint requires in `X-IDENTITY-HEADER`.
    pub identity_header: String,
}

impl Default for AzureDoubleOptions {
    fn default() -> Self {
        Self {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            vault_name: "secretsync-test".to_string(),
            token_lifetime: Duration::from_secs(3600),
            vault_resource: "https://vault.azure.net".to_string(),
            identity_header: "secretsync-identity-header".to_string(),
        }
    }
}

/// Token requests seen by the double, by grant (see [`grant`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequestCounts {
    /// Requests per grant label ([`grant::CLIENT_SECRET`], [`grant::FEDERATED`], ...).
    pub by_grant: std::collections::BTreeMap<String, u64>,
    /// How many of them were answered with an error.
    pub failures: u64,
}

impl TokenRequestCounts {
    /// Requests with this grant label.
    pub fn get(&self, grant: &str) -> u64 {
        self.by_grant.get(grant).copied().unwrap_or(0)
    }

    /// All token requests.
    pub fn total(&self) -> u64 {
        self.by_grant.values().sum()
    }
}

/// Vault requests seen by the double.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultRequestCounts {
    /// Authenticated requests per operation (`GetSecret`, `GetSecrets`, `GetSecretVersions`,
    /// `SetSecret`, `UpdateSecret`, `DeleteSecret`, `GetDeletedSecret`, `PurgeDeletedSecret`,
    /// `GetKey`, `GetCertificate`); throttled requests are not included.
    pub by_operation: std::collections::BTreeMap<String, u64>,
    /// Requests answered with the 401 challenge (no token, or an invalid one).
    pub unauthorized: u64,
    /// Requests answered with 429.
    pub throttled: u64,
}

impl VaultRequestCounts {
    /// Authenticated requests of this operation.
    pub fn get(&self, operation: &str) -> u64 {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    /// All authenticated, non-throttled requests.
    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }
}

/// A running Azure double. Stops when dropped.
pub struct AzureDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    vault_name: String,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AzureDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureDouble")
            .field("addr", &self.addr)
            .field("tenant_id", &self.shared.config.tenant_id)
            .finish_non_exhaustive()
    }
}

impl AzureDouble {
    /// Generates a CA and server certificate, binds `127.0.0.1:0` and starts serving on a
    /// dedicated thread. Returns once the listener is bound.
    pub fn start(opts: AzureDoubleOptions) -> Result<Self, AzureDoubleError> {
        let vault_dns = format!("{}.vault.azure.net", opts.vault_name);
        let pki = tls::generate_server_pki(std::slice::from_ref(&vault_dns))?;
        let signer = jwt::TokenSigner::generate().map_err(AzureDoubleError::Pki)?;
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| AzureDoubleError::Server(format!("binding 127.0.0.1:0: {e}")))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| AzureDoubleError::Server(format!("non-blocking listener: {e}")))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| AzureDoubleError::Server(format!("listener address: {e}")))?;
        let state = State {
            token_lifetime_secs: i64::try_from(opts.token_lifetime.as_secs()).unwrap_or(3600),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            config: Config {
                tenant_id: opts.tenant_id,
                base_url: format!("https://{addr}"),
                vault_resource: opts.vault_resource,
                identity_header: opts.identity_header,
            },
            signer,
            state: Mutex::new(state),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("azure-double")
            .enable_all()
            .build()
            .map_err(|e| AzureDoubleError::Server(format!("building the runtime: {e}")))?;
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("azure-double".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            server::accept_loop(listener, acceptor, server_shared, shutdown_rx)
                                .await;
                        }
                        Err(e) => eprintln!("azure double: cannot use the listener: {e}"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| AzureDoubleError::Server(format!("spawning the server thread: {e}")))?;
        Ok(Self {
            shared,
            addr,
            ca_pem: pki.ca_pem,
            vault_name: opts.vault_name,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The listener address (`127.0.0.1:{port}`).
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:{port}/`: the vault URL. Clients must disable challenge-resource
    /// verification with it (its host does not end in `.vault.azure.net`); see
    /// [`Self::vault_dns_url`] for the alternative.
    pub fn vault_url(&self) -> String {
        format!("https://{}/", self.addr)
    }

    /// `{vault_name}.vault.azure.net`, covered by the server certificate. Clients that resolve
    /// it to [`Self::socket_addr`] (reqwest `resolve`, a patched resolver) can use
    /// [`Self::vault_dns_url`] with challenge-resource verification left on.
    pub fn vault_dns_name(&self) -> String {
        format!("{}.vault.azure.net", self.vault_name)
    }

    /// `https://{vault_name}.vault.azure.net:{port}/`.
    pub fn vault_dns_url(&self) -> String {
        format!("https://{}:{}/", self.vault_dns_name(), self.addr.port())
    }

    /// `https://127.0.0.1:{port}` (no trailing slash): the Entra authority host
    /// (`AZURE_AUTHORITY_HOST`; Python `authority=`).
    pub fn authority_host(&self) -> String {
        self.shared.config.base_url.clone()
    }

    /// The vault tenant.
    pub fn tenant_id(&self) -> &str {
        &self.shared.config.tenant_id
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token` for the given tenant.
    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.shared.config.base_url)
    }

    /// IMDS style endpoint base (`https://127.0.0.1:{port}`); the path
    /// `/metadata/identity/oauth2/token` is appended by clients (Python:
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub fn managed_identity_endpoint(&self) -> String {
        self.shared.config.base_url.clone()
    }

    /// App Service style endpoint (`IDENTITY_ENDPOINT`): `https://127.0.0.1:{port}/msi/token`.
    pub fn app_service_identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.shared.config.base_url)
    }

    /// The `IDENTITY_HEADER` value the App Service style endpoint requires.
    pub fn identity_header(&self) -> &str {
        &self.shared.config.identity_header
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The JWKS the double signs its access tokens with.
    pub fn token_signing_jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [self.shared.signer.jwk()]})
    }

    /// Token requests so far (Entra endpoint and managed identity), by grant.
    pub fn token_requests(&self) -> TokenRequestCounts {
        let state = self.shared.lock();
        TokenRequestCounts {
            by_grant: state.counters.token_by_grant.clone(),
            failures: state.counters.token_failures,
        }
    }

    /// Vault requests so far, by operation.
    pub fn vault_requests(&self) -> VaultRequestCounts {
        let state = self.shared.lock();
        VaultRequestCounts {
            by_operation: state.counters.vault_by_operation.clone(),
            unauthorized: state.counters.vault_unauthorized,
            throttled: state.counters.vault_throttled,
        }
    }

    /// Sets all counters back to zero.
    pub fn reset_counters(&self) {
        self.shared.lock().counters = state::Counters::default();
    }

    /// Answers the next `n` authenticated vault requests with `429 Too Many Requests` and
    /// `Retry-After: {retry_after_secs}`.
    pub fn throttle_next(&self, n: u32, retry_after_secs: u64) {
        let mut state = self.shared.lock();
        state.throttle.remaining = n;
        state.throttle.retry_after_secs = retry_after_secs;
        state.throttle.path_fragment = None;
    }

    /// Like [`Self::throttle_next`], but only for requests whose path contains `path_fragment`
    /// (e.g. `/secrets/hot`), so other traffic is unaffected.
    pub fn throttle_next_matching(&self, path_fragment: &str, n: u32, retry_after_secs: u64) {
        let mut state = self.shared.lock();
        state.throttle.remaining = n;
        state.throttle.retry_after_secs = retry_after_secs;
        state.throttle.path_fragment = Some(path_fragment.to_string());
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime_secs =
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    }
}

impl Drop for AzureDouble {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
