//! Configuration of the controllers, filled in by the operator binary.

use std::time::Duration;

/// What [`crate::run`] needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Watch only this namespace (ExternalSecrets, SecretStores, Secrets); `None` = all.
    pub namespace: Option<String>,
    /// Controller class (`spec.controller` of stores); `None` serves `default` and unset.
    pub controller_class: Option<String>,
    /// Concurrent reconciles per controller. For ExternalSecrets this is the number of
    /// [`SyncGate`](crate::controller::priority::SyncGate) slots, where first syncs overtake
    /// refreshes.
    pub concurrency: u16,
    /// Namespace of the operator, holding the drift key Secret.
    pub operator_namespace: String,
    /// Name of the Secret holding the drift HMAC key.
    pub drift_key_secret: String,
    /// Also write ESO's unkeyed `reconcile.external-secrets.io/data-hash` annotation.
    pub eso_data_hash: bool,
    /// Store re-validation interval when a store sets no `refreshInterval` (ESO: 5 min).
    pub store_requeue_interval: Duration,
    /// First retry delay after a failed sync (ESO: 1 s).
    pub error_backoff_base: Duration,
    /// Ceiling of the retry delay (ESO: 7 min).
    pub error_backoff_max: Duration,
    /// Refreshes are scheduled up to this fraction of the interval early, spreading bursts
    /// (a deterministic per-object lead, see [`crate::controller::priority::refresh_lead`]).
    pub refresh_jitter: f64,
    /// ESO's flood gate (`--enable-flood-gate`): an ExternalSecret is not synced from a store
    /// whose `Ready` condition is not `True` (status `Ready=False`, no provider call, retried).
    /// On by default, as in ESO.
    pub flood_gate: bool,
    /// Run the ClusterSecretStore controller and accept ClusterSecretStore references.
    pub cluster_stores: bool,
    /// Run the ClusterExternalSecret controller.
    pub cluster_external_secrets: bool,
    /// Watch (metadata only) credential Secrets read by stores, to requeue their users.
    pub watch_credential_secrets: bool,
    /// ClusterExternalSecret namespace re-scan interval when `refreshTime` is unset (ESO: 1 h).
    pub cluster_external_secret_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: None,
            controller_class: None,
            concurrency: 4,
            operator_namespace: "secretsync-system".to_string(),
            drift_key_secret: "secretsync-drift-key".to_string(),
            eso_data_hash: true,
            store_requeue_interval: Duration::from_secs(300),
            error_backoff_base: Duration::from_secs(1),
            error_backoff_max: Duration::from_secs(420),
            refresh_jitter: 0.1,
            flood_gate: true,
            cluster_stores: true,
            cluster_external_secrets: true,
            watch_credential_secrets: true,
            cluster_external_secret_interval: Duration::from_secs(3600),
        }
    }
}

impl Config {
    /// The retry delay after `failures` consecutive failures.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
        self.error_backoff_base
            .saturating_mul(factor)
            .min(self.error_backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let c = Config::default();
        assert_eq!(c.backoff(1), Duration::from_secs(1));
        assert_eq!(c.backoff(2), Duration::from_secs(2));
        assert_eq!(c.backoff(4), Duration::from_secs(8));
        assert_eq!(c.backoff(40), Duration::from_secs(420));
    }
}
