//! Lease decisions (beyond ESO): for each kept generator state ([`LeaseState`]) and the
//! current time, whether to keep the Secret as it is, renew the lease, issue new credentials,
//! or revoke a superseded lease. Pure: the time is an argument (tests inject it).

use std::time::Duration;

use secretsync_model::generator::lease::{LeaseKind, LeaseState, Timestamp, after};

/// ExternalSecret annotation: the fraction of a lease's current period after which it is
/// renewed (default 2/3; `0 < f < 1`).
pub const RENEW_FRACTION_ANNOTATION: &str = "secretsync.io/lease-renew-fraction";

/// ExternalSecret annotation: a certificate is re-issued when this fraction of its lifetime is
/// left (default 1/3; `0 < f < 1`).
pub const REISSUE_BEFORE_ANNOTATION: &str = "secretsync.io/reissue-before-fraction";

/// ExternalSecret annotation: how long a superseded lease lives on after the Secret holds the
/// new credentials, before it is revoked (Go duration, default 30s; `0s` revokes at once).
pub const REVOKE_GRACE_ANNOTATION: &str = "secretsync.io/lease-revoke-grace";

/// The ExternalSecret's lease settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeaseSettings {
    /// Renew after this fraction of the current period.
    pub renew_fraction: f64,
    /// Re-issue a certificate when this fraction of its lifetime is left.
    pub reissue_before_fraction: f64,
    /// Revoke a superseded lease this long after it was superseded.
    pub revoke_grace: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            renew_fraction: 2.0 / 3.0,
            reissue_before_fraction: 1.0 / 3.0,
            revoke_grace: Duration::from_secs(30),
        }
    }
}

/// The settings an ExternalSecret's annotations ask for; an error names the annotation and
/// what was expected.
pub fn settings_of(
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<LeaseSettings, String> {
    let mut settings = LeaseSettings::default();
    let fraction = |key: &str| -> Result<Option<f64>, String> {
        let Some(text) = annotations.get(key) else {
            return Ok(None);
        };
        match text.trim().parse::<f64>() {
            Ok(f) if f > 0.0 && f < 1.0 => Ok(Some(f)),
            _ => Err(format!(
                "metadata.annotations[{key:?}]: expected a fraction between 0 and 1 \
                 (exclusive), such as 0.66"
            )),
        }
    };
    if let Some(f) = fraction(RENEW_FRACTION_ANNOTATION)? {
        settings.renew_fraction = f;
    }
    if let Some(f) = fraction(REISSUE_BEFORE_ANNOTATION)? {
        settings.reissue_before_fraction = f;
    }
    if let Some(text) = annotations.get(REVOKE_GRACE_ANNOTATION) {
        settings.revoke_grace = secretsync_model::duration::parse_go_duration(text.trim())
            .map_err(|_| {
                format!(
                    "metadata.annotations[{REVOKE_GRACE_ANNOTATION:?}]: expected a duration \
                     such as 30s or 2m"
                )
            })?;
    }
    Ok(settings)
}

/// How a state is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Its credentials are in the Secret.
    Current,
    /// New credentials replaced them; revoke at this time.
    Superseded {
        /// When the grace period ends.
        revoke_at: Timestamp,
    },
}

/// What to do with one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseAction {
    /// Nothing to do before this time (no Vault call, the Secret stays as it is).
    Keep {
        /// The renewal point, re-issue point or end of the grace period.
        until: Timestamp,
    },
    /// Renew the lease now (`sys/leases/renew`).
    Renew,
    /// Issue new credentials: the lease cannot be extended (max TTL, not renewable, expired)
    /// or the certificate's re-issue point is reached.
    Reissue,
    /// Revoke the superseded lease now.
    RevokeSuperseded,
    /// Drop the state without a call (a superseded certificate, or a lease already expired).
    Forget,
}

/// `start + fraction × (end − start)`, to the millisecond.
fn point_between(start: Timestamp, end: Timestamp, fraction: f64) -> Timestamp {
    let span_ms = end.duration_since(start).as_millis().max(0) as f64;
    // Saturating float-to-int cast: a fraction in (0, 1) of a non-negative span.
    after(
        start,
        Duration::from_millis((span_ms * fraction).round() as u64),
    )
}

/// The decision for one state at `now`.
pub fn decide_lease(
    lease: &LeaseState,
    held: Held,
    settings: &LeaseSettings,
    now: Timestamp,
) -> LeaseAction {
    let expired = now >= lease.expires_at;
    match held {
        Held::Superseded { revoke_at } => {
            if expired || lease.kind == LeaseKind::Certificate || lease.lease_id.is_empty() {
                LeaseAction::Forget
            } else if now >= revoke_at {
                LeaseAction::RevokeSuperseded
            } else {
                LeaseAction::Keep {
                    until: revoke_at.min(lease.expires_at),
                }
            }
        }
        Held::Current if expired => LeaseAction::Reissue,
        Held::Current => match lease.kind {
            LeaseKind::Certificate => {
                let point = point_between(
                    lease.issued_at,
                    lease.expires_at,
                    1.0 - settings.reissue_before_fraction,
                );
                if now < point {
                    LeaseAction::Keep { until: point }
                } else {
                    LeaseAction::Reissue
                }
            }
            LeaseKind::Lease => {
                let point =
                    point_between(lease.renewed_at, lease.expires_at, settings.renew_fraction);
                let extendable = lease.renewable
                    && lease
                        .max_expires_at
                        .is_none_or(|max| max > lease.expires_at);
                if now < point {
                    LeaseAction::Keep { until: point }
                } else if extendable {
                    LeaseAction::Renew
                } else {
                    LeaseAction::Reissue
                }
            }
        },
    }
}

/// The plan for the current states of one ExternalSecret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeasePlan {
    /// Keep the Secret as it is until this time.
    Keep {
        /// The earliest renewal or re-issue point.
        until: Timestamp,
    },
    /// Renew these states (indices into the slice given), keep the Secret.
    Renew(Vec<usize>),
    /// Issue new credentials for the whole ExternalSecret.
    Reissue,
}

/// Combines the decisions of an ExternalSecret's current states: one that must be re-issued
/// re-issues all (one sync produces the Secret); otherwise renew those due.
pub fn plan_current(leases: &[LeaseState], settings: &LeaseSettings, now: Timestamp) -> LeasePlan {
    let mut renew = Vec::new();
    let mut until = Timestamp::MAX;
    for (i, lease) in leases.iter().enumerate() {
        match decide_lease(lease, Held::Current, settings, now) {
            LeaseAction::Keep { until: t } => until = until.min(t),
            LeaseAction::Renew => renew.push(i),
            LeaseAction::Reissue | LeaseAction::RevokeSuperseded | LeaseAction::Forget => {
                return LeasePlan::Reissue;
            }
        }
    }
    if renew.is_empty() {
        LeasePlan::Keep { until }
    } else {
        LeasePlan::Renew(renew)
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
