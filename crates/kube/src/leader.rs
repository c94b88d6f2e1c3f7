//! Leader election on a `coordination.k8s.io/v1` Lease (client-go's algorithm, trimmed).
//!
//! - A candidate reads the Lease every retry period. It takes the Lease when nobody holds it,
//!   or when the holder's record (holder, renewTime) has not changed for the lease duration as
//!   measured on the candidate's own clock (no clock-skew assumptions, like client-go).
//! - Writes use the Lease's resourceVersion (optimistic concurrency), so two candidates can
//!   never both win the same round.
//! - The leader renews every retry period and gives up when it could not renew for the renew
//!   deadline (the caller then stops the controllers and exits).
//! - [`LeaderElector::release`] clears the holder on graceful shutdown so a standby takes over
//!   at its next retry instead of waiting out the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

/// Leader election timings and identity.
#[derive(Clone, Debug)]
pub struct LeaderSettings {
    /// Lease name.
    pub lease_name: String,
    /// Lease namespace.
    pub namespace: String,
    /// Holder identity.
    pub identity: String,
    /// Lease validity.
    pub lease_duration: Duration,
    /// Give-up time for renewals.
    pub renew_deadline: Duration,
    /// Attempt interval.
    pub retry_period: Duration,
}

/// A monotonic clock. The elector measures how long a Lease record has been unchanged with
/// it; tests inject a manual one instead of sleeping.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The runtime's clock (`tokio::time::Instant::now`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// What the elector currently knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not yet talked to the API server.
    Starting,
    /// Someone else leads; the last Lease read succeeded.
    Standby,
    /// We hold the Lease.
    Leading,
    /// We lost the Lease (or could not renew within the deadline).
    Lost,
}

/// The (holder, renewTime) we last saw and when we saw it change.
#[derive(Debug)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    at: Instant,
}

/// Acquires and renews one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaderSettings,
    observed: Option<Observed>,
    clock: std::sync::Arc<dyn Clock>,
}

/// Resolves once `shutdown` is true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

