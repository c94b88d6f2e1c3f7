//! PushSecret status as ESO writes it, built by pure functions: the `Ready` condition (ESO's
//! reasons and messages, `lastTransitionTime` kept while the status holds) and the merge patch
//! that replaces `syncedPushSecrets` (removed entries become `null`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use secretsync_model::meta::ConditionStatus;
use secretsync_model::push_secret::{
    PushSecretStatus, PushSecretStatusCondition, PushSecretUpdatePolicy, SyncedPushSecretsMap,
    reasons,
};
use serde_json::{Map, Value, json};

/// The outcome of a reconcile, for the condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything pushed.
    Synced,
    /// Pushing (or cleaning up) failed; the message names the entry and store, never a value.
    Errored(String),
    /// The source Secret is gone and the pushed keys were deleted.
    SourceDeleted,
}

impl Outcome {
    /// `(status, reason, message)` as ESO writes them.
    pub fn condition(
        &self,
        policy: PushSecretUpdatePolicy,
    ) -> (ConditionStatus, &'static str, String) {
        match self {
            Outcome::Synced => {
                let mut msg = "PushSecret synced successfully".to_string();
                if policy == PushSecretUpdatePolicy::IfNotExists {
                    msg.push_str(". Existing secrets in providers unchanged.");
                }
                (ConditionStatus::True, reasons::SYNCED, msg)
            }
            Outcome::Errored(m) => (ConditionStatus::False, reasons::ERRORED, m.clone()),
            Outcome::SourceDeleted => (
                ConditionStatus::False,
                reasons::SOURCE_DELETED,
                "source secret deleted; provider secrets cleaned up".to_string(),
            ),
        }
    }
}

/// The `Ready` condition after `outcome`: `lastTransitionTime` moves only when the status does.
pub fn ready_condition(
    previous: Option<&PushSecretStatus>,
    outcome: &Outcome,
    policy: PushSecretUpdatePolicy,
    now: Time,
) -> PushSecretStatusCondition {
    let (status, reason, message) = outcome.condition(policy);
    let before = previous.and_then(|s| s.conditions.iter().find(|c| c.type_ == reasons::READY));
    let last_transition_time = match before {
        Some(c) if c.status == status => c.last_transition_time.clone().or(Some(now)),
        _ => Some(now),
    };
    PushSecretStatusCondition {
        type_: reasons::READY.to_string(),
        status,
        reason: Some(reason.to_string()),
        message: Some(message),
        last_transition_time,
    }
}

/// A JSON merge patch of `status.syncedPushSecrets` turning `previous` into `current`.
pub fn synced_patch(previous: &SyncedPushSecretsMap, current: &SyncedPushSecretsMap) -> Value {
    if current.is_empty() && !previous.is_empty() {
        return Value::Null;
    }
    let mut out = Map::new();
    for (store, entries) in previous {
        match current.get(store) {
            None => {
                out.insert(store.clone(), Value::Null);
            }
            Some(now) => {
                let mut inner = Map::new();
                for key in entries.keys().filter(|k| !now.contains_key(*k)) {
                    inner.insert(key.clone(), Value::Null);
                }
                if !inner.is_empty() {
                    out.insert(store.clone(), Value::Object(inner));
                }
            }
        }
    }
    for (store, entries) in current {
        let value = serde_json::to_value(entries).unwrap_or(Value::Null);
        match (out.get_mut(store), value) {
            (Some(Value::Object(nulls)), Value::Object(set)) => nulls.extend(set),
            (_, value) => {
                out.insert(store.clone(), value);
            }
        }
    }
    Value::Object(out)
}

/// The whole status merge patch.
pub fn status_patch(
    previous: Option<&PushSecretStatus>,
    condition: &PushSecretStatusCondition,
    synced: &SyncedPushSecretsMap,
    refreshed: Option<(Time, String)>,
) -> Value {
    let empty = SyncedPushSecretsMap::new();
    let before = previous.map_or(&empty, |s| &s.synced_push_secrets);
    let mut status = json!({
        "conditions": [condition],
        "syncedPushSecrets": synced_patch(before, synced),
    });
    if let Some((time, version)) = refreshed {
        status["refreshTime"] = json!(time);
        status["syncedResourceVersion"] = json!(version);
    }
    json!({ "status": status })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::push_secret::{PushSecretData, PushSecretMatch, PushSecretRemoteRef};

    fn entry(key: &str) -> PushSecretData {
        PushSecretData {
            match_: PushSecretMatch {
                secret_key: Some("k".into()),
                remote_ref: PushSecretRemoteRef {
                    remote_key: key.into(),
                    property: None,
                },
            },
            ..PushSecretData::default()
        }
    }

    fn map(stores: &[(&str, &[&str])]) -> SyncedPushSecretsMap {
        stores
            .iter()
            .map(|(s, keys)| {
                (
                    s.to_string(),
                    keys.iter().map(|k| (k.to_string(), entry(k))).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn synced_patches_null_what_went() {
        let before = map(&[("SecretStore/a", &["x", "y"]), ("SecretStore/b", &["z"])]);
        let after = map(&[("SecretStore/a", &["x"])]);
        let patch = synced_patch(&before, &after);
        assert_eq!(patch["SecretStore/b"], Value::Null);
        assert_eq!(patch["SecretStore/a"]["y"], Value::Null);
        assert_eq!(
            patch["SecretStore/a"]["x"]["match"]["remoteRef"]["remoteKey"],
            "x"
        );
        assert_eq!(
            synced_patch(&before, &SyncedPushSecretsMap::new()),
            Value::Null
        );
        assert_eq!(
            synced_patch(&SyncedPushSecretsMap::new(), &SyncedPushSecretsMap::new()),
            json!({})
        );
    }

    #[test]
    fn conditions_as_eso_writes_them() {
        let t0 = Time(k8s_openapi::jiff::Timestamp::from_second(1).expect("time"));
        let t1 = Time(k8s_openapi::jiff::Timestamp::from_second(2).expect("time"));
        let synced = ready_condition(
            None,
            &Outcome::Synced,
            PushSecretUpdatePolicy::IfNotExists,
            t0.clone(),
        );
        assert_eq!(synced.reason.as_deref(), Some("Synced"));
        assert_eq!(
            synced.message.as_deref(),
            Some("PushSecret synced successfully. Existing secrets in providers unchanged.")
        );
        let previous = PushSecretStatus {
            conditions: vec![synced],
            ..PushSecretStatus::default()
        };
        let again = ready_condition(
            Some(&previous),
            &Outcome::Synced,
            PushSecretUpdatePolicy::Replace,
            t1.clone(),
        );
        assert_eq!(
            again.last_transition_time,
            Some(t0),
            "status unchanged: time kept"
        );
        let failed = ready_condition(
            Some(&previous),
            &Outcome::Errored("boom".into()),
            PushSecretUpdatePolicy::Replace,
            t1.clone(),
        );
        assert_eq!(
            (failed.status, failed.reason.as_deref()),
            (ConditionStatus::False, Some("Errored"))
        );
        assert_eq!(failed.last_transition_time, Some(t1));
        let gone = ready_condition(
            None,
            &Outcome::SourceDeleted,
            PushSecretUpdatePolicy::Replace,
            Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        );
        assert_eq!(gone.reason.as_deref(), Some("SourceDeleted"));
    }
}
