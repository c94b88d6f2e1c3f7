//! Schema-aware walks over JSON objects: applied field sets, comparisons, apply merges, pruning.

use super::fieldset::{FieldSet, PathElement};
use serde_json::{Map, Value};

/// How a list at some path merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole (the default).
    Atomic,
    /// Items are scalars forming a set.
    Set,
    /// Items are objects keyed by these fields.
    Map(Vec<String>),
}

/// Answers list semantics for a schema path (field names only; `[]` marks list items).
pub trait ListTypes {
    /// The list kind at `path`.
    fn list_kind(&self, path: &[String]) -> ListKind;
}

/// Builds the path element identifying a list item, or `None` for atomic lists / bad items.
pub fn item_element(kind: &ListKind, item: &Value) -> Option<PathElement> {
    match kind {
        ListKind::Atomic => None,
        ListKind::Set => Some(PathElement::Value(item.to_string())),
        ListKind::Map(keys) => {
            let mut key = Map::new();
            for k in keys {
                if let Some(v) = item.get(k) {
                    key.insert(k.clone(), v.clone());
                }
            }
            if key.is_empty() {
                return None;
            }
            // serde_json with preserve_order keeps insertion order; sort for canonical form.
            let mut sorted: Vec<(String, Value)> = key.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            Some(PathElement::Key(
                Value::Object(sorted.into_iter().collect()).to_string(),
            ))
        }
    }
}

fn child_schema(schema: &[String], field: &str) -> Vec<String> {
    let mut s = schema.to_vec();
    s.push(field.to_string());
    s
}

fn item_schema(schema: &[String]) -> Vec<String> {
    let mut s = schema.to_vec();
    s.push("[]".into());
    s
}

/// The field set an applied configuration claims (leaves, non-atomic list items).
pub fn applied_set(value: &Value, types: &dyn ListTypes) -> FieldSet {
    let mut set = FieldSet::default();
    walk_applied(value, types, &mut Vec::new(), &mut Vec::new(), &mut set);
    set
}

fn walk_applied(
    value: &Value,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
    schema: &mut Vec<String>,
    set: &mut FieldSet,
) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(PathElement::Field(k.clone()));
                schema.push(k.clone());
                walk_applied(v, types, path, schema, set);
                schema.pop();
                path.pop();
            }
        }
        Value::Array(items) => {
            let kind = types.list_kind(schema);
            if kind == ListKind::Atomic {
                set.insert(path);
                return;
            }
            for item in items {
                let Some(pe) = item_element(&kind, item) else {
                    continue;
                };
                path.push(pe);
                set.insert(path);
                if item.is_object() {
                    schema.push("[]".into());
                    walk_applied(item, types, path, schema, set);
                    schema.pop();
                }
                path.pop();
            }
        }
        _ => set.insert(path),
    }
}

/// Differences between two objects, as field sets.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Paths present only in the new object (containers are members too).
    pub added: FieldSet,
    /// Paths whose value changed.
    pub modified: FieldSet,
    /// Paths present only in the old object.
    pub removed: FieldSet,
}

impl Comparison {
    /// True when nothing changed.
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// Compares `old` and `new` with the list semantics of `types`.
pub fn compare(old: &Value, new: &Value, types: &dyn ListTypes) -> Comparison {
    let mut c = Comparison::default();
    walk_compare(old, new, types, &mut Vec::new(), &[], &mut c);
    c
}

fn mark_added(
    value: &Value,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
    schema: &[String],
    set: &mut FieldSet,
) {
    set.insert(path);
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(PathElement::Field(k.clone()));
                mark_added(v, types, path, &child_schema(schema, k), set);
                path.pop();
            }
        }
        Value::Array(items) => {
            let kind = types.list_kind(schema);
            for item in items {
                if let Some(pe) = item_element(&kind, item) {
                    path.push(pe);
                    mark_added(item, types, path, &item_schema(schema), set);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn walk_compare(
    old: &Value,
    new: &Value,
    types: &dyn ListTypes,
    path: &mut Vec<PathElement>,
    schema: &[String],
    c: &mut Comparison,
) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, nv) in n {
                path.push(PathElement::Field(k.clone()));
                let cs = child_schema(schema, k);
                match o.get(k) {
                    Some(ov) => walk_compare(ov, nv, types, path, &cs, c),
                    None => mark_added(nv, types, path, &cs, &mut c.added),
                }
                path.pop();
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                path.push(PathElement::Field(k.clone()));
                c.removed.insert(path);
                path.pop();
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            let kind = types.list_kind(schema);
            if kind == ListKind::Atomic {
                if o != n {
                    c.modified.insert(path);
                }
                return;
            }
            let keyed = |items: &Vec<Value>| -> Vec<(PathElement, Value)> {
                items
                    .iter()
                    .filter_map(|i| item_element(&kind, i).map(|pe| (pe, i.clone())))
                    .collect()
            };
            let (ok, nk) = (keyed(o), keyed(n));
            let is = item_schema(schema);
            for (pe, nv) in &nk {
                path.push(pe.clone());
                match ok.iter().find(|(p, _)| p == pe) {
                    Some((_, ov)) => walk_compare(ov, nv, types, path, &is, c),
                    None => mark_added(nv, types, path, &is, &mut c.added),
                }
                path.pop();
            }
            for (pe, _) in ok.iter().filter(|(p, _)| !nk.iter().any(|(q, _)| q == p)) {
                path.push(pe.clone());
                c.removed.insert(path);
                path.pop();
            }
        }
        (o, n) => {
            if o != n {
                c.modified.insert(path);
            }
        }
    }
}

