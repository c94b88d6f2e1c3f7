//! Server-side apply: `metadata.managedFields` bookkeeping as pure functions.
//!
//! Follows structured-merge-diff's `Updater`: `apply` merges the configuration, prunes fields the
//! applier dropped, and reports conflicts against other managers; `update` (PUT, merge/JSON
//! patches, create) records an `operation: Update` manager for what changed.

pub mod fieldset;
pub mod values;

use fieldset::{FieldSet, PathElement, path_display};
use serde_json::{Map, Value, json};
use values::{ListTypes, compare, merge, remove_paths};

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// Manager name (`fieldManager`).
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion the fields were written with.
    pub api_version: String,
    /// `status` for status subresource writes, empty otherwise.
    pub subresource: String,
    /// Last change, RFC 3339.
    pub time: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl Manager {
    fn same_identity(&self, other: &Manager) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    /// How conflict messages name this manager (`"name"`, `"name" using v1`,
    /// `"name" with subresource "status"`).
    pub fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", self.subresource);
        }
        // The apiserver builds this from the manager identifier, which never carries the time.
        if self.operation == "Update" {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

/// Parses `metadata.managedFields`.
pub fn decode_managers(obj: &Value) -> Vec<Manager> {
    let Some(list) = obj
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| Manager {
            manager: str_of(e, "manager"),
            operation: str_of(e, "operation"),
            api_version: str_of(e, "apiVersion"),
            subresource: str_of(e, "subresource"),
            time: str_of(e, "time"),
            fields: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
        })
        .collect()
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Renders managers as `metadata.managedFields`, sorted like the real server.
pub fn encode_managers(managers: &[Manager]) -> Value {
    let mut sorted: Vec<&Manager> = managers.iter().filter(|m| !m.fields.is_empty()).collect();
    sorted.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    Value::Array(
        sorted
            .into_iter()
            .map(|m| {
                let mut e = json!({
                    "manager": m.manager,
                    "operation": m.operation,
                    "apiVersion": m.api_version,
                    "time": m.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": m.fields.to_fields_v1(),
                });
                if !m.subresource.is_empty() {
                    e["subresource"] = json!(m.subresource);
                }
                e
            })
            .collect(),
    )
}

/// Which part of the object a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole object (resources without a status subresource).
    Whole,
    /// Everything but `status` (main resource of a type with a status subresource).
    MainResource,
    /// Only `status` (the status subresource).
    Status,
}

/// Removes server-managed fields (apiVersion, kind, metadata.name, uid, ...) and out-of-scope parts
/// so field sets and comparisons only see user-owned fields.
pub fn strip_for_tracking(obj: &Value, scope: Scope) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for f in [
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "generation",
                "managedFields",
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                meta.remove(f);
            }
            if meta.is_empty() {
                m.remove("metadata");
            }
        }
        match scope {
            Scope::Whole => {}
            Scope::MainResource => {
                m.remove("status");
            }
            Scope::Status => m.retain(|k, _| k == "status"),
        }
    }
    o
}

/// The identity of the manager doing a write.
#[derive(Debug, Clone)]
pub struct Writer {
    /// Manager name.
    pub manager: String,
    /// apiVersion of the request.
    pub api_version: String,
    /// `status` or empty.
    pub subresource: String,
    /// Now, RFC 3339.
    pub time: String,
}

/// A failed apply: `(manager description, path)` conflicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflicts(pub Vec<(String, String)>);

