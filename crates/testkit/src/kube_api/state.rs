//! Server state (registry + store) and the lifecycle controllers the real control plane runs:
//! finalizer-driven removal, ownerReference garbage collection and namespace termination.

use super::registry::{Registry, Special};
use super::store::{ObjKey, Store};
use super::util::{metadata_mut, now_rfc3339};
use serde_json::Value;
use std::collections::HashSet;

/// Everything behind the server's lock.
pub struct State {
    /// Served types.
    pub registry: Registry,
    /// Objects.
    pub store: Store,
    /// Set by writes that may need lifecycle processing.
    pub lifecycle_dirty: bool,
    /// CA certificate published as `kube-root-ca.crt` in every namespace.
    pub root_ca_pem: Option<String>,
}

impl State {
    /// Fresh state with the built-in types.
    pub fn new(history_limit: usize) -> Self {
        Self {
            registry: Registry::with_builtins(),
            store: Store::new(history_limit),
            lifecycle_dirty: false,
            root_ca_pem: None,
        }
    }

    /// Unregisters a custom type and drops its objects.
    pub fn drop_custom_type(&mut self, group: &str, plural: &str) {
        let keys: Vec<ObjKey> = self
            .store
            .list(group, plural, None)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.store.remove(&k);
        }
        self.registry.remove(group, plural);
    }

    fn is_namespaced(&self, key: &ObjKey) -> bool {
        self.registry
            .by_plural(&key.group, &key.resource)
            .is_some_and(|t| t.namespaced)
    }

    fn special(&self, key: &ObjKey) -> Special {
        self.registry
            .by_plural(&key.group, &key.resource)
            .map(|t| t.special)
            .unwrap_or(Special::None)
    }

    /// Starts deletion of one object (background propagation): removes it, or marks it deleting
    /// when it has finalizers. Returns true when something changed.
    fn begin_delete(&mut self, key: &ObjKey) -> bool {
        let Some(obj) = self.store.get(key) else {
            return false;
        };
        if obj["metadata"].get("deletionTimestamp").is_some() {
            return false;
        }
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if has_finalizers || self.special(key) == Special::Namespace {
            let mut o = (*obj).clone();
            let meta = metadata_mut(&mut o);
            meta.insert("deletionTimestamp".into(), now_rfc3339().into());
            meta.insert("deletionGracePeriodSeconds".into(), 0.into());
            if self.special(key) == Special::Namespace {
                o["status"] = serde_json::json!({"phase": "Terminating"});
            }
            self.store.put(key.clone(), o);
        } else {
            self.remove(key);
        }
        true
    }

    fn remove(&mut self, key: &ObjKey) {
        if let Some(gone) = self.store.remove(key)
            && self.special(key) == Special::Crd
            && let Ok(t) = super::registry::type_from_crd(&gone)
        {
            self.drop_custom_type(&t.group, &t.plural);
        }
    }

    fn set_finalizers(&mut self, key: &ObjKey, finalizers: Vec<Value>) {
        if let Some(obj) = self.store.get(key) {
            let mut o = (*obj).clone();
            let deleting = o["metadata"].get("deletionTimestamp").is_some();
            let empty = finalizers.is_empty();
            let meta = metadata_mut(&mut o);
            if empty {
                meta.remove("finalizers");
            } else {
                meta.insert("finalizers".into(), Value::Array(finalizers));
            }
            if deleting && empty && self.special(key) != Special::Namespace {
                self.store.remove_with_final_state(key, Some(o));
            } else {
                self.store.put(key.clone(), o);
            }
        }
    }

    /// Runs the lifecycle controllers until nothing changes.
    pub fn reconcile_lifecycle(&mut self) {
        if !self.lifecycle_dirty {
            return;
        }
        self.lifecycle_dirty = false;
        for _ in 0..1000 {
            if !self.lifecycle_pass() {
                break;
            }
        }
    }

    fn lifecycle_pass(&mut self) -> bool {
        let snapshot: Vec<(ObjKey, std::sync::Arc<Value>)> = self
            .store
            .all()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let live_uids: HashSet<String> = snapshot
            .iter()
            .filter_map(|(_, o)| o["metadata"]["uid"].as_str().map(String::from))
            .collect();
        let mut changed = false;
        for (key, obj) in &snapshot {
            let meta = &obj["metadata"];
            let uid = meta["uid"].as_str().unwrap_or_default();
            let deleting = meta.get("deletionTimestamp").is_some();
            let finalizers: Vec<Value> = meta["finalizers"].as_array().cloned().unwrap_or_default();
            let dependents: Vec<&ObjKey> = snapshot
                .iter()
                .filter(|(_, d)| {
                    d["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
                })
                .map(|(k, _)| k)
                .collect();
            if deleting && finalizers.iter().any(|f| f == "orphan") {
                for d in &dependents {
                    if let Some(dobj) = self.store.get(d) {
                        let mut o = (*dobj).clone();
                        if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != uid);
                        }
                        if o["metadata"]["ownerReferences"]
                            .as_array()
                            .is_some_and(|r| r.is_empty())
                        {
                            metadata_mut(&mut o).remove("ownerReferences");
                        }
                        self.store.put((*d).clone(), o);
                    }
                }
                self.set_finalizers(
                    key,
                    finalizers.into_iter().filter(|f| f != "orphan").collect(),
                );
                changed = true;
                continue;
            }
            if deleting && finalizers.iter().any(|f| f == "foregroundDeletion") {
                if dependents.is_empty() {
                    self.set_finalizers(
                        key,
                        finalizers
                            .into_iter()
                            .filter(|f| f != "foregroundDeletion")
                            .collect(),
                    );
                    changed = true;
                } else {
                    for d in dependents {
                        changed |= self.begin_delete(d);
                    }
                }
                continue;
            }
            if self.special(key) == Special::Namespace && deleting {
                let contents: Vec<ObjKey> = snapshot
                    .iter()
                    .filter(|(k, _)| k.namespace == key.name && self.is_namespaced(k))
                    .map(|(k, _)| k.clone())
                    .collect();
                if contents.is_empty() {
                    if finalizers.is_empty() {
                        self.store.remove(key);
                        changed = true;
                    }
                } else {
                    for c in contents {
                        changed |= self.begin_delete(&c);
                    }
                }
                continue;
            }
            if deleting && finalizers.is_empty() {
                self.remove(key);
                changed = true;
                continue;
            }
            if let Some(refs) = meta["ownerReferences"].as_array() {
                let owners_gone = !refs.is_empty()
                    && refs
                        .iter()
                        .all(|r| !r["uid"].as_str().is_some_and(|u| live_uids.contains(u)));
                if owners_gone && !deleting {
                    changed |= self.begin_delete(key);
                }
            }
        }
        changed
    }
}