/// Merges an applied configuration into the live object.
pub fn merge(live: &Value, config: &Value, types: &dyn ListTypes) -> Value {
    merge_at(live, config, types, &[])
}

fn merge_at(live: &Value, config: &Value, types: &dyn ListTypes, schema: &[String]) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match l.get(k) {
                    Some(lv) => merge_at(lv, cv, types, &child_schema(schema, k)),
                    None => cv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => {
            let kind = types.list_kind(schema);
            if kind == ListKind::Atomic {
                return config.clone();
            }
            let is = item_schema(schema);
            let mut out: Vec<Value> = Vec::new();
            // Applied items in applied order, merged with their live counterparts,
            // followed by live-only items in live order.
            for ci in c {
                let pe = item_element(&kind, ci);
                let li = l
                    .iter()
                    .find(|li| pe.is_some() && item_element(&kind, li) == pe);
                out.push(match li {
                    Some(li) => merge_at(li, ci, types, &is),
                    None => ci.clone(),
                });
            }
            for li in l {
                let pe = item_element(&kind, li);
                if pe.is_none() || !c.iter().any(|ci| item_element(&kind, ci) == pe) {
                    out.push(li.clone());
                }
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

/// Removes every member path of `set` from `value`; maps emptied by the removal are dropped.
pub fn remove_paths(value: &mut Value, set: &FieldSet, types: &dyn ListTypes) {
    remove_at(value, set, types, &[]);
}

fn remove_at(value: &mut Value, set: &FieldSet, types: &dyn ListTypes, schema: &[String]) {
    match value {
        Value::Object(m) => {
            for (pe, child) in &set.children {
                let PathElement::Field(k) = pe else { continue };
                if child.member {
                    m.remove(k);
                } else if let Some(v) = m.get_mut(k) {
                    remove_at(v, child, types, &child_schema(schema, k));
                    let emptied = matches!(v, Value::Object(o) if o.is_empty())
                        || matches!(v, Value::Array(a) if a.is_empty());
                    if emptied {
                        m.remove(k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let kind = types.list_kind(schema);
            let is = item_schema(schema);
            items.retain_mut(|item| {
                let Some(pe) = item_element(&kind, item) else {
                    return true;
                };
                match set.children.get(&pe) {
                    Some(child) if child.member => false,
                    Some(child) => {
                        remove_at(item, child, types, &is);
                        true
                    }
                    None => true,
                }
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::fieldset::field_path;
    use super::*;
    use serde_json::json;

    struct Conditions;
    impl ListTypes for Conditions {
        fn list_kind(&self, path: &[String]) -> ListKind {
            match path.join(".").as_str() {
                "status.conditions" => ListKind::Map(vec!["type".into()]),
                "metadata.finalizers" => ListKind::Set,
                _ => ListKind::Atomic,
            }
        }
    }

    #[test]
    fn applied_set_has_leaves_and_items() {
        let v = json!({"metadata":{"labels":{"app":"x"},"finalizers":["a"]},
            "status":{"conditions":[{"type":"Ready","status":"True"}]},"spec":{"list":[1,2]}});
        let set = applied_set(&v, &Conditions);
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata":{"f:labels":{"f:app":{}},"f:finalizers":{"v:\"a\"":{}}},
                "f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{},"f:type":{}}}},
                "f:spec":{"f:list":{}}})
        );
    }

    #[test]
    fn compare_reports_added_modified_removed() {
        let old = json!({"data":{"a":"1","b":"2"}});
        let new = json!({"data":{"a":"9","c":"3"},"type":"Opaque"});
        let c = compare(&old, &new, &Conditions);
        assert!(c.modified.has(&field_path(&["data", "a"])));
        assert!(c.added.has(&field_path(&["data", "c"])));
        assert!(c.added.has(&field_path(&["type"])));
        assert!(c.removed.has(&field_path(&["data", "b"])));
        assert!(compare(&old, &old, &Conditions).is_same());
    }

    #[test]
    fn merge_keeps_live_items_and_merges_keyed_items() {
        let live = json!({"status":{"conditions":[{"type":"A","status":"False"},{"type":"B","status":"True"}]},"x":[1]});
        let cfg = json!({"status":{"conditions":[{"type":"A","status":"True"}]},"x":[2]});
        let out = merge(&live, &cfg, &Conditions);
        assert_eq!(
            out,
            json!({"status":{"conditions":[{"type":"A","status":"True"},{"type":"B","status":"True"}]},"x":[2]})
        );
    }

    #[test]
    fn remove_paths_drops_leaves_items_and_empty_maps() {
        let mut v = json!({"metadata":{"labels":{"a":"1"}},"status":{"conditions":[{"type":"A"},{"type":"B"}]}});
        let mut set = FieldSet::default();
        set.insert(&field_path(&["metadata", "labels", "a"]));
        let mut item = field_path(&["status", "conditions"]);
        item.push(PathElement::Key(r#"{"type":"A"}"#.into()));
        set.insert(&item);
        remove_paths(&mut v, &set, &Conditions);
        assert_eq!(v, json!({"status":{"conditions":[{"type":"B"}]}}));
    }
}
