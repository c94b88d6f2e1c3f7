//! PushSecret decisions as pure functions (ESO's `pushsecret_controller.go`): what to write
//! for each `data[]` entry, when `IfNotExists` skips, which remote keys to delete when entries
//! disappear or the PushSecret goes, and the `syncedPushSecrets` bookkeeping.

use secretsync_gojson::{Encoder, Options};
use secretsync_model::external_secret::StoreKind;
use secretsync_model::push_secret::{
    PushSecretConversionStrategy, PushSecretData, PushSecretDeletionPolicy, PushSecretRemoteRef,
    PushSecretUpdatePolicy, SyncedPushSecretsMap,
};
use secretsync_model::writer::RemoteState;
use secretsync_model::{SecretData, SecretValue};
use zeroize::Zeroizing;

pub mod data_to;
pub mod refresh;
pub mod run;
mod template;

pub use template::{PushTemplateSources, apply_push_template, resolve_push_template};

/// One value to push, with the entry it comes from.
#[derive(Clone, Debug)]
pub struct PlannedPush {
    /// The `data[]` entry (recorded in `syncedPushSecrets`).
    pub entry: PushSecretData,
    /// The bytes to push.
    pub value: SecretValue,
}

impl PlannedPush {
    /// Where it goes.
    pub fn remote(&self) -> &PushSecretRemoteRef {
        &self.entry.match_.remote_ref
    }
}

/// `syncedPushSecrets` key of a store: `<Kind>/<name>` (ESO).
pub fn store_key(kind: StoreKind, name: &str) -> String {
    format!("{kind}/{name}")
}

/// Parses a [`store_key`]; `None` for keys ESO would not write.
pub fn parse_store_key(key: &str) -> Option<(StoreKind, &str)> {
    let (kind, name) = key.split_once('/')?;
    let kind = match kind {
        "SecretStore" => StoreKind::SecretStore,
        "ClusterSecretStore" => StoreKind::ClusterSecretStore,
        _ => return None,
    };
    (!name.is_empty()).then_some((kind, name))
}

/// `syncedPushSecrets` key of an entry within a store: `remoteKey[/property]` (ESO `statusRef`).
pub fn status_key(remote: &PushSecretRemoteRef) -> String {
    match remote.property() {
        Some(p) => format!("{}/{p}", remote.remote_key),
        None => remote.remote_key.clone(),
    }
}

/// ESO's `ReverseKey`: with `ReverseUnicode`, every `_U<4 hex>_` becomes the character it
/// encodes (sequences that encode no character are kept).
pub fn reverse_key(strategy: PushSecretConversionStrategy, key: &str) -> String {
    if strategy == PushSecretConversionStrategy::None {
        return key.to_string();
    }
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(at) = rest.find("_U") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let decoded = tail
            .get(2..6)
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| tail.as_bytes().get(6) == Some(&b'_'))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[7..];
            }
            None => {
                out.push_str("_U");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why an entry cannot be planned. Messages name fields and keys, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PushPlanError {
    /// Field path (`spec.data[0].match.secretKey`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The values to push for `entries`, from the (templated) source `data`. An entry without
/// `secretKey` pushes the whole Secret as a JSON object of strings (Go's `json.Marshal`
/// without HTML escaping, as ESO's `esutils.JSONMarshal`); a `secretKey` is looked up after
/// the entry's `conversionStrategy` is applied to the source keys.
pub fn plan_entries(
    entries: &[PushSecretData],
    data: &SecretData,
) -> Result<Vec<PlannedPush>, PushPlanError> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let strategy = entry.conversion_strategy;
        let converted = convert_source_keys(strategy, data).map_err(|message| PushPlanError {
            field: format!("spec.data[{i}].conversionStrategy"),
            message,
        })?;
        let value = match entry.secret_key() {
            Some(key) => converted
                .get(key)
                .map(|v| (*v).clone())
                .ok_or_else(|| PushPlanError {
                    field: format!("spec.data[{i}].match.secretKey"),
                    message: format!("secret key {key:?} does not exist in the source Secret"),
                })?,
            None => whole_secret(&converted),
        };
        out.push(PlannedPush {
            entry: entry.clone(),
            value,
        });
    }
    Ok(out)
}

