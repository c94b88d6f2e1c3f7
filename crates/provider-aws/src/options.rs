//! Process-level settings of the AWS provider ([`AwsOptions`]).

use std::time::Duration;

use secretsync_provider_support::{AmbientIdentity, ReadLimits, SharedClock};

/// Settings that come from the process (flags, environment), not from the store spec.
///
/// The same options usually apply to every AWS store of a process. `Default` gives the
/// production values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsOptions {
    /// Endpoint for every AWS call the provider makes: Secrets Manager, Parameter Store and
    /// **all** STS calls (web identity, role chaining, IRSA from the environment). `None` uses
    /// the regional AWS endpoints. Used for emulators (moto, LocalStack) and VPC endpoints.
    pub endpoint_url: Option<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt of one API call.
    pub attempt_timeout: Duration,
    /// Time allowed for one API call. The SDK makes one attempt: retries are the engine's
    /// (see [`AwsProvider::with_retry_settings`](crate::AwsProvider::with_retry_settings)).
    pub operation_timeout: Duration,
    /// How long concurrent Secrets Manager reads of the latest version are collected
    /// before they go out as one `BatchGetSecretValue` call (a full batch of
    /// [`batch_size`](Self::batch_size) ids goes out at once).
    pub batch_window: Duration,
    /// Ids per `BatchGetSecretValue` call, 1 to 20 (the AWS limit). 1 disables batching.
    pub batch_size: usize,
    /// How long credentials without an expiry (static keys from `secretRef`, keys from the
    /// environment) are reused before they are resolved again, so rotated keys are picked up.
    pub static_credentials_ttl: Duration,
    /// Lifetime requested for ServiceAccount tokens exchanged with STS.
    pub service_account_token_lifetime: Duration,
    /// Session name for `AssumeRole` / `AssumeRoleWithWebIdentity`.
    pub role_session_name: String,
    /// Caps on listing pages (`NextToken`) and `find` results.
    pub limits: ReadLimits,
    /// Whether SecretStores (not only ClusterSecretStores) may use the process's own AWS
    /// credentials (a store without `auth`).
    pub ambient_identity: AmbientIdentity,
    /// The clock credential expiry is measured with.
    pub clock: SharedClock,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            endpoint_url: None,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
            operation_timeout: Duration::from_secs(45),
            batch_window: Duration::from_millis(5),
            batch_size: crate::secrets_manager::MAX_BATCH_SIZE,
            static_credentials_ttl: Duration::from_secs(60 * 60),
            service_account_token_lifetime: Duration::from_secs(10 * 60),
            role_session_name: "secretsync".to_string(),
            limits: ReadLimits::default(),
            ambient_identity: AmbientIdentity::default(),
            clock: SharedClock::default(),
        }
    }
}

impl AwsOptions {
    /// Options with an endpoint override (emulators, VPC endpoints) and production defaults.
    pub fn with_endpoint(endpoint_url: impl Into<String>) -> Self {
        AwsOptions {
            endpoint_url: Some(endpoint_url.into()),
            ..AwsOptions::default()
        }
    }
}
