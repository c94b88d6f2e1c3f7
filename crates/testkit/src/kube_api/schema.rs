//! Structural-schema handling for custom resources: pruning of unknown fields and defaulting,
//! as kube-apiserver does for CRDs (validation of types/required/enums is not implemented).

use serde_json::{Map, Value};

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

/// Applies `default`s of the schema to missing properties of existing objects.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, prop) in props {
                    if !m.contains_key(name)
                        && let Some(d) = prop.get("default")
                    {
                        m.insert(name.clone(), d.clone());
                    }
                    if let Some(child) = m.get_mut(name) {
                        apply_defaults(child, prop);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                let known: Vec<String> = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                for (k, v) in m.iter_mut() {
                    if !known.contains(k) {
                        apply_defaults(v, additional);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the schema does not know; returns their paths (`spec.foo`).
pub fn prune(value: &mut Value, schema: &Value, root: bool) -> Vec<String> {
    let mut pruned = Vec::new();
    prune_at(value, schema, root, "", &mut pruned);
    pruned
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

fn prune_at(value: &mut Value, schema: &Value, root: bool, prefix: &str, pruned: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return;
    }
    match value {
        Value::Object(m) => {
            let embedded = root
                || schema
                    .get("x-kubernetes-embedded-resource")
                    .and_then(Value::as_bool)
                    == Some(true);
            let props: Map<String, Value> = schema
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keep_unknown = preserves_unknown(schema);
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let path = join(prefix, &k);
                if let Some(prop) = props.get(&k) {
                    if let Some(child) = m.get_mut(&k) {
                        prune_at(child, prop, false, &path, pruned);
                    }
                } else if let Some(add) = additional {
                    if let Some(child) = m.get_mut(&k) {
                        prune_at(child, add, false, &path, pruned);
                    }
                } else if !keep_unknown {
                    m.remove(&k);
                    pruned.push(path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_at(item, item_schema, false, &format!("{prefix}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_and_defaults() {
        let schema = json!({"type":"object","properties":{
            "spec":{"type":"object","properties":{
                "interval":{"type":"string","default":"1h"},
                "data":{"type":"array","items":{"type":"object","properties":{"key":{"type":"string"}}}},
                "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
                "labels":{"type":"object","additionalProperties":{"type":"string"}}}},
            "status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}});
        let mut obj = json!({"apiVersion":"x/v1","kind":"X","metadata":{"name":"a"},
            "spec":{"data":[{"key":"k","bogus":1}],"free":{"any":{"thing":1}},"labels":{"a":"b"},"extra":true},
            "status":{"ready":true,"unknown":1},"top":1});
        let pruned = prune(&mut obj, &schema, true);
        assert_eq!(
            pruned,
            vec!["spec.data[0].bogus", "spec.extra", "status.unknown", "top"]
        );
        apply_defaults(&mut obj, &schema);
        assert_eq!(obj["spec"]["interval"], "1h");
        assert_eq!(obj["spec"]["free"], json!({"any":{"thing":1}}));
        assert_eq!(obj["metadata"]["name"], "a");
    }
}
