//! ExternalSecret status: ESO's `Ready` condition and reasons, `refreshTime`,
//! `syncedResourceVersion`, plus `observedGeneration` and per-key outcomes. Written only when it
//! changed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use secretsync_model::external_secret::{
    ExternalSecret, ExternalSecretCondition, ExternalSecretStatus, KeyOutcomeStatus, reasons,
};
use secretsync_model::meta::ConditionStatus;
use serde_json::{Value, json};

/// The Ready condition a reconcile wants to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// True or False.
    pub ready: bool,
    /// One of ESO's reasons.
    pub reason: &'static str,
    /// Message (never a value).
    pub message: String,
}

impl Readiness {
    /// `Ready=True`, reason SecretSynced.
    pub fn synced(message: impl Into<String>) -> Self {
        Readiness {
            ready: true,
            reason: reasons::SECRET_SYNCED,
            message: message.into(),
        }
    }
    /// `Ready=False`, reason SecretSyncedError.
    pub fn error(message: impl Into<String>) -> Self {
        Readiness {
            ready: false,
            reason: reasons::SECRET_SYNCED_ERROR,
            message: message.into(),
        }
    }
}

/// Builds the next status from the current one (a pure function; `now` is injected).
/// `refreshed` is the start time of a refresh that completed (None keeps the previous
/// `refreshTime`); `synced_version` and `keys` likewise. `lastTransitionTime` changes only
/// when the Ready status or reason changes.
pub fn next_status(
    es: &ExternalSecret,
    readiness: &Readiness,
    refreshed: Option<Timestamp>,
    synced_version: Option<String>,
    keys: Option<Vec<KeyOutcomeStatus>>,
    now: Timestamp,
) -> ExternalSecretStatus {
    let current = es.status.clone().unwrap_or_default();
    let previous = current
        .conditions
        .iter()
        .find(|c| c.type_ == reasons::READY);
    let status = if readiness.ready {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let unchanged_transition = previous
        .is_some_and(|p| p.status == status && p.reason.as_deref() == Some(readiness.reason));
    let transition = if unchanged_transition {
        previous.and_then(|p| p.last_transition_time.clone())
    } else {
        Some(Time(now))
    };
    ExternalSecretStatus {
        refresh_time: refreshed.map(Time).or(current.refresh_time),
        synced_resource_version: synced_version.or(current.synced_resource_version),
        conditions: vec![ExternalSecretCondition {
            type_: reasons::READY.to_string(),
            status,
            reason: Some(readiness.reason.to_string()),
            message: Some(readiness.message.clone()),
            last_transition_time: transition,
        }],
        binding: current.binding.clone(),
        observed_generation: es.metadata.generation,
        keys: keys.unwrap_or(current.keys),
    }
}

/// What [`write_status`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusWrite {
    /// The status was already as desired: no request was sent.
    Unchanged,
    /// The status was patched; the object now has this `resourceVersion` (if the server said).
    Written {
        /// The `resourceVersion` the patch produced.
        resource_version: Option<String>,
    },
}

/// Writes `status` if it differs from the object's.
pub async fn write_status(
    api: &Api<ExternalSecret>,
    es: &ExternalSecret,
    status: &ExternalSecretStatus,
) -> Result<StatusWrite, kube::Error> {
    if es.status.as_ref() == Some(status) {
        return Ok(StatusWrite::Unchanged);
    }
    let mut value = serde_json::to_value(status).map_err(kube::Error::SerdeError)?;
    // Merge patch: fields that became empty must be removed explicitly.
    if let Value::Object(map) = &mut value {
        for field in [
            "refreshTime",
            "syncedResourceVersion",
            "conditions",
            "binding",
            "observedGeneration",
            "keys",
        ] {
            map.entry(field).or_insert(Value::Null);
        }
    }
    let written = api
        .patch_status(
            &es.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": value })),
        )
        .await?;
    Ok(StatusWrite::Written {
        resource_version: written.metadata.resource_version,
    })
}

/// The Ready condition of an ExternalSecret, if any.
pub fn ready_condition(es: &ExternalSecret) -> Option<&ExternalSecretCondition> {
    es.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == reasons::READY))
}

#[cfg(test)]
mod tests;