fn reconcile_others(
    managers: &mut [Manager],
    me: &Manager,
    comparison: &values::Comparison,
    force: bool,
) -> Result<(), Conflicts> {
    let changed = comparison.modified.union(&comparison.added);
    let mut conflicts = Vec::new();
    for m in managers.iter() {
        if m.same_identity(me) {
            continue;
        }
        for p in m.fields.intersection(&changed).paths() {
            conflicts.push((m.describe(), path_display(&p)));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(Conflicts(conflicts));
    }
    for m in managers.iter_mut() {
        if m.same_identity(me) {
            continue;
        }
        m.fields = m
            .fields
            .difference(&changed)
            .recursive_difference(&comparison.removed);
    }
    Ok(())
}

fn upsert(managers: &mut Vec<Manager>, me: Manager) {
    match managers.iter_mut().find(|m| m.same_identity(&me)) {
        Some(existing) => {
            if existing.fields != me.fields || existing.api_version != me.api_version {
                *existing = me;
            }
        }
        None => managers.push(me),
    }
    managers.retain(|m| !m.fields.is_empty());
}

/// Records an `Update` operation from `old` to `new` (both full objects); returns the new managers.
pub fn update(
    old: &Value,
    new: &Value,
    managers: Vec<Manager>,
    writer: &Writer,
    scope: Scope,
    types: &dyn ListTypes,
) -> Vec<Manager> {
    let mut managers = managers;
    let (o, n) = (
        strip_for_tracking(old, scope),
        strip_for_tracking(new, scope),
    );
    let comparison = compare(&o, &n, types);
    if comparison.is_same() {
        return managers;
    }
    let mut me = Manager {
        manager: writer.manager.clone(),
        operation: "Update".into(),
        api_version: writer.api_version.clone(),
        subresource: writer.subresource.clone(),
        time: writer.time.clone(),
        fields: FieldSet::default(),
    };
    let _ = reconcile_others(&mut managers, &me, &comparison, true);
    let previous = managers
        .iter()
        .find(|m| m.same_identity(&me))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    me.fields = previous
        .union(&comparison.modified)
        .union(&comparison.added)
        .recursive_difference(&comparison.removed);
    upsert(&mut managers, me);
    managers
}

/// Result of a server-side apply.
#[derive(Debug)]
pub struct Applied {
    /// The merged object (without managedFields).
    pub object: Value,
    /// New managers.
    pub managers: Vec<Manager>,
}

/// Applies `config` (the applied configuration) onto `live` for `writer`.
pub fn apply(
    live: &Value,
    config: &Value,
    managers: Vec<Manager>,
    writer: &Writer,
    scope: Scope,
    force: bool,
    types: &dyn ListTypes,
) -> Result<Applied, Conflicts> {
    let mut managers = managers;
    let cfg = strip_for_tracking(config, scope);
    let applied = values::applied_set(&cfg, types);
    let me = Manager {
        manager: writer.manager.clone(),
        operation: "Apply".into(),
        api_version: writer.api_version.clone(),
        subresource: writer.subresource.clone(),
        time: writer.time.clone(),
        fields: applied.clone(),
    };
    let last = managers
        .iter()
        .find(|m| m.same_identity(&me))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    let mut merged = merge(live, &cfg, types);
    let owned_by_anyone = managers
        .iter()
        .filter(|m| !m.same_identity(&me))
        .fold(applied.clone(), |acc, m| acc.union(&m.fields));
    let dropped = last
        .difference(&owned_by_anyone)
        .sparing_containers_of(&owned_by_anyone);
    if !dropped.is_empty() {
        remove_paths(&mut merged, &dropped, types);
    }
    let comparison = compare(
        &strip_for_tracking(live, scope),
        &strip_for_tracking(&merged, scope),
        types,
    );
    reconcile_others(&mut managers, &me, &comparison, force)?;
    upsert(&mut managers, me);
    Ok(Applied {
        object: merged,
        managers,
    })
}

/// Writes managers into `obj.metadata.managedFields` (removing the key when empty).
pub fn set_managed_fields(obj: &mut Value, managers: &[Manager]) {
    let encoded = encode_managers(managers);
    let meta = super::util::metadata_mut(obj);
    if encoded.as_array().is_some_and(|a| a.is_empty()) {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encoded);
    }
}

/// A path element list for `status` (used by callers that scope sets).
pub fn status_path() -> Vec<PathElement> {
    vec![PathElement::Field("status".into())]
}

