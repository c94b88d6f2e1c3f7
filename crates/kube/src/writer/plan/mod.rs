//! The write plan: what to send, given the live Secret, the desired Secret and the policies.
//! Plain data in, plain data out: no client, no clock. How the live Secret was obtained (a GET,
//! or nothing because the managed-Secret cache shows no such Secret) does not matter here;
//! [`metadata`] holds the decisions taken from cached metadata alone.
//!
//! | live Secret | creationPolicy | plan |
//! |---|---|---|
//! | any | None | [`WritePlan::Skip`] |
//! | absent | Merge | [`WritePlan::Missing`] |
//! | absent | Owner, Orphan, CreateOrMerge | create |
//! | controlled by another ExternalSecret (any policy) or by anything else (Owner) | | conflict `ControlledByOther` |
//! | not controlled by this ExternalSecret | Owner | conflict `NotOwned` (never adopted) |
//! | already as desired (keyed fingerprint) | | [`WritePlan::Unchanged`] |
//! | immutable, data would change | | conflict `Immutable` |
//! | type differs (Owner, Orphan) | | recreate if this ExternalSecret controls it or an ExternalSecret wrote it (managed label), else conflict `TypeChange` |
//! | otherwise | | apply |

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use kube::{Resource, ResourceExt};
use secretsync_engine::DesiredSecret;
use secretsync_engine::refresh::{self, ObservedSecret};
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret, labels};
use serde_json::{Value, json};

use crate::cache::ControllerRef;
use crate::drift::{self, DriftKey, HMAC_ANNOTATION};

pub mod metadata;
pub use metadata::{desired_fingerprint, ownership_conflict, ownership_upgrade, upgrade_needed};

/// How the Secret is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAction {
    /// It does not exist: server-side apply creates it.
    Create,
    /// It exists: server-side apply updates what we own.
    Apply,
    /// Its type differs and a type cannot change in place: delete, then create.
    Recreate,
}

/// Why the Secret is not written. None of these is retried: the user must act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Another object is its controller (ESO `ErrSecretIsOwned` for another ExternalSecret).
    ControlledByOther {
        /// Kind of the controlling owner.
        kind: String,
        /// Name of the controlling owner.
        name: String,
    },
    /// `creationPolicy: Owner` and the Secret exists without this ExternalSecret as controller:
    /// ESO's documented conflict ("not owned by the controller … will just error out, not
    /// claiming the ownership").
    NotOwned,
    /// The Secret is immutable and its data would change (ESO `ErrSecretImmutable`).
    Immutable,
    /// Its type differs and no ExternalSecret wrote it, so it is not ours to recreate.
    TypeChange {
        /// The live type.
        live: String,
        /// The desired type.
        desired: String,
    },
}

/// What the writer does.
#[derive(Clone, PartialEq)]
pub enum WritePlan {
    /// `creationPolicy: None`: nothing.
    Skip,
    /// `creationPolicy: Merge` and the Secret does not exist: nothing (ESO's `SecretMissing`).
    Missing,
    /// The live Secret already carries what we own, as desired: nothing.
    Unchanged,
    /// Refused; nothing is written.
    Conflict(Conflict),
    /// Send `body` (a server-side apply of a Secret) as `action` says.
    Write {
        /// Create, apply or recreate.
        action: WriteAction,
        /// The apply body (holds the values: never printed).
        body: Value,
    },
}

impl std::fmt::Debug for WritePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WritePlan::Skip => f.write_str("Skip"),
            WritePlan::Missing => f.write_str("Missing"),
            WritePlan::Unchanged => f.write_str("Unchanged"),
            WritePlan::Conflict(c) => f.debug_tuple("Conflict").field(c).finish(),
            WritePlan::Write { action, .. } => f
                .debug_struct("Write")
                .field("action", action)
                .field("body", &"[REDACTED]")
                .finish(),
        }
    }
}

impl WritePlan {
    /// The action, for plans that write.
    pub fn action(&self) -> Option<WriteAction> {
        match self {
            WritePlan::Write { action, .. } => Some(*action),
            _ => None,
        }
    }
}

/// Labels, annotations and fingerprint the writer applies.
pub(crate) struct Applied {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    data_keys: BTreeSet<String>,
    /// The type is left out of the fingerprint and of the comparison (Merge, CreateOrMerge).
    merge_mode: bool,
    /// The body sets the type (every write but a merge into an existing Secret).
    sets_type: bool,
    fingerprint: String,
}

