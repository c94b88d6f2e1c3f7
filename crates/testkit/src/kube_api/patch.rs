//! JSON merge patch (RFC 7386), strategic merge patch (as merge patch, with directives stripped)
//! and JSON patch (RFC 6902).

use serde_json::Value;

/// Applies a JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// Applies a strategic merge patch the way this double supports it: like a merge patch, with
/// `$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...` directives ignored and
/// `$patch: delete` on a map removing it.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                *target = Value::Null;
                return;
            }
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if k.starts_with('$') {
                        continue;
                    }
                    if v.is_null() {
                        t.remove(k);
                        continue;
                    }
                    let entry = t.entry(k.clone()).or_insert(Value::Null);
                    strategic_merge_patch(entry, v);
                    if entry.is_null() {
                        t.remove(k);
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_and_last<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let mut tokens = split_pointer(path)?;
    let last = tokens
        .pop()
        .ok_or_else(|| "cannot operate on the document root".to_string())?;
    let mut node = doc;
    for t in tokens {
        node = match node {
            Value::Object(m) => m.get_mut(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: {path:?}"))?;
    }
    Ok((node, last))
}

fn get_path<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, String> {
    doc.pointer(path)
        .ok_or_else(|| format!("doc is missing path: {path:?}"))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent_and_last(doc, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("invalid array index {last:?}"))?
            };
            if idx > a.len() {
                return Err(format!("add operation index out of bounds: {idx}"));
            }
            a.insert(idx, value);
            Ok(())
        }
        _ => Err(format!("doc is missing path: {path:?}")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = parent_and_last(doc, path)?;
    match parent {
        Value::Object(m) => m
            .remove(&last)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {last}: missing value")),
        Value::Array(a) => {
            let idx = last
                .parse::<usize>()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if idx >= a.len() {
                return Err(format!("remove operation index out of bounds: {idx}"));
            }
            Ok(a.remove(idx))
        }
        _ => Err(format!("doc is missing path: {path:?}")),
    }
}

/// Applies a JSON patch; `Err` carries a message like the apiserver's.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("json patch must be a JSON array of operations")?;
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("json patch operation is missing \"path\"")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("json patch {kind} operation is missing \"value\""))
        };
        match kind {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                remove(doc, path)?;
                add(doc, path, value()?)?;
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or("json patch operation is missing \"from\"")?;
                let v = if kind == "move" {
                    remove(doc, from)?
                } else {
                    get_path(doc, from)?.clone()
                };
                add(doc, path, v)?;
            }
            "test" => {
                if get_path(doc, path)? != &value()? {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_strategic() {
        let mut v = json!({"metadata":{"labels":{"a":"1","b":"2"}}});
        merge_patch(&mut v, &json!({"metadata":{"labels":{"a":null,"c":"3"}}}));
        assert_eq!(v, json!({"metadata":{"labels":{"b":"2","c":"3"}}}));
        strategic_merge_patch(
            &mut v,
            &json!({"$setElementOrder/x":[],"metadata":{"labels":{"d":"4"}}}),
        );
        assert_eq!(v["metadata"]["labels"]["d"], "4");
        assert!(v.get("$setElementOrder/x").is_none());
    }

    #[test]
    fn json_patch_ops() {
        let mut v = json!({"a":{"b":[1,2]},"c":"x"});
        json_patch(
            &mut v,
            &json!([{"op":"add","path":"/a/b/-","value":3},{"op":"replace","path":"/c","value":"y"},
                   {"op":"remove","path":"/a/b/0"},{"op":"test","path":"/c","value":"y"},
                   {"op":"add","path":"/d~1e","value":1}]),
        )
        .expect("valid patch");
        assert_eq!(v, json!({"a":{"b":[2,3]},"c":"y","d/e":1}));
        assert!(json_patch(&mut v, &json!([{"op":"test","path":"/c","value":"z"}])).is_err());
        assert!(json_patch(&mut v, &json!([{"op":"remove","path":"/nope"}])).is_err());
    }
}
