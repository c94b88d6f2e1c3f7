//! [`LeaseState`]: the state a generator keeps for what it issued with a lifetime (a Vault
//! lease, a PKI certificate), so the host can renew, re-issue and revoke it on schedule.
//!
//! Never a credential: only the lease id (not a secret: revoking needs a token allowed to
//! `sys/leases/revoke`), a certificate's serial number and times.

use std::time::Duration;

use k8s_openapi::jiff::SignedDuration;
/// The instant type of lease times (jiff's, as `k8s-openapi` uses).
pub use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a lease-like state is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseKind {
    /// A Vault lease: renewable (when `renewable`) and revocable by its id.
    #[default]
    Lease,
    /// A certificate: no lease, re-issued before it expires; nothing to revoke.
    Certificate,
}

/// One issued lease or certificate, as persisted in a `GeneratorState`'s `spec.state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseState {
    /// Lease or certificate.
    #[serde(default)]
    pub kind: LeaseKind,
    /// Vault's lease id (`database/creds/app/AbCd...`); empty for a certificate.
    #[serde(default)]
    pub lease_id: String,
    /// A certificate's serial number (`pki/issue`), for operators; never a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Seconds the lease was granted for at issue: the increment asked for on each renewal.
    pub lease_duration: u64,
    /// Whether Vault allows renewing it.
    #[serde(default)]
    pub renewable: bool,
    /// When it was issued.
    #[serde(with = "timestamp")]
    pub issued_at: Timestamp,
    /// Start of the current period: the issue or the last renewal.
    #[serde(with = "timestamp")]
    pub renewed_at: Timestamp,
    /// When the current period ends (the lease expires unless renewed).
    #[serde(with = "timestamp")]
    pub expires_at: Timestamp,
    /// The end no renewal can pass (Vault's max TTL), once known: set when a renewal granted
    /// less than asked for.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_timestamp"
    )]
    pub max_expires_at: Option<Timestamp>,
}

impl LeaseState {
    /// A lease issued at `now` for `seconds`.
    pub fn issued(lease_id: String, seconds: u64, renewable: bool, now: Timestamp) -> Self {
        let expires_at = after(now, Duration::from_secs(seconds));
        LeaseState {
            kind: LeaseKind::Lease,
            lease_id,
            serial_number: None,
            lease_duration: seconds,
            renewable,
            issued_at: now,
            renewed_at: now,
            expires_at,
            max_expires_at: None,
        }
    }

    /// A certificate issued at `now` that expires at `expires_at` (Vault's `expiration`).
    pub fn certificate(serial_number: String, expires_at: Timestamp, now: Timestamp) -> Self {
        let seconds = expires_at
            .duration_since(now)
            .as_secs()
            .max(0)
            .unsigned_abs();
        LeaseState {
            kind: LeaseKind::Certificate,
            lease_id: String::new(),
            serial_number: Some(serial_number).filter(|s| !s.is_empty()),
            lease_duration: seconds,
            renewable: false,
            issued_at: now,
            renewed_at: now,
            expires_at,
            max_expires_at: None,
        }
    }

    /// The state after a renewal at `now` that granted `granted` seconds. A grant shorter
    /// than asked for (`lease_duration`) means Vault's max TTL caps the lease: the new end is
    /// the last one.
    pub fn renewed(&self, granted: u64, now: Timestamp) -> Self {
        let expires_at = after(now, Duration::from_secs(granted));
        let capped = granted < self.lease_duration;
        LeaseState {
            renewed_at: now,
            expires_at,
            max_expires_at: if capped {
                Some(expires_at)
            } else {
                self.max_expires_at
            },
            ..self.clone()
        }
    }

    /// Reads a state a generator produced (`None` when it is not a lease state).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }

    /// The JSON form (for `GeneratorState.spec.state`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `at + d`, saturating at the largest timestamp.
pub fn after(at: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

mod timestamp {
    use k8s_openapi::jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod optional_timestamp {
    use k8s_openapi::jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(t),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("valid")
    }

    #[test]
    fn renewals_learn_the_max_ttl_from_a_short_grant() {
        let lease = LeaseState::issued("db/creds/app/1".into(), 3, true, at(100));
        assert_eq!(lease.expires_at, at(103));
        let renewed = lease.renewed(3, at(102));
        assert_eq!((renewed.renewed_at, renewed.expires_at), (at(102), at(105)));
        assert_eq!(renewed.max_expires_at, None);
        let capped = renewed.renewed(2, at(104));
        assert_eq!(capped.expires_at, at(106));
        assert_eq!(capped.max_expires_at, Some(at(106)));
        assert_eq!(capped.issued_at, at(100));
    }

    #[test]
    fn states_round_trip_through_json_with_readable_times() {
        let lease =
            LeaseState::issued("db/creds/app/1".into(), 3, true, at(100)).renewed(1, at(101));
        let json = lease.to_json();
        assert_eq!(json["expiresAt"], "1970-01-01T00:01:42Z");
        assert_eq!(LeaseState::from_json(&json), Some(lease));
        let cert = LeaseState::certificate("1a:2b".into(), at(160), at(100));
        assert_eq!(
            (cert.kind, cert.lease_duration),
            (LeaseKind::Certificate, 60)
        );
        assert_eq!(LeaseState::from_json(&cert.to_json()), Some(cert));
        assert_eq!(LeaseState::from_json(&serde_json::json!({"x": 1})), None);
    }
}
