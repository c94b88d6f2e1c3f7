//! Decisions the writer takes from metadata alone (the managed-Secret cache, or the
//! `managedFields` of a Secret it read), so that most syncs need no GET of the target:
//!
//! - [`ownership_conflict`]: who controls the Secret decides conflicts (used by
//!   [`super::plan_write`] too, so both paths agree).
//! - [`desired_fingerprint`]: what the Secret's `secretsync.io/hmac` will be once written; equal
//!   to what the writer verified at the Secret's current `resourceVersion` means unchanged.
//! - [`ownership_upgrade`]: fields this ExternalSecret's manager owns through `Update`
//!   operations (its create-only POST, or ESO's writes) moved to its `Apply` entry, so that
//!   server-side apply prunes them once they are no longer applied.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use secretsync_engine::DesiredSecret;
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret};
use serde_json::Value;

use super::{Conflict, applied};
use crate::cache::ControllerRef;
use crate::drift::DriftKey;

/// The conflict (if any) of writing a Secret controlled by `controller` for `es` under
/// `policy`: another ExternalSecret controls it (any policy), anything else controls it
/// (Owner), or nothing controls it and `policy` is Owner (never adopted).
pub fn ownership_conflict(
    es: &ExternalSecret,
    policy: CreationPolicy,
    controller: Option<&ControllerRef>,
) -> Option<Conflict> {
    let ours = controller.is_some_and(|c| Some(&c.uid) == es.metadata.uid.as_ref());
    if let Some(owner) = controller.filter(|_| !ours)
        && (policy == CreationPolicy::Owner || is_external_secret(&owner.api_version, &owner.kind))
    {
        return Some(Conflict::ControlledByOther {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        });
    }
    (policy == CreationPolicy::Owner && !ours).then_some(Conflict::NotOwned)
}

/// Whether an owner reference names an ExternalSecret.
pub fn is_external_secret(api_version: &str, kind: &str) -> bool {
    kind == "ExternalSecret" && api_version.starts_with("external-secrets.io/")
}

/// The fingerprint ([`crate::drift`]) the writer puts on the Secret for `desired`.
pub fn desired_fingerprint(
    es: &ExternalSecret,
    desired: &DesiredSecret,
    key: &DriftKey,
    eso_data_hash: bool,
) -> String {
    let merge_mode = super::merge_mode(desired.creation_policy);
    applied(es, desired, merge_mode, key, eso_data_hash).fingerprint
}

/// The `managedFields` to store so that what `manager` owns through `Update` operations is
/// owned by its `Apply` entry instead (client-go's `csaupgrade`), or `None` when it owns
/// nothing through updates. Other managers' entries are kept as they are.
pub fn ownership_upgrade(
    entries: &[ManagedFieldsEntry],
    manager: &str,
) -> Option<Vec<ManagedFieldsEntry>> {
    let main = |e: &ManagedFieldsEntry| {
        e.manager.as_deref() == Some(manager) && e.subresource.as_deref().unwrap_or("").is_empty()
    };
    let is_update = |e: &ManagedFieldsEntry| main(e) && e.operation.as_deref() == Some("Update");
    let is_apply = |e: &ManagedFieldsEntry| main(e) && e.operation.as_deref() == Some("Apply");
    if !entries.iter().any(is_update) {
        return None;
    }
    let mut fields = Value::Object(serde_json::Map::new());
    let mut apply: Option<ManagedFieldsEntry> = None;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if is_update(e) || is_apply(e) {
            if let Some(f) = &e.fields_v1 {
                union(&mut fields, &f.0);
            }
            if is_apply(e) || apply.is_none() {
                apply = Some(e.clone());
            }
        } else {
            out.push(e.clone());
        }
    }
    let mut apply = apply.unwrap_or_default();
    apply.manager = Some(manager.to_string());
    apply.operation = Some("Apply".to_string());
    apply.api_version = apply.api_version.or_else(|| Some("v1".to_string()));
    apply.fields_type = Some("FieldsV1".to_string());
    apply.fields_v1 = Some(FieldsV1(fields));
    apply.subresource = None;
    out.push(apply);
    Some(out)
}

/// Whether an apply of `body` as `manager` needs [`ownership_upgrade`] first: some field it
/// owns through an `Update` operation is not set by `body` (the apply would leave it in place
/// instead of pruning it). An apply setting every such field takes them over by itself, so
/// the extra request is spared (e.g. after a create-only POST, as long as no key is dropped).
pub fn upgrade_needed(entries: &[ManagedFieldsEntry], manager: &str, body: &Value) -> bool {
    entries
        .iter()
        .filter(|e| {
            e.manager.as_deref() == Some(manager)
                && e.subresource.as_deref().unwrap_or("").is_empty()
                && e.operation.as_deref() == Some("Update")
        })
        .any(|e| e.fields_v1.as_ref().is_some_and(|f| !covers(body, &f.0)))
}

/// Whether every `f:` field of the `fieldsV1` trie `owned` is present in `body`. List items
/// (`k:`, `v:`, `i:`) count as covered when their list is: the apply replaces its own items.
fn covers(body: &Value, owned: &Value) -> bool {
    let Value::Object(owned) = owned else {
        return true;
    };
    owned.iter().all(|(key, sub)| match key.strip_prefix("f:") {
        Some(name) => match body.get(name) {
            None | Some(Value::Null) => false,
            Some(inner @ Value::Object(_)) => covers(inner, sub),
            Some(_) => true,
        },
        None => true,
    })
}

/// Union of two `fieldsV1` tries.
fn union(into: &mut Value, other: &Value) {
    let (Value::Object(a), Value::Object(b)) = (into, other) else {
        return;
    };
    for (k, v) in b {
        match a.get_mut(k) {
            Some(existing) => union(existing, v),
            None => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