pub(crate) fn convert_source_keys(
    strategy: PushSecretConversionStrategy,
    data: &SecretData,
) -> Result<std::collections::BTreeMap<String, &SecretValue>, String> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in data {
        let key = reverse_key(strategy, k);
        if out.insert(key.clone(), v).is_some() {
            return Err(format!("secret name collision during conversion: {key:?}"));
        }
    }
    Ok(out)
}

/// The whole Secret as a JSON object of strings (bytes that are not UTF-8 become U+FFFD, as
/// Go's `string([]byte)` does when marshalled).
pub(crate) fn whole_secret(data: &std::collections::BTreeMap<String, &SecretValue>) -> SecretValue {
    let mut out = Zeroizing::new(Vec::new());
    let options = Options {
        escape_html: false,
        pretty: false,
    };
    let mut enc = Encoder::new(&mut out, options, usize::MAX);
    // Writing to an unbounded buffer cannot fail.
    let _ = enc.begin_object();
    for (k, v) in data {
        let _ = enc.key(k.as_bytes());
        let text = String::from_utf8_lossy(v.expose());
        let _ = enc.string(text.as_bytes());
    }
    let _ = enc.end_object();
    SecretValue::new(std::mem::take(&mut *out))
}

/// What to do with one entry after looking at the remote (only `IfNotExists` looks first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryAction {
    /// Write (the provider refuses unmanaged secrets itself).
    Push,
    /// `IfNotExists` and something is there: leave it, but record the entry as synced (ESO).
    KeepExisting,
}

/// Whether `policy` needs the remote state before pushing.
pub fn needs_remote_state(policy: PushSecretUpdatePolicy) -> bool {
    policy == PushSecretUpdatePolicy::IfNotExists
}

/// ESO's `updatePolicy`: `IfNotExists` never writes over anything that exists.
pub fn entry_action(policy: PushSecretUpdatePolicy, state: Option<RemoteState>) -> EntryAction {
    match (policy, state) {
        (
            PushSecretUpdatePolicy::IfNotExists,
            Some(RemoteState::Managed | RemoteState::Unmanaged),
        ) => EntryAction::KeepExisting,
        _ => EntryAction::Push,
    }
}

/// What to delete: with `deletionPolicy: Delete`, every entry of `previous` that is not in
/// `current` (store gone from the PushSecret, or entry removed); `current` empty on deletion of
/// the PushSecret or its source. With `None`: nothing. In `previous` order (sorted).
pub fn stale_entries(
    policy: PushSecretDeletionPolicy,
    previous: &SyncedPushSecretsMap,
    current: &SyncedPushSecretsMap,
) -> Vec<(String, PushSecretData)> {
    if policy != PushSecretDeletionPolicy::Delete {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (store, entries) in previous {
        let kept = current.get(store);
        for (key, entry) in entries {
            if !kept.is_some_and(|k| k.contains_key(key)) {
                out.push((store.clone(), entry.clone()));
            }
        }
    }
    out
}

/// ESO's `mergeSecretState`: `new` plus the entries of `old` it lacks (kept after a failure so
/// a later cleanup still knows them).
pub fn merge_synced(
    new: &SyncedPushSecretsMap,
    old: &SyncedPushSecretsMap,
) -> SyncedPushSecretsMap {
    let mut out = new.clone();
    for (store, entries) in old {
        let slot = out.entry(store.clone()).or_default();
        for (k, v) in entries {
            slot.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

/// Removes deleted entries from a synced map (stores left empty go too).
pub fn without(
    mut map: SyncedPushSecretsMap,
    deleted: &[(String, PushSecretData)],
) -> SyncedPushSecretsMap {
    for (store, entry) in deleted {
        if let Some(entries) = map.get_mut(store) {
            entries.remove(&status_key(&entry.match_.remote_ref));
            if entries.is_empty() {
                map.remove(store);
            }
        }
    }
    map
}

#[cfg(test)]
mod tests;
