//! When to read the providers again: ESO's `shouldRefresh`, `isSecretValid` and requeue delay as
//! pure functions over plain inputs, one error backoff, the deterministic refresh lead, and ESO's
//! hashes ([`resource_version`], [`data_hash`], [`created_by`]). The operator calls these; it
//! has no rules of its own.

mod align;
mod hash;

use std::time::{Duration, SystemTime};

use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret, RefreshPolicy};

use crate::stable_hash::phase_of;
use crate::sync_windows::SyncWindowPolicy;

pub use align::{
    MAX_SETTLE, SETTLE_FRACTION, aligned_lead, member_settle, read_group, single_read, slot_lead,
    unless_missed,
};
pub use hash::{created_by, current_resource_version, data_hash, resource_version};

/// What [`should_refresh`] and [`next_refresh_in`] look at: plain data, time injected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshInputs {
    /// `spec.refreshPolicy` (unset means Periodic).
    pub policy: RefreshPolicy,
    /// `spec.refreshInterval` (zero or negative: fetch once).
    pub interval: Duration,
    /// `status.syncedResourceVersion`, when set and not empty.
    pub synced_resource_version: Option<String>,
    /// [`resource_version`] of the ExternalSecret as it is now.
    pub current_resource_version: String,
    /// `status.refreshTime`, when set.
    pub refresh_time: Option<SystemTime>,
    /// The current time.
    pub now: SystemTime,
    /// How long before `refreshTime + interval` a periodic refresh already counts as due (the
    /// deterministic spread of [`refresh_lead`]); zero is ESO exactly.
    pub lead: Duration,
    /// How long after a periodic refresh falls due it is scheduled to run (a member's place in
    /// its aligned group, [`member_settle`]); zero runs it when due. It does not move the due
    /// instant, so a read made then still serves it.
    pub settle: Duration,
    /// `spec.syncWindows` (gates the periodic path only).
    pub windows: SyncWindowPolicy,
}

impl RefreshInputs {
    /// The inputs of an ExternalSecret as stored (spec, metadata and status) at `now`.
    /// An unparsable `refreshInterval` counts as zero (admission rejects it anyway).
    pub fn of(es: &ExternalSecret, now: SystemTime, lead: Duration) -> Self {
        let status = es.status.as_ref();
        RefreshInputs {
            policy: es.spec.effective_refresh_policy(),
            interval: refresh_interval(es),
            synced_resource_version: status
                .and_then(|s| s.synced_resource_version.clone())
                .filter(|v| !v.is_empty()),
            current_resource_version: current_resource_version(es),
            refresh_time: status
                .and_then(|s| s.refresh_time.as_ref().map(|t| SystemTime::from(t.0))),
            now,
            lead,
            settle: Duration::ZERO,
            windows: SyncWindowPolicy::of_spec(&es.spec),
        }
    }

    fn synced(&self) -> bool {
        self.synced_resource_version.is_some()
    }

    fn changed(&self) -> bool {
        self.synced_resource_version.as_deref() != Some(self.current_resource_version.as_str())
    }
}

/// `spec.refreshInterval` (default `1h`); unparsable or negative counts as zero.
pub fn refresh_interval(es: &ExternalSecret) -> Duration {
    let raw = es
        .spec
        .refresh_interval
        .as_deref()
        .unwrap_or(secretsync_model::external_secret::DEFAULT_REFRESH_INTERVAL);
    parse_go_duration(raw).unwrap_or(Duration::ZERO)
}

/// ESO's `shouldRefresh`: whether the providers must be read again (the target Secret's
/// validity is checked separately with [`is_secret_valid`]).
/// - CreatedOnce: only until the first sync (`syncedResourceVersion` and `refreshTime` set).
/// - OnChange: additionally when `syncedResourceVersion` differs from the current one.
/// - Periodic: never again once synced when the interval is zero (not even after a spec
///   change); a spec/label/annotation change; a missing or future `refreshTime`; or
///   `refreshTime + interval − lead` passed and `spec.syncWindows` allow it now.
pub fn should_refresh(i: &RefreshInputs) -> bool {
    match i.policy {
        RefreshPolicy::CreatedOnce => !i.synced() || i.refresh_time.is_none(),
        RefreshPolicy::OnChange => !i.synced() || i.refresh_time.is_none() || i.changed(),
        RefreshPolicy::Periodic => {
            if i.interval.is_zero() && i.synced() {
                return false;
            }
            if i.changed() {
                return true;
            }
            let Some(refreshed) = i.refresh_time else {
                return true;
            };
            if refreshed > i.now {
                return true;
            }
            let due_at = refreshed + i.interval.saturating_sub(i.lead);
            due_at < i.now && i.windows.allows(i.now)
        }
    }
}