/// Empty object helper.
pub fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::values::ListKind;
    use super::*;

    struct Plain;
    impl ListTypes for Plain {
        fn list_kind(&self, _: &[String]) -> ListKind {
            ListKind::Atomic
        }
    }

    fn writer(name: &str) -> Writer {
        Writer {
            manager: name.into(),
            api_version: "v1".into(),
            subresource: String::new(),
            time: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn apply_records_fields_and_detects_conflicts() {
        let cfg = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"app":"x"}},"data":{"key":"v"}});
        let a = apply(
            &empty_object(),
            &cfg,
            vec![],
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("first apply");
        assert_eq!(
            a.managers[0].fields.to_fields_v1(),
            json!({"f:metadata":{"f:labels":{"f:app":{}}},"f:data":{"f:key":{}}})
        );
        let other = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"key":"other"}});
        let err = apply(
            &a.object,
            &other,
            a.managers.clone(),
            &writer("two"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect_err("conflict");
        assert_eq!(
            err.0,
            vec![("\"one\"".to_string(), ".data.key".to_string())]
        );
        // Same value: shared ownership, no conflict.
        let same = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"key":"v"}});
        let shared = apply(
            &a.object,
            &same,
            a.managers.clone(),
            &writer("two"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("shared");
        assert_eq!(shared.managers.len(), 2);
        // Force transfers ownership.
        let forced = apply(
            &a.object,
            &other,
            a.managers,
            &writer("two"),
            Scope::Whole,
            true,
            &Plain,
        )
        .expect("forced");
        let one = forced
            .managers
            .iter()
            .find(|m| m.manager == "one")
            .expect("one stays");
        assert!(!one.fields.has(&fieldset::field_path(&["data", "key"])));
        assert_eq!(forced.object["data"]["key"], "other");
    }

    #[test]
    fn apply_removes_fields_no_longer_applied() {
        let first = json!({"metadata":{"name":"c"},"data":{"a":"1","b":"2"}});
        let a = apply(
            &empty_object(),
            &first,
            vec![],
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("apply");
        let second = json!({"metadata":{"name":"c"},"data":{"a":"1"}});
        let b = apply(
            &a.object,
            &second,
            a.managers,
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("apply");
        assert_eq!(b.object["data"], json!({"a":"1"}));
    }

    #[test]
    fn a_container_owned_as_such_stays_while_keys_in_it_are_applied() {
        // The last applied set owns `data` itself (`.`, e.g. moved over from the create's
        // Update entry): dropping `b` prunes `b`, not the map that still holds `a`.
        let live = json!({"metadata":{"name":"c"},"data":{"a":"1","b":"2"}});
        let mut last = FieldSet::default();
        last.insert(&fieldset::field_path(&["data"]));
        last.insert(&fieldset::field_path(&["data", "a"]));
        last.insert(&fieldset::field_path(&["data", "b"]));
        let mine = Manager {
            manager: "one".into(),
            operation: "Apply".into(),
            api_version: "v1".into(),
            subresource: String::new(),
            time: String::new(),
            fields: last,
        };
        let config = json!({"metadata":{"name":"c"},"data":{"a":"1"}});
        let b = apply(
            &live,
            &config,
            vec![mine],
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("apply");
        assert_eq!(b.object["data"], json!({"a":"1"}));
    }

    #[test]
    fn update_takes_ownership_of_changed_fields() {
        let old = json!({"metadata":{"name":"c"},"data":{"a":"1"}});
        let a = apply(
            &empty_object(),
            &old,
            vec![],
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect("apply");
        let new = json!({"metadata":{"name":"c"},"data":{"a":"2","b":"3"}});
        let managers = update(
            &a.object,
            &new,
            a.managers,
            &writer("editor"),
            Scope::Whole,
            &Plain,
        );
        assert_eq!(managers.len(), 1, "one lost its only field: {managers:?}");
        assert_eq!(
            managers[0].fields.to_fields_v1(),
            json!({"f:data":{"f:a":{},"f:b":{}}})
        );
        assert_eq!(managers[0].operation, "Update");
        let reapply = json!({"metadata":{"name":"c"},"data":{"a":"1"}});
        let err = apply(
            &new,
            &reapply,
            managers,
            &writer("one"),
            Scope::Whole,
            false,
            &Plain,
        )
        .expect_err("the editor now owns data.a");
        assert_eq!(
            err.0,
            vec![("\"editor\" using v1".to_string(), ".data.a".to_string())]
        );
    }
}
