//! Refresh decisions: ESO's `shouldRefresh`, `isSecretValid` and requeue delay, as pure
//! functions over plain inputs, plus ESO's hashes (`syncedResourceVersion`, `data-hash`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use secretsync_model::external_secret::{CreationPolicy, RefreshPolicy};
use secretsync_model::value::SecretData;
use sha3::{Digest, Sha3_224};

/// What [`should_refresh`] looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshInputs<'a> {
    /// `spec.refreshPolicy` (unset means Periodic).
    pub policy: RefreshPolicy,
    /// `spec.refreshInterval` (zero: fetch once).
    pub interval: Duration,
    /// `status.syncedResourceVersion`, when set.
    pub synced_resource_version: Option<&'a str>,
    /// [`resource_version`] of the ExternalSecret as it is now.
    pub current_resource_version: &'a str,
    /// `status.refreshTime`, when set.
    pub refresh_time: Option<SystemTime>,
    /// The current time.
    pub now: SystemTime,
}

/// ESO's `shouldRefresh`: whether the providers must be read again (the target Secret's
/// validity is checked separately with [`is_secret_valid`]).
pub fn should_refresh(i: &RefreshInputs<'_>) -> bool {
    let synced = i.synced_resource_version.is_some_and(|v| !v.is_empty());
    match i.policy {
        RefreshPolicy::CreatedOnce => !synced || i.refresh_time.is_none(),
        RefreshPolicy::OnChange => {
            !synced
                || i.refresh_time.is_none()
                || i.synced_resource_version != Some(i.current_resource_version)
        }
        RefreshPolicy::Periodic => {
            if i.interval.is_zero() && synced {
                return false;
            }
            if i.synced_resource_version != Some(i.current_resource_version) {
                return true;
            }
            let Some(refreshed) = i.refresh_time else {
                return true;
            };
            if refreshed > i.now {
                return true;
            }
            refreshed + i.interval < i.now
        }
    }
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

/// ESO's `isSecretValid`: Orphan targets are always valid; otherwise the Secret must exist,
/// be labelled as managed and its data must match its data-hash annotation.
pub fn is_secret_valid(creation_policy: CreationPolicy, target: Option<&ObservedSecret>) -> bool {
    if creation_policy == CreationPolicy::Orphan {
        return true;
    }
    match target {
        None => false,
        Some(t) => {
            t.managed_label
                && t.data_hash_annotation
                    .as_deref()
                    .is_some_and(|h| !h.is_empty() && h == t.actual_data_hash)
        }
    }
}

/// Whether to sync now: ESO skips a refresh only when `!shouldRefresh && isSecretValid`.
pub fn needs_sync(
    inputs: &RefreshInputs<'_>,
    creation_policy: CreationPolicy,
    target: Option<&ObservedSecret>,
) -> bool {
    should_refresh(inputs) || !is_secret_valid(creation_policy, target)
}

/// ESO's requeue delay after a completed sync: `interval - (now - refreshTime)`, or `None`
/// when nothing periodic is due (interval 0, CreatedOnce, OnChange).
pub fn requeue_after(
    policy: RefreshPolicy,
    interval: Duration,
    refresh_time: SystemTime,
    now: SystemTime,
) -> Option<Duration> {
    if policy != RefreshPolicy::Periodic || interval.is_zero() {
        return None;
    }
    let elapsed = now.duration_since(refresh_time).unwrap_or(Duration::ZERO);
    Some(interval.saturating_sub(elapsed))
}

/// ESO's `GetResourceVersion`: `<generation>-<sha3-224 of the labels and annotations>`, the value
/// of `status.syncedResourceVersion`.
pub fn resource_version(
    generation: i64,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    // Go: fmt.Sprintf("%+v", struct{annotations, labels map[string]string}{...})
    let text = format!(
        "{{annotations:{} labels:{}}}",
        go_string_map(annotations),
        go_string_map(labels)
    );
    format!("{generation}-{}", sha3_224_hex(text.as_bytes()))
}

/// ESO's `reconcile.external-secrets.io/data-hash`: sha3-224 of Go's `%+v` of the Secret data.
pub fn data_hash(data: &SecretData) -> String {
    // Go prints map[string][]byte as `map[k:[1 2 3] k2:[]]`, keys sorted.
    let mut text = String::from("map[");
    for (i, (k, v)) in data.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(k);
        text.push_str(":[");
        for (j, b) in v.expose().iter().enumerate() {
            if j > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{b}");
        }
        text.push(']');
    }
    text.push(']');
    let hash = sha3_224_hex(text.as_bytes());
    // The text holds the values: overwrite it before it is freed.
    let mut bytes = text.into_bytes();
    bytes.iter_mut().for_each(|b| *b = 0);
    drop(bytes);
    hash
}

