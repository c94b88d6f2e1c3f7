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
    /// ExternalSecrets that read the same remote keys refresh at the same instants (each such
    /// group on its own phase), so one provider read per key serves them all
    /// ([`secretsync_engine::refresh::aligned_lead`]); the per-object jitter then applies only
    /// to objects that read nothing to share (generators) or refresh faster than every 2 s.
    pub align_refreshes: bool,
    /// ESO's flood gate (`--enable-flood-gate`): an ExternalSecret is not synced from a store
    /// whose `Ready` condition is not `True` (status `Ready=False`, no provider call, retried).
    /// On by default, as in ESO.
    pub flood_gate: bool,
    /// Run the ClusterSecretStore controller and accept ClusterSecretStore references.
    pub cluster_stores: bool,
    /// Run the ClusterExternalSecret controller.
    pub cluster_external_secrets: bool,
    /// Run the PushSecret controller (and, with `cluster_external_secrets`, ClusterPushSecret).
    pub push_secrets: bool,
    /// Watch (metadata only) credential Secrets read by stores, to requeue their users.
    pub watch_credential_secrets: bool,
    /// ClusterExternalSecret namespace re-scan interval when `refreshTime` is unset (ESO: 1 h).
    pub cluster_external_secret_interval: Duration,
    /// Deadline of one ExternalSecret reconcile once it holds a sync slot (provider reads,
    /// rendering, writes). Past it the reconcile is abandoned and reported as that object's sync
    /// error (`Ready=False`, retried with backoff), so one slow tenant endpoint cannot hold a
    /// slot for ever. Default 2 min.
    pub reconcile_timeout: Duration,
    /// How many rendered Secrets (for drift repair without a provider read) are kept; the least
    /// recently used is dropped beyond it (it is re-read from the provider when next needed).
    /// Default 1,000: the Secrets repaired or synced most recently, so a target another
    /// controller keeps fighting over is repaired from memory, while 10,000 ExternalSecrets
    /// do not hold 13 MB of values that a rare drift would need.
    pub render_cache_capacity: usize,
    /// How many ExternalSecret reconciles are held in flight at once, most of them waiting
    /// for one of the `concurrency` slots (where first syncs overtake refreshes and namespaces
    /// share fairly); later due ones wait in the runner's queue, in due order. Default 256:
    /// each holds a task and its decoded ExternalSecret, and what a first sync holds at its
    /// peak stays resident as heap fragmentation afterwards (at N=10,000 steady RSS was
    /// 64.2–64.4 MiB with 1,024, 60.6 MiB with 256, first sync unchanged at 323/s;
    /// `docs/benchmarks.md`). Never fewer than `concurrency` ([`Config::in_flight`]).
    pub reconciles_in_flight: u16,
    /// Routine events per second once [`Config::routine_event_burst`] is spent: `Created` and
    /// `Updated` on ExternalSecrets, a sync that went as expected (the `Ready` condition says
    /// so too). Beyond it they are skipped and counted (`secretsync_routine_events_skipped_total`);
    /// one namespace takes at most [`crate::events::NAMESPACE_SHARE`] of it; warnings and every
    /// other event are always published. A mass first sync then costs the
    /// API server two writes per ExternalSecret instead of three (docs/kube.md, "Events").
    /// Default 10.
    pub routine_events_per_second: f64,
    /// Routine events published at once before [`Config::routine_events_per_second`] holds.
    /// Default 100.
    pub routine_event_burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: None,
            controller_class: None,
            concurrency: 24,
            operator_namespace: "secretsync-system".to_string(),
            drift_key_secret: "secretsync-drift-key".to_string(),
            eso_data_hash: true,
            store_requeue_interval: Duration::from_secs(300),
            error_backoff_base: Duration::from_secs(1),
            error_backoff_max: Duration::from_secs(420),
            refresh_jitter: 0.1,
            align_refreshes: true,
            flood_gate: true,
            cluster_stores: true,
            cluster_external_secrets: true,
            push_secrets: true,
            watch_credential_secrets: true,
            cluster_external_secret_interval: Duration::from_secs(3600),
            reconcile_timeout: Duration::from_secs(120),
            render_cache_capacity: 1_000,
            reconciles_in_flight: 256,
            routine_events_per_second: 10.0,
            routine_event_burst: 100,
        }
    }
}

impl Config {
    /// The ExternalSecret reconciles held in flight: `reconciles_in_flight`, but at least one
    /// per slot, so the bound never lowers the `concurrency` asked for.
    pub fn in_flight(&self) -> u16 {
        self.reconciles_in_flight.max(self.concurrency).max(1)
    }

    /// The error backoff (`error_backoff_base` doubling up to `error_backoff_max`).
    pub fn backoff(&self) -> secretsync_engine::refresh::Backoff {
        secretsync_engine::refresh::Backoff {
            base: self.error_backoff_base,
            max: self.error_backoff_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_is_never_below_the_slots() {
        // (reconciles_in_flight, concurrency) → held in flight
        let cases = [
            (1024, 4, 1024),
            (2, 1, 2),
            (1024, 2000, 2000),
            (0, 0, 1),
            (0, 3, 3),
        ];
        for (reconciles_in_flight, concurrency, expected) in cases {
            let config = Config {
                reconciles_in_flight,
                concurrency,
                ..Config::default()
            };
            assert_eq!(
                config.in_flight(),
                expected,
                "in flight {reconciles_in_flight}, concurrency {concurrency}"
            );
        }
    }
}
