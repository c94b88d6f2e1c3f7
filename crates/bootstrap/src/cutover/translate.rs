//! Which references of an ExternalSecret switch to the `vault` store, as plain data (pure).
//!
//! A reference is **covered** when it reads a migration source (ClusterSecretStore
//! `azure-keyvault` or `aws-secretsmanager`) by key (and property, if any), and `migration:`
//! maps that store's key (and the same property) to a Vault path: it becomes
//! `{key: <to>, property: value}` on ClusterSecretStore `vault`. References already on `vault`
//! stay. Anything else (another store, a pinned version, tags/metadata, `dataFrom`, a
//! generator) is not covered and the ExternalSecret is not cut over; [`NotCovered`] names the
//! first such reference.
//!
//! The cut-over is a list of [`Change`]s (JSON pointer, what was there, what it becomes). It
//! is recorded on the object (annotation [`ORIGINAL_ANNOTATION`]) so `rollback` restores exactly
//! the original references from any machine; both directions are JSON patches that first test
//! the object's `resourceVersion` and the values they replace.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{AWS_STORE, AZURE_STORE, Migration, VALUE_PROPERTY, VAULT_STORE};

/// Annotation holding the original references of a cut-over ExternalSecret (JSON list of
/// [`Change`]s).
pub const ORIGINAL_ANNOTATION: &str = "secretsync.io/cutover-original";
/// Largest annotation `rollback` reads (the API server caps all annotations at 256 KiB).
const MAX_RECORD: usize = 256 * 1024;

/// One field the cut-over changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// JSON pointer (`/spec/data/0/remoteRef/key`).
    pub path: String,
    /// What was there (absent: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<Value>,
    /// What the cut-over puts there.
    pub now: Value,
}

/// Why an ExternalSecret cannot be cut over: the first reference not covered (names the
/// reference, store and key; never a value).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotCovered(pub String);

/// The store a reference names, as the cut-over sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Store {
    /// ClusterSecretStore `vault`: already cut over.
    Vault,
    /// A migration source ClusterSecretStore.
    Source(String),
    /// Any other store (`SecretStore x`, `ClusterSecretStore y`).
    Other(String),
}

