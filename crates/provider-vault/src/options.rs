//! Process-level settings of the Vault provider (not part of any store spec).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use secretsync_provider_support::{AmbientIdentity, ReadLimits, SharedClock};

/// Where Kubernetes mounts a pod's own ServiceAccount token.
pub const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Environment variable read by [`VaultOptions::with_environment_token`].
pub const TOKEN_ENVIRONMENT_VARIABLE: &str = "VAULT_TOKEN";

/// Settings that apply to every Vault store of a process: timeouts, limits, extra trust
/// anchors, who may use the operator's identity, and the CLI-only token from the environment.
#[derive(Clone, Debug)]
pub struct VaultOptions {
    /// Time limit for one HTTP request, from connecting until the whole body is read (a
    /// drip-feeding server cannot hold a call longer).
    pub request_timeout: Duration,
    /// Time limit for establishing a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Extra trusted root certificates (PEM). With a store `caBundle`/`caProvider` they are
    /// added to that bundle; otherwise they are added to the platform roots.
    pub extra_root_certificates_pem: Vec<Vec<u8>>,
    /// Token used when a store has no `auth` block. `None` (the default) makes such a store an
    /// error; the CLI sets it explicitly (see [`VaultOptions::with_environment_token`]).
    pub environment_token: Option<SecretString>,
    /// File holding the pod's ServiceAccount token, used by kubernetes auth without
    /// `serviceAccountRef`/`secretRef` (as ESO does).
    pub service_account_token_path: PathBuf,
    /// How many remote secrets `find` reads at once.
    pub find_concurrency: usize,
    /// Caps on response bodies, `find` results, LIST calls and LIST depth.
    pub limits: ReadLimits,
    /// Whether SecretStores (not only ClusterSecretStores) may use the pod's own token
    /// (kubernetes auth without `serviceAccountRef`/`secretRef`) or `environment_token`.
    pub ambient_identity: AmbientIdentity,
    /// The clock token lifetimes are measured with.
    pub clock: SharedClock,
}

impl Default for VaultOptions {
    fn default() -> Self {
        VaultOptions {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            extra_root_certificates_pem: Vec::new(),
            environment_token: None,
            service_account_token_path: PathBuf::from(DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH),
            find_concurrency: 8,
            limits: ReadLimits::default(),
            ambient_identity: AmbientIdentity::default(),
            clock: SharedClock::default(),
        }
    }
}

impl VaultOptions {
    /// Enables the token from `VAULT_TOKEN` for stores without `auth` (CLI use only).
    /// Leaves the options unchanged when the variable is unset or empty.
    pub fn with_environment_token(mut self) -> Self {
        if let Ok(token) = std::env::var(TOKEN_ENVIRONMENT_VARIABLE)
            && !token.is_empty()
        {
            self.environment_token = Some(SecretString::from(token));
        }
        self
    }
}