impl LeaderElector {
    /// An elector for `settings.lease_name` in `settings.namespace`.
    pub fn new(client: kube::Client, settings: LeaderSettings) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &settings.namespace),
            settings,
            observed: None,
            clock: std::sync::Arc::new(TokioClock),
        }
    }

    /// The same elector measuring time with `clock`.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn observe(&mut self, spec: Option<&LeaseSpec>) {
        let holder = spec
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty());
        let renew_time = spec.and_then(|s| s.renew_time.clone());
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|o| o.holder != holder || o.renew_time != renew_time);
        if changed {
            self.observed = Some(Observed {
                holder,
                renew_time,
                at: self.clock.now(),
            });
        }
    }

    /// One acquire-or-renew round: `Ok(true)` when we hold the Lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let me = self.settings.identity.clone();
        let name = self.settings.lease_name.clone();
        let Some(mut lease) = self.api.get_opt(&name).await? else {
            let now = micro_now();
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(seconds(self.settings.lease_duration)),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(created.spec.as_ref());
                    Ok(true)
                }
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        self.observe(lease.spec.as_ref());
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let held_by_other = holder.as_ref().is_some_and(|h| *h != me);
        if held_by_other {
            let their_duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.settings.lease_duration, Duration::from_secs);
            let now = self.clock.now();
            let seen_at = self.observed.as_ref().map_or(now, |o| o.at);
            if now.saturating_duration_since(seen_at) < their_duration {
                return Ok(false);
            }
        }
        let now = micro_now();
        let mut new_spec = spec.clone();
        new_spec.holder_identity = Some(me);
        new_spec.lease_duration_seconds = Some(seconds(self.settings.lease_duration));
        new_spec.renew_time = Some(now.clone());
        if holder.as_deref() != Some(self.settings.identity.as_str()) {
            new_spec.acquire_time = Some(now);
            new_spec.lease_transitions =
                Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        lease.spec = Some(new_spec);
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.observe(written.spec.as_ref());
                Ok(true)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs until `shutdown` turns true (then releases the Lease if held) or the Lease is lost.
    /// Publishes the role on `role`.
    pub async fn run(mut self, role: watch::Sender<Role>, mut shutdown: watch::Receiver<bool>) {
        let retry = self.settings.retry_period;
        let deadline = self.settings.renew_deadline;
        let mut last_renew: Option<Instant> = None;
        loop {
            let attempt = tokio::time::timeout(deadline, self.try_acquire_or_renew()).await;
            let leading = *role.borrow() == Role::Leading;
            match attempt {
                Ok(Ok(true)) => {
                    last_renew = Some(self.clock.now());
                    if !leading {
                        tracing::info!(lease = %self.settings.lease_name, identity = %self.settings.identity, "acquired the leader Lease");
                        role.send_replace(Role::Leading);
                    }
                }
                Ok(Ok(false)) if leading => {
                    tracing::error!(lease = %self.settings.lease_name, "another candidate took the leader Lease");
                    role.send_replace(Role::Lost);
                    return;
                }
                Ok(Ok(false)) => {
                    role.send_if_modified(|r| {
                        let changed = *r != Role::Standby;
                        *r = Role::Standby;
                        changed
                    });
                }
                Ok(Err(e)) => {
                    tracing::warn!(lease = %self.settings.lease_name, error = %e, "leader election round failed")
                }
                Err(_) => {
                    tracing::warn!(lease = %self.settings.lease_name, "leader election round timed out")
                }
            }
            if leading
                && last_renew
                    .is_some_and(|t| self.clock.now().saturating_duration_since(t) >= deadline)
            {
                tracing::error!(lease = %self.settings.lease_name, "could not renew the leader Lease within the renew deadline");
                role.send_replace(Role::Lost);
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = stopped(&mut shutdown) => {
                    let holding = *role.borrow() == Role::Leading;
                    if holding {
                        self.release().await;
                    }
                    return;
                }
            }
        }
    }

    /// Clears the holder if we hold the Lease (graceful shutdown).
    pub async fn release(&mut self) {
        let name = self.settings.lease_name.clone();
        let result = async {
            let Some(mut lease) = self.api.get_opt(&name).await? else {
                return Ok::<bool, kube::Error>(false);
            };
            let mut spec = lease.spec.clone().unwrap_or_default();
            if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
                return Ok(false);
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(micro_now());
            lease.spec = Some(spec);
            self.api
                .replace(&name, &PostParams::default(), &lease)
                .await?;
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => tracing::info!(lease = %name, "released the leader Lease"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(lease = %name, error = %e, "releasing the leader Lease failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

    fn settings(identity: &str) -> LeaderSettings {
        LeaderSettings {
            lease_name: "test-lease".into(),
            namespace: "default".into(),
            identity: identity.into(),
            lease_duration: Duration::from_millis(1500),
            renew_deadline: Duration::from_secs(1),
            retry_period: Duration::from_millis(200),
        }
    }

    /// A clock that moves only when told.
    struct ManualClock(std::sync::Mutex<Instant>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    #[tokio::test]
    async fn only_one_candidate_leads_until_the_lease_expires_or_is_released()
    -> Result<(), Box<dyn std::error::Error>> {
        let double = KubeApiServer::start(KubeApiOptions::default()).await?;
        let clock = std::sync::Arc::new(ManualClock(std::sync::Mutex::new(Instant::now())));
        let mut a = LeaderElector::new(double.client()?, settings("a")).with_clock(clock.clone());
        let mut b = LeaderElector::new(double.client()?, settings("b")).with_clock(clock.clone());
        assert!(a.try_acquire_or_renew().await?, "a creates the Lease");
        assert!(!b.try_acquire_or_renew().await?, "b sees a valid Lease");
        assert!(a.try_acquire_or_renew().await?, "a renews");
        clock.advance(Duration::from_millis(800));
        assert!(
            !b.try_acquire_or_renew().await?,
            "a renewed 800 ms ago: still valid for b"
        );
        // a stops renewing: b takes over once it has seen no change for the lease duration.
        clock.advance(Duration::from_millis(1600));
        assert!(b.try_acquire_or_renew().await?, "b takes the expired Lease");
        assert!(!a.try_acquire_or_renew().await?, "a lost it");
        let lease: Lease = Api::namespaced(double.client()?, "default")
            .get("test-lease")
            .await?;
        let spec = lease.spec.unwrap_or_default();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(1));
        // Release: a can take it at once.
        b.release().await;
        assert!(
            a.try_acquire_or_renew().await?,
            "a takes the released Lease without waiting"
        );
        Ok(())
    }
}