fn classify(r: &Value) -> Store {
    let name = r["name"].as_str().unwrap_or_default();
    // ESO's default kind is SecretStore (a namespaced store of that name, not ours)
    let kind = r["kind"].as_str().unwrap_or("SecretStore");
    match (kind, name) {
        ("ClusterSecretStore", VAULT_STORE) => Store::Vault,
        ("ClusterSecretStore", AZURE_STORE | AWS_STORE) => Store::Source(name.to_string()),
        _ => Store::Other(format!("{kind} {name}")),
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

/// `spec.secretStoreRef` of the cut-over form.
pub fn vault_ref() -> Value {
    json!({"name": VAULT_STORE, "kind": "ClusterSecretStore"})
}

/// The changes that put every reference of `es` (an ExternalSecret as JSON) on `vault`, or the
/// first reference `migration` does not cover. Empty: nothing left to switch.
pub fn translate(es: &Value, migration: &[Migration]) -> Result<Vec<Change>, NotCovered> {
    let spec = &es["spec"];
    let top_ref = present(spec.get("secretStoreRef"));
    let top = top_ref.map(classify);
    let mut uses_top = false;
    let mut changes = Vec::new();
    let empty = Vec::new();
    for (i, d) in spec["data"].as_array().unwrap_or(&empty).iter().enumerate() {
        let at = format!("data[{i}]");
        if present(d.pointer("/sourceRef/generatorRef")).is_some() {
            return Err(NotCovered(format!(
                "{at} uses a generator: its output cannot be proven identical"
            )));
        }
        let own = present(d.pointer("/sourceRef/storeRef"));
        let store = match own {
            Some(r) => Some(classify(r)),
            None => {
                uses_top = true;
                top.clone()
            }
        };
        let source = match store {
            None => return Err(NotCovered(format!("{at} names no store"))),
            Some(Store::Vault) => continue,
            Some(Store::Other(s)) => {
                return Err(NotCovered(format!(
                    "{at} reads {s}, which is not a migration source \
                     (ClusterSecretStore {AZURE_STORE} or {AWS_STORE})"
                )));
            }
            Some(Store::Source(s)) => s,
        };
        let remote = &d["remoteRef"];
        let key = remote["key"].as_str().unwrap_or_default();
        let what = format!("{at}.remoteRef (key {key:?} of ClusterSecretStore {source})");
        if text(&remote["version"]).is_some() {
            return Err(NotCovered(format!(
                "{what} pins a version; migration copies the latest"
            )));
        }
        if remote["metadataPolicy"] == "Fetch" {
            return Err(NotCovered(format!(
                "{what} reads metadata (metadataPolicy: Fetch), which is not migrated"
            )));
        }
        let property = text(&remote["property"]);
        let Some(m) = migration
            .iter()
            .find(|m| m.store == source && m.key == key && m.property.as_deref() == property)
        else {
            return Err(NotCovered(match property {
                Some(p) => format!("{what}, property {p:?}, is not in migration"),
                None => format!("{what} is not in migration"),
            }));
        };
        let base = format!("/spec/data/{i}/remoteRef");
        changes.push(Change {
            path: format!("{base}/key"),
            was: Some(json!(key)),
            now: json!(m.to),
        });
        changes.push(Change {
            path: format!("{base}/property"),
            was: present(remote.get("property")).cloned(),
            now: json!(VALUE_PROPERTY),
        });
        if let Some(r) = own {
            changes.push(Change {
                path: format!("/spec/data/{i}/sourceRef/storeRef"),
                was: Some(r.clone()),
                now: vault_ref(),
            });
        }
    }
    for (i, f) in spec["dataFrom"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .enumerate()
    {
        if present(f.pointer("/sourceRef/generatorRef")).is_some() {
            return Err(NotCovered(format!(
                "dataFrom[{i}] uses a generator: its output cannot be proven identical"
            )));
        }
        let store = match present(f.pointer("/sourceRef/storeRef")) {
            Some(r) => Some(classify(r)),
            None => {
                uses_top = true;
                top.clone()
            }
        };
        if store != Some(Store::Vault) {
            return Err(NotCovered(format!(
                "dataFrom[{i}] (extract or find) is not covered: migration maps single keys"
            )));
        }
    }
    if uses_top && let (Some(Store::Source(_)), Some(r)) = (&top, top_ref) {
        changes.insert(
            0,
            Change {
                path: "/spec/secretStoreRef".into(),
                was: Some(r.clone()),
                now: vault_ref(),
            },
        );
    }
    Ok(changes)
}

/// Splits a JSON pointer into its parent and last segment.
fn split(path: &str) -> Option<(&str, &str)> {
    path.rsplit_once('/')
}

fn set(doc: &mut Value, path: &str, value: Option<Value>) {
    let Some((parent, leaf)) = split(path) else {
        return;
    };
    if let Some(Value::Object(o)) = doc.pointer_mut(parent) {
        match value {
            Some(v) => {
                o.insert(leaf.to_string(), v);
            }
            None => {
                o.remove(leaf);
            }
        }
    }
}

/// `doc` with every change made (the cut-over form, in memory).
pub fn switch(doc: &mut Value, changes: &[Change]) {
    for c in changes {
        set(doc, &c.path, Some(c.now.clone()));
    }
}

/// `doc` with every change undone (the original references).
pub fn restore(doc: &mut Value, changes: &[Change]) {
    for c in changes.iter().rev() {
        set(doc, &c.path, c.was.clone());
    }
}

/// The annotation value recording `changes`.
pub fn record(changes: &[Change]) -> String {
    serde_json::to_string(changes).unwrap_or_default()
}

/// Whether `path` is one a cut-over changes (so a hand-edited annotation cannot make
/// `rollback` write anywhere else).
fn allowed(path: &str) -> bool {
    if path == "/spec/secretStoreRef" {
        return true;
    }
    let Some(rest) = path.strip_prefix("/spec/data/") else {
        return false;
    };
    let Some((index, field)) = rest.split_once('/') else {
        return false;
    };
    !index.is_empty()
        && index.len() <= 6
        && index.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            field,
            "remoteRef/key" | "remoteRef/property" | "sourceRef/storeRef"
        )
}

/// Reads the annotation back; the message says what is wrong with it.
pub fn parse_record(text: &str) -> Result<Vec<Change>, String> {
    if text.len() > MAX_RECORD {
        return Err(format!("longer than {MAX_RECORD} bytes"));
    }
    let changes: Vec<Change> = serde_json::from_str(text)
        .map_err(|e| format!("expected a JSON list of {{path, was, now}}: {e}"))?;
    if let Some(c) = changes.iter().find(|c| !allowed(&c.path)) {
        return Err(format!("path {:?} is not one a cut-over changes", c.path));
    }
    Ok(changes)
}

/// What `rollback` does with a cut-over ExternalSecret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollback {
    /// Every recorded field has its cut-over value: restore the originals.
    SwitchBack,
    /// Every recorded field already has its original value: only the annotation goes.
    AlreadyBack,
    /// This field has been changed since the cut-over (neither value): not touched.
    Changed(String),
}

/// Decides the rollback of `live` recorded as `changes` (pure).
pub fn rollback_of(live: &Value, changes: &[Change]) -> Rollback {
    let at = |c: &Change| present(live.pointer(&c.path));
    if changes.iter().all(|c| at(c) == Some(&c.now)) {
        return Rollback::SwitchBack;
    }
    if changes.iter().all(|c| at(c) == c.was.as_ref()) {
        return Rollback::AlreadyBack;
    }
    match changes
        .iter()
        .find(|c| at(c) != Some(&c.now) && at(c) != c.was.as_ref())
    {
        Some(c) => Rollback::Changed(c.path.clone()),
        // some fields switched, some back: finish restoring
        None => Rollback::SwitchBack,
    }
}

/// JSON pointer of the record annotation.
fn annotation_path() -> String {
    format!(
        "/metadata/annotations/{}",
        ORIGINAL_ANNOTATION.replace('~', "~0").replace('/', "~1")
    )
}

/// The JSON patch of the cut-over: test the `resourceVersion` the proof saw and each value it
/// replaces, set the new ones, record the originals.
pub fn switch_patch(live: &Value, changes: &[Change]) -> Value {
    let mut ops = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion",
        "value": live["metadata"]["resourceVersion"],
    })];
    for c in changes {
        if let Some(was) = &c.was {
            ops.push(json!({"op": "test", "path": c.path, "value": was}));
        }
        ops.push(json!({"op": "add", "path": c.path, "value": c.now}));
    }
    if live["metadata"]["annotations"].is_object() {
        ops.push(json!({"op": "add", "path": annotation_path(), "value": record(changes)}));
    } else {
        ops.push(json!({
            "op": "add", "path": "/metadata/annotations",
            "value": {ORIGINAL_ANNOTATION: record(changes)},
        }));
    }
    Value::Array(ops)
}

/// The JSON patch of a rollback: put back every original the live object does not already
/// have (removing fields that were absent), then remove the annotation.
pub fn rollback_patch(live: &Value, changes: &[Change]) -> Value {
    let mut ops = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion",
        "value": live["metadata"]["resourceVersion"],
    })];
    for c in changes.iter().rev() {
        let now = present(live.pointer(&c.path));
        if now == c.was.as_ref() {
            continue;
        }
        match (&c.was, now) {
            (Some(was), _) => ops.push(json!({"op": "add", "path": c.path, "value": was})),
            (None, Some(_)) => ops.push(json!({"op": "remove", "path": c.path})),
            (None, None) => {}
        }
    }
    ops.push(json!({"op": "remove", "path": annotation_path()}));
    Value::Array(ops)
}

#[cfg(test)]
mod tests;
