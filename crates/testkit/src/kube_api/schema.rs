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

/// `prefix.k` (or `k` at the root).
pub fn join(prefix: &str, k: &str) -> String {
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

/// One schema violation: `(field path, cause reason, message)`.
pub type Violation = (String, &'static str, String);

/// The OpenAPI type name of a JSON value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `type`, `required`, `enum`, `nullable`, `pattern`, `minLength` and `maxLength` like
/// the apiserver's OpenAPI validation (not formats, numeric bounds or CEL rules).
pub fn validate(value: &Value, schema: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    validate_at(value, schema, "", true, &mut out);
    out
}

fn validate_at(value: &Value, schema: &Value, path: &str, root: bool, out: &mut Vec<Violation>) {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !matches!(type_name(value), "integer" | "string") {
            out.push((path.into(), "FieldValueInvalid", format!(
                "Invalid value: {value}: {path} in body must be of type integer-or-string: {:?}", type_name(value))));
        }
        return;
    }
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true) && !root {
            out.push((
                path.into(),
                "FieldValueInvalid",
                format!(
                    "Invalid value: \"null\": {path} in body must be of type {}: \"null\"",
                    schema
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("object")
                ),
            ));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            out.push((path.into(), "FieldValueInvalid", format!(
                "Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\"")));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push((
            path.into(),
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
    if let Value::String(text) = value {
        string_bounds(text, schema, path, out);
    }
    match value {
        Value::Object(m) => {
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = req.as_str().filter(|r| !m.contains_key(*r)) {
                    out.push((join(path, r), "FieldValueRequired", "Required value".into()));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in m {
                if root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child = props
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(child) = child {
                    validate_at(v, child, &join(path, k), false, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_at(item, item_schema, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

/// `pattern`, `minLength` and `maxLength` (in characters, as the API server counts them), with
/// the API server's messages.
fn string_bounds(text: &str, schema: &Value, path: &str, out: &mut Vec<Violation>) {
    let chars = text.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars > max
    {
        out.push((
            path.into(),
            "FieldValueTooLong",
            format!("Too long: may not be more than {max} bytes"),
        ));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && chars < min
    {
        out.push((
            path.into(),
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: {path} in body should be at least {min} chars long",
                Value::String(text.into())
            ),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // An unparsable pattern is the CRD's problem; the real server refuses such CRDs.
        if regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(text)) {
            out.push((
                path.into(),
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: {path} in body should match '{pattern}'",
                    Value::String(text.into())
                ),
            ));
        }
    }
}

#[cfg(test)]
mod validation_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_type_required_and_enum_violations() {
        let schema = json!({"type":"object","properties":{"spec":{"type":"object","required":["name"],
            "properties":{"name":{"type":"string"},"size":{"type":"integer"},"mode":{"type":"string","enum":["a","b"]},
                "ratio":{"type":"number"},"port":{"x-kubernetes-int-or-string":true}}}}});
        let ok = json!({"apiVersion":"x","kind":"Y","metadata":{},"spec":{"name":"n","size":1,"mode":"a","ratio":1,"port":"http"}});
        assert!(validate(&ok, &schema).is_empty());
        let bad = json!({"spec":{"size":"big","mode":"c","port":true}});
        let v = validate(&bad, &schema);
        let fields: Vec<&str> = v.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            fields,
            vec!["spec.name", "spec.size", "spec.mode", "spec.port"]
        );
        assert_eq!(
            v[1].2,
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
        );
        assert_eq!(v[2].1, "FieldValueNotSupported");
    }

    #[test]
    fn reports_pattern_and_length_violations() {
        let schema = json!({"type":"object","properties":{"k":{"type":"string",
            "pattern":"^[-._a-zA-Z0-9]+$","minLength":1,"maxLength":5}}});
        #[rustfmt::skip]
        let cases = [
            (json!({"k": "ok.1"}), vec![]),
            (json!({"k": "bad/"}), vec![("FieldValueInvalid", "Invalid value: \"bad/\": k in body should match '^[-._a-zA-Z0-9]+$'")]),
            (json!({"k": "toolong"}), vec![("FieldValueTooLong", "Too long: may not be more than 5 bytes")]),
            (json!({"k": ""}), vec![
                ("FieldValueInvalid", "Invalid value: \"\": k in body should be at least 1 chars long"),
                ("FieldValueInvalid", "Invalid value: \"\": k in body should match '^[-._a-zA-Z0-9]+$'"),
            ]),
        ];
        for (value, expected) in cases {
            let got: Vec<(&str, String)> = validate(&value, &schema)
                .into_iter()
                .map(|(_, r, m)| (r, m))
                .collect();
            let expected: Vec<(&str, String)> = expected
                .into_iter()
                .map(|(r, m)| (r, m.to_string()))
                .collect();
            assert_eq!(got, expected, "{value}");
        }
    }
}