/// Decides what to write (see the module table). `eso_data_hash` adds ESO's unkeyed
/// `data-hash` annotation.
pub fn plan_write(
    es: &ExternalSecret,
    desired: &DesiredSecret,
    live: Option<&Secret>,
    key: &DriftKey,
    eso_data_hash: bool,
) -> WritePlan {
    let policy = desired.creation_policy;
    if policy == CreationPolicy::None {
        return WritePlan::Skip;
    }
    let Some(live) = live else {
        if policy == CreationPolicy::Merge {
            return WritePlan::Missing;
        }
        // A CreateOrMerge Secret is judged in merge mode on every later refresh: fingerprint it
        // that way from the start, though the create sets its type.
        let mut applied = applied(
            es,
            desired,
            policy == CreationPolicy::CreateOrMerge,
            key,
            eso_data_hash,
        );
        applied.sets_type = true;
        return WritePlan::Write {
            action: WriteAction::Create,
            body: body(es, desired, &applied),
        };
    };
    let ours = is_controlled_by(live, es);
    if let Some(conflict) =
        ownership_conflict(es, policy, ControllerRef::of(&live.metadata).as_ref())
    {
        return WritePlan::Conflict(conflict);
    }
    let merge_mode = merge_mode(policy);
    let applied = applied(es, desired, merge_mode, key, eso_data_hash);
    if live_matches(key, live, &applied) {
        return WritePlan::Unchanged;
    }
    let live_data = live.data.clone().unwrap_or_default();
    let data_differs = desired
        .data
        .iter()
        .any(|(k, v)| live_data.get(k).map(|b| b.0.as_slice()) != Some(v.expose()));
    if live.immutable == Some(true) && data_differs {
        return WritePlan::Conflict(Conflict::Immutable);
    }
    let live_type = live.type_.as_deref().unwrap_or("Opaque");
    let action = if !merge_mode && live_type != desired.type_ {
        let written_by_an_external_secret =
            live.labels().get(labels::MANAGED).map(String::as_str) == Some("true");
        if !(ours || written_by_an_external_secret) {
            return WritePlan::Conflict(Conflict::TypeChange {
                live: live_type.to_string(),
                desired: desired.type_.clone(),
            });
        }
        WriteAction::Recreate
    } else {
        WriteAction::Apply
    };
    WritePlan::Write {
        action,
        body: body(es, desired, &applied),
    }
}

/// Whether `deletionPolicy: Delete` may delete the live Secret: only one `es` controls.
pub fn may_delete(es: &ExternalSecret, live: Option<&Secret>) -> bool {
    live.is_some_and(|l| is_controlled_by(l, es))
}

/// True when the target is provably as it was last written for `es`, judged from the Secret
/// alone, for a reconcile that is not due and has no cached render (after a restart, a failover,
/// or a takeover from ESO). Only full-ownership policies (Owner, Orphan) qualify; for Owner `es`
/// must be the controller.
/// - With secretsync's keyed fingerprint (preferred whenever present): it must match the
///   Secret's whole content (type, every data key, label and annotation), so no edit passes.
/// - Without it (a Secret ESO wrote): ESO's `isSecretValid` — managed label and ESO's
///   `data-hash` matching the data.
pub fn target_intact(es: &ExternalSecret, live: Option<&Secret>, key: &DriftKey) -> bool {
    let policy = es.spec.target.creation_policy;
    if !target_intact_policy(es) {
        return false;
    }
    let Some(live) = live else {
        return false;
    };
    if policy == CreationPolicy::Owner && !is_controlled_by(live, es) {
        return false;
    }
    let empty = BTreeMap::new();
    let data = live.data.as_ref().unwrap_or(&empty);
    match live.annotations().get(HMAC_ANNOTATION) {
        Some(stored) => {
            let fingerprint = key.fingerprint(
                live.type_.as_deref().unwrap_or("Opaque"),
                drift::live_pairs(data),
                live.labels(),
                live.annotations(),
            );
            &fingerprint == stored
        }
        None => ObservedSecret {
            managed_label: live.labels().get(labels::MANAGED).map(String::as_str) == Some("true"),
            data_hash_annotation: live.annotations().get(labels::DATA_HASH).cloned(),
            actual_data_hash: refresh::data_hash(drift::live_pairs(data)),
        }
        .is_intact(),
    }
}

/// Whether `es`'s creation policy lets [`target_intact`] judge its target (Owner, Orphan).
pub fn target_intact_policy(es: &ExternalSecret) -> bool {
    matches!(
        es.spec.target.creation_policy,
        CreationPolicy::Owner | CreationPolicy::Orphan
    )
}