/// When the periodic refresh that [`should_refresh`] finds due fell due:
/// `refreshTime + interval − lead`, for a synced Periodic ExternalSecret with a non-zero
/// interval, unchanged since its last sync, whose `refreshTime` is in the past. `None` when the
/// sync is anything else (first sync, spec change, not due, another policy): such a sync reads
/// its providers afresh ([`crate::Engine::sync_fresh_since`]).
pub fn periodic_due_at(i: &RefreshInputs) -> Option<SystemTime> {
    if i.policy != RefreshPolicy::Periodic || i.interval.is_zero() || !i.synced() || i.changed() {
        return None;
    }
    let refreshed = i.refresh_time.filter(|t| *t <= i.now)?;
    let due_at = refreshed + i.interval.saturating_sub(i.lead);
    (due_at < i.now && should_refresh(i)).then_some(due_at)
}

/// How long until the next periodic refresh is due, measured from `now` (ESO's
/// `interval − (now − refreshTime)`, less the lead, plus the settle), pushed to the next instant
/// `spec.syncWindows` allow (never earlier); `None` when nothing periodic is due (CreatedOnce,
/// OnChange, interval zero). Without a `refreshTime` the interval counts from `now`.
pub fn next_refresh_in(i: &RefreshInputs) -> Option<Duration> {
    if i.policy != RefreshPolicy::Periodic || i.interval.is_zero() {
        return None;
    }
    let elapsed = i
        .refresh_time
        .and_then(|t| i.now.duration_since(t).ok())
        .unwrap_or(Duration::ZERO);
    let delay = (i.interval.saturating_sub(i.lead) + i.settle).saturating_sub(elapsed);
    let wait = i
        .windows
        .next_allowed(i.now + delay)
        .and_then(|open| open.duration_since(i.now).ok())
        .map_or(delay, |wait| wait.max(delay));
    Some(wait)
}

/// The deterministic refresh lead of object `key` (e.g. `namespace/name`): `jitter · interval ·
/// phase(key)/interval`, so in `[0, jitter · interval]` (jitter clamped to `0..=0.5`). The same
/// object always gets the same lead, so restarts do not reshuffle refreshes, and objects created
/// together spread evenly over the window (ESO has no jitter: issue #4231).
pub fn refresh_lead(key: &str, interval: Duration, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 0.5);
    if jitter == 0.0 || interval.is_zero() {
        return Duration::ZERO;
    }
    let fraction = phase_of(key, interval).as_secs_f64() / interval.as_secs_f64();
    interval.mul_f64(jitter * fraction.clamp(0.0, 1.0))
}

/// What is known about the target Secret, for [`is_secret_valid`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedSecret {
    /// It carries `reconcile.external-secrets.io/managed=true`.
    pub managed_label: bool,
    /// Its `reconcile.external-secrets.io/data-hash` annotation.
    pub data_hash_annotation: Option<String>,
    /// [`data_hash`] of its current data.
    pub actual_data_hash: String,
}

impl ObservedSecret {
    /// Labelled as managed and its data matches its `data-hash` annotation.
    pub fn is_intact(&self) -> bool {
        self.managed_label
            && self
                .data_hash_annotation
                .as_deref()
                .is_some_and(|h| !h.is_empty() && h == self.actual_data_hash)
    }
}

/// ESO's `isSecretValid`: Orphan targets are always valid; otherwise the Secret must exist,
/// be labelled as managed and its data must match its data-hash annotation.
pub fn is_secret_valid(creation_policy: CreationPolicy, target: Option<&ObservedSecret>) -> bool {
    creation_policy == CreationPolicy::Orphan || target.is_some_and(ObservedSecret::is_intact)
}

/// Whether to sync now: ESO skips a refresh only when `!shouldRefresh && isSecretValid`.
pub fn needs_sync(
    inputs: &RefreshInputs,
    creation_policy: CreationPolicy,
    target: Option<&ObservedSecret>,
) -> bool {
    should_refresh(inputs) || !is_secret_valid(creation_policy, target)
}

/// The retry delay after failed syncs: `base · 2^(failures−1)`, capped at `max`, or the
/// provider's `Retry-After` when that is longer (ESO's per-item limiter: 1 s → 7 min).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// First retry delay.
    pub base: Duration,
    /// Longest retry delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// ESO's: 1 s, doubling, at most 7 min.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(420),
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (at least 1), at least `retry_after`.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
        let backoff = self.base.saturating_mul(factor).min(self.max);
        retry_after.map_or(backoff, |r| r.max(backoff))
    }
}

#[cfg(test)]
mod tests;