fn go_string_map(m: &BTreeMap<String, String>) -> String {
    let body: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", body.join(" "))
}

fn sha3_224_hex(bytes: &[u8]) -> String {
    let digest = Sha3_224::digest(bytes);
    let mut out = String::with_capacity(56);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn inputs<'a>(
        policy: RefreshPolicy,
        synced: Option<&'a str>,
        refreshed: Option<u64>,
        now: u64,
    ) -> RefreshInputs<'a> {
        RefreshInputs {
            policy,
            interval: Duration::from_secs(3600),
            synced_resource_version: synced,
            current_resource_version: "1-abc",
            refresh_time: refreshed.map(t),
            now: t(now),
        }
    }

    #[test]
    fn periodic() {
        assert!(should_refresh(&inputs(
            RefreshPolicy::Periodic,
            None,
            None,
            100
        )));
        assert!(!should_refresh(&inputs(
            RefreshPolicy::Periodic,
            Some("1-abc"),
            Some(100),
            200
        )));
        assert!(should_refresh(&inputs(
            RefreshPolicy::Periodic,
            Some("1-abc"),
            Some(100),
            3701
        )));
        assert!(should_refresh(&inputs(
            RefreshPolicy::Periodic,
            Some("0-old"),
            Some(100),
            200
        )));
        // refreshTime in the future
        assert!(should_refresh(&inputs(
            RefreshPolicy::Periodic,
            Some("1-abc"),
            Some(500),
            200
        )));
        let mut once = inputs(RefreshPolicy::Periodic, Some("0-old"), Some(100), 99999);
        once.interval = Duration::ZERO;
        assert!(!should_refresh(&once));
    }

    #[test]
    fn created_once_and_on_change() {
        assert!(should_refresh(&inputs(
            RefreshPolicy::CreatedOnce,
            None,
            None,
            1
        )));
        assert!(!should_refresh(&inputs(
            RefreshPolicy::CreatedOnce,
            Some("0-old"),
            Some(1),
            99999
        )));
        assert!(should_refresh(&inputs(
            RefreshPolicy::OnChange,
            Some("0-old"),
            Some(1),
            2
        )));
        assert!(!should_refresh(&inputs(
            RefreshPolicy::OnChange,
            Some("1-abc"),
            Some(1),
            99999
        )));
    }

    #[test]
    fn secret_validity() {
        let ok = ObservedSecret {
            managed_label: true,
            data_hash_annotation: Some("h".into()),
            actual_data_hash: "h".into(),
        };
        assert!(is_secret_valid(CreationPolicy::Owner, Some(&ok)));
        assert!(!is_secret_valid(CreationPolicy::Owner, None));
        assert!(is_secret_valid(CreationPolicy::Orphan, None));
        let edited = ObservedSecret {
            actual_data_hash: "other".into(),
            ..ok.clone()
        };
        assert!(!is_secret_valid(CreationPolicy::Owner, Some(&edited)));
        let unlabelled = ObservedSecret {
            managed_label: false,
            ..ok
        };
        assert!(!is_secret_valid(CreationPolicy::Merge, Some(&unlabelled)));
    }

    #[test]
    fn requeue() {
        assert_eq!(
            requeue_after(
                RefreshPolicy::Periodic,
                Duration::from_secs(3600),
                t(100),
                t(160)
            ),
            Some(Duration::from_secs(3540))
        );
        assert_eq!(
            requeue_after(
                RefreshPolicy::CreatedOnce,
                Duration::from_secs(3600),
                t(100),
                t(160)
            ),
            None
        );
    }

    #[test]
    fn data_hash_matches_eso_object_hash() {
        // ESO runtime/esutils/utils_test.go TestObjectHash "map also works".
        let mut data = SecretData::new();
        data.insert("foo".into(), "value1".into());
        data.insert("bar".into(), "value2".into());
        assert_eq!(
            data_hash(&data),
            "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64"
        );
    }

    #[test]
    fn hashes_are_stable_and_sensitive() {
        let mut data = SecretData::new();
        data.insert("a".into(), "x".into());
        let h1 = data_hash(&data);
        assert_eq!(h1.len(), 56);
        data.insert("a".into(), "y".into());
        assert_ne!(h1, data_hash(&data));
        let empty = BTreeMap::new();
        // sha3-224 of "map[]" style text is deterministic
        assert_eq!(
            resource_version(3, &empty, &empty),
            resource_version(3, &empty, &empty)
        );
        assert!(resource_version(3, &empty, &empty).starts_with("3-"));
    }
}