/// The fingerprint a Secret carries: secretsync's `secretsync.io/hmac`, else ESO's
/// `data-hash` (prefixed `eso:`, so it never equals one of ours).
pub fn stored_fingerprint(secret: &Secret) -> String {
    match secret.annotations().get(HMAC_ANNOTATION) {
        Some(f) => f.clone(),
        None => format!(
            "eso:{}",
            secret
                .annotations()
                .get(labels::DATA_HASH)
                .map(String::as_str)
                .unwrap_or_default()
        ),
    }
}

/// Whether `es` (by uid) is the controller owner of `secret`.
pub fn is_controlled_by(secret: &Secret, es: &ExternalSecret) -> bool {
    secret
        .owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(&o.uid) == es.meta().uid.as_ref())
}

fn applied(
    es: &ExternalSecret,
    desired: &DesiredSecret,
    merge_mode: bool,
    key: &DriftKey,
    eso_data_hash: bool,
) -> Applied {
    let mut labels = desired.labels.clone();
    labels.insert(labels::MANAGED.to_string(), "true".to_string());
    if desired.creation_policy == CreationPolicy::Owner {
        labels.insert(
            labels::CREATED_BY.to_string(),
            refresh::created_by(&desired.namespace, &es.name_any()),
        );
    }
    let mut annotations = desired.annotations.clone();
    let pairs = || desired.data.iter().map(|(k, v)| (k.as_str(), v.expose()));
    if eso_data_hash {
        annotations.insert(labels::DATA_HASH.to_string(), refresh::data_hash(pairs()));
    }
    let type_ = if merge_mode {
        ""
    } else {
        desired.type_.as_str()
    };
    let fingerprint = key.fingerprint(type_, pairs(), &labels, &annotations);
    annotations.insert(HMAC_ANNOTATION.to_string(), fingerprint.clone());
    Applied {
        labels,
        annotations,
        data_keys: desired.data.keys().cloned().collect(),
        merge_mode,
        sets_type: !merge_mode,
        fingerprint,
    }
}

/// True when the live Secret already has everything we own, as desired: the stored fingerprint
/// is the desired one and the live content we own (desired data keys, our labels and
/// annotations, the type unless merging) recomputes to it. Keys other writers added are theirs
/// (SSA co-ownership) and are not drift.
fn live_matches(key: &DriftKey, live: &Secret, applied: &Applied) -> bool {
    if live.annotations().get(HMAC_ANNOTATION) != Some(&applied.fingerprint) {
        return false;
    }
    let empty = BTreeMap::new();
    let data = live.data.as_ref().unwrap_or(&empty);
    let live_type = if applied.merge_mode {
        ""
    } else {
        live.type_.as_deref().unwrap_or("Opaque")
    };
    let owned_labels = restrict(live.labels(), &applied.labels);
    let owned_annotations = restrict(live.annotations(), &applied.annotations);
    let pairs = drift::live_pairs(data).filter(|(k, _)| applied.data_keys.contains(*k));
    key.fingerprint(live_type, pairs, &owned_labels, &owned_annotations) == applied.fingerprint
}

fn restrict(
    live: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    live.iter()
        .filter(|(k, _)| wanted.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether `policy` writes only its keys into a Secret others may own (Merge, CreateOrMerge).
pub fn merge_mode(policy: CreationPolicy) -> bool {
    matches!(
        policy,
        CreationPolicy::Merge | CreationPolicy::CreateOrMerge
    )
}

fn body(es: &ExternalSecret, desired: &DesiredSecret, applied: &Applied) -> Value {
    let data: serde_json::Map<String, Value> = desired
        .data
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(STANDARD.encode(v.expose()))))
        .collect();
    let mut metadata = json!({
        "name": desired.name,
        "namespace": desired.namespace,
        "labels": applied.labels,
        "annotations": applied.annotations,
    });
    if !desired.finalizers.is_empty() {
        metadata["finalizers"] = json!(desired.finalizers);
    }
    if desired.creation_policy == CreationPolicy::Owner {
        metadata["ownerReferences"] = json!([{
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "name": es.name_any(),
            "uid": es.meta().uid.clone().unwrap_or_default(),
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    let mut body = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "data": data,
    });
    if applied.sets_type {
        body["type"] = json!(desired.type_);
    }
    if desired.immutable {
        body["immutable"] = json!(true);
    }
    body
}

#[cfg(test)]
mod tests;
