//! Field sets in the `FieldsV1` shape used by `metadata.managedFields`.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One step in a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElement {
    /// A map key / struct field (`f:name`).
    Field(String),
    /// An associative-list item, identified by its key fields (`k:{"type":"Ready"}`, canonical JSON).
    Key(String),
    /// A set-list item (`v:"value"`, JSON).
    Value(String),
    /// An atomic list index (`i:0`), only for completeness.
    Index(usize),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => format!("k:{k}"),
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        let (prefix, rest) = s.split_once(':')?;
        Some(match prefix {
            "f" => PathElement::Field(rest.to_string()),
            "k" => PathElement::Key(rest.to_string()),
            "v" => PathElement::Value(rest.to_string()),
            "i" => PathElement::Index(rest.parse().ok()?),
            _ => return None,
        })
    }

    /// The path syntax used in conflict messages (`.data.key`, `[type="Ready"]`, `[="x"]`).
    pub fn display(&self) -> String {
        match self {
            PathElement::Field(f) => format!(".{f}"),
            PathElement::Key(k) => {
                let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={v}]"),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

/// A set of field paths, stored as a tree. `member` marks the node's own path as part of the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Whether this node's path itself is in the set.
    pub member: bool,
    /// Child paths.
    pub children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// True when no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Inserts a path (the node at the end becomes a member).
    pub fn insert(&mut self, path: &[PathElement]) {
        let mut node = self;
        for pe in path {
            node = node.children.entry(pe.clone()).or_default();
        }
        node.member = true;
    }

    /// The node at `path`, if any.
    pub fn get(&self, path: &[PathElement]) -> Option<&FieldSet> {
        let mut node = self;
        for pe in path {
            node = node.children.get(pe)?;
        }
        Some(node)
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        self.get(path).is_some_and(|n| n.member)
    }

    /// Set union.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (k, v) in &other.children {
            let merged = match out.children.get(k) {
                Some(mine) => mine.union(v),
                None => v.clone(),
            };
            out.children.insert(k.clone(), merged);
        }
        out
    }

    /// Members of `self` that are not members of `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let d = match other.children.get(k) {
                Some(o) => v.difference(o),
                None => v.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    /// Removes every member of `other` and everything below it from `self`.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        if other.member {
            return FieldSet::default();
        }
        let mut out = FieldSet {
            member: self.member,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let d = match other.children.get(k) {
                Some(o) => v.recursive_difference(o),
                None => v.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    /// `self` without the members that are containers of something `owned` still holds
    /// (structured-merge-diff's prune adds those containers back: a map created by an update,
    /// `.`, is not removed while an applier owns one of its keys).
    pub fn sparing_containers_of(&self, owned: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && owned.children.values().all(FieldSet::is_empty),
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let spared = match owned.children.get(k) {
                Some(o) => v.sparing_containers_of(o),
                None => v.clone(),
            };
            if !spared.is_empty() {
                out.children.insert(k.clone(), spared);
            }
        }
        out
    }

    /// Members in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            if let Some(o) = other.children.get(k) {
                let i = v.intersection(o);
                if !i.is_empty() {
                    out.children.insert(k.clone(), i);
                }
            }
        }
        out
    }

    /// Keeps only the subtree under `path` (used for the status subresource).
    pub fn only_under(&self, path: &[PathElement]) -> FieldSet {
        let mut out = FieldSet::default();
        if let Some(node) = self.get(path) {
            let mut target = &mut out;
            for pe in path {
                target = target.children.entry(pe.clone()).or_default();
            }
            *target = node.clone();
        }
        out
    }

    /// Every member path, depth first.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (k, v) in &self.children {
            prefix.push(k.clone());
            v.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Serialises to `FieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, v) in &self.children {
            if v.is_empty() {
                continue;
            }
            m.insert(k.encode(), v.to_fields_v1());
        }
        Value::Object(m)
    }

    /// Parses `FieldsV1` JSON.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut out = FieldSet::default();
        if let Value::Object(m) = v {
            if m.is_empty() {
                out.member = true;
            }
            for (k, child) in m {
                if k == "." {
                    out.member = true;
                } else if let Some(pe) = PathElement::decode(k) {
                    out.children.insert(pe, FieldSet::from_fields_v1(child));
                }
            }
        }
        out
    }
}

/// Renders a path for conflict messages.
pub fn path_display(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

/// Shorthand for building paths in code and tests.
pub fn field_path(fields: &[&str]) -> Vec<PathElement> {
    fields
        .iter()
        .map(|f| PathElement::Field((*f).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_fields_v1() {
        let v = json!({"f:metadata":{"f:labels":{"f:app":{}}},"f:data":{".":{},"f:key":{}},
            "f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{}}}}});
        let set = FieldSet::from_fields_v1(&v);
        assert!(set.has(&field_path(&["metadata", "labels", "app"])));
        assert!(set.has(&field_path(&["data"])));
        assert!(!set.has(&field_path(&["metadata"])));
        assert_eq!(set.to_fields_v1(), v);
    }

    #[test]
    fn set_algebra() {
        let mut a = FieldSet::default();
        a.insert(&field_path(&["data", "a"]));
        a.insert(&field_path(&["data", "b"]));
        let mut b = FieldSet::default();
        b.insert(&field_path(&["data", "b"]));
        b.insert(&field_path(&["data", "c"]));
        assert_eq!(a.intersection(&b).paths(), vec![field_path(&["data", "b"])]);
        assert_eq!(a.difference(&b).paths(), vec![field_path(&["data", "a"])]);
        assert_eq!(a.union(&b).paths().len(), 3);
        let mut data = FieldSet::default();
        data.insert(&field_path(&["data"]));
        assert!(a.recursive_difference(&data).is_empty());
        assert_eq!(
            path_display(&[
                PathElement::Field("status".into()),
                PathElement::Key(r#"{"type":"Ready"}"#.into())
            ]),
            r#".status[type="Ready"]"#
        );
    }
}
