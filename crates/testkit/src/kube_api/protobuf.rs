//! Decoding of the Kubernetes protobuf envelope for the few built-in types kubectl sends as
//! protobuf (`kubectl create namespace|configmap|secret|serviceaccount|token`, `kubectl auth
//! can-i`, Helm's DeleteOptions). Responses are
//! always JSON, which kubectl accepts.

use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// Protobuf wire values.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let value = match tag & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let s = buf.get(pos..pos.checked_add(len)?)?;
                pos += len;
                Wire::Bytes(s)
            }
            1 => {
                pos += 8;
                Wire::Fixed
            }
            5 => {
                pos += 4;
                Wire::Fixed
            }
            _ => return None,
        };
        out.push((tag >> 3, value));
    }
    Some(out)
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn map_entry(b: &[u8], bytes_value: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (2, Wire::Bytes(v)) if bytes_value => {
                use base64::Engine;
                value = Value::String(base64::engine::general_purpose::STANDARD.encode(v));
            }
            (2, Wire::Bytes(v)) => value = text(v),
            _ => {}
        }
    }
    Some((key, value))
}

fn insert_entry(
    obj: &mut Map<String, Value>,
    field: &str,
    b: &[u8],
    bytes_value: bool,
) -> Option<()> {
    let (k, v) = map_entry(b, bytes_value)?;
    if let Value::Object(m) = obj
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        m.insert(k, v);
    }
    Some(())
}

fn push(obj: &mut Map<String, Value>, field: &str, v: Value) {
    if let Value::Array(a) = obj.entry(field).or_insert_with(|| Value::Array(Vec::new())) {
        a.push(v);
    }
}

fn owner_reference(b: &[u8]) -> Option<Value> {
    let mut o = Map::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(v)) => drop(o.insert("kind".into(), text(v))),
            (3, Wire::Bytes(v)) => drop(o.insert("name".into(), text(v))),
            (4, Wire::Bytes(v)) => drop(o.insert("uid".into(), text(v))),
            (5, Wire::Bytes(v)) => drop(o.insert("apiVersion".into(), text(v))),
            (6, Wire::Varint(v)) => drop(o.insert("controller".into(), json!(v != 0))),
            (7, Wire::Varint(v)) => drop(o.insert("blockOwnerDeletion".into(), json!(v != 0))),
            _ => {}
        }
    }
    Some(Value::Object(o))
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(v)) => drop(m.insert("name".into(), text(v))),
            (2, Wire::Bytes(v)) => drop(m.insert("generateName".into(), text(v))),
            (3, Wire::Bytes(v)) => drop(m.insert("namespace".into(), text(v))),
            (5, Wire::Bytes(v)) => drop(m.insert("uid".into(), text(v))),
            (6, Wire::Bytes(v)) => drop(m.insert("resourceVersion".into(), text(v))),
            (11, Wire::Bytes(v)) => insert_entry(&mut m, "labels", v, false)?,
            (12, Wire::Bytes(v)) => insert_entry(&mut m, "annotations", v, false)?,
            (13, Wire::Bytes(v)) => push(&mut m, "ownerReferences", owner_reference(v)?),
            (14, Wire::Bytes(v)) => push(&mut m, "finalizers", text(v)),
            _ => {}
        }
    }
    m.retain(|_, v| !matches!(v, Value::String(s) if s.is_empty()));
    Some(Value::Object(m))
}

fn strings_message(b: &[u8], field_no: u64, name: &str) -> Option<Value> {
    let mut m = Map::new();
    for (n, w) in fields(b)? {
        if let (true, Wire::Bytes(v)) = (n == field_no, w) {
            push(&mut m, name, text(v));
        }
    }
    Some(Value::Object(m))
}

/// A message of string fields only, by field number.
fn string_fields(b: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let mut m = Map::new();
    for (n, w) in fields(b)? {
        if let (Some((_, name)), Wire::Bytes(v)) = (names.iter().find(|(f, _)| *f == n), w) {
            m.insert((*name).into(), text(v));
        }
    }
    Some(Value::Object(m))
}

/// `SelfSubjectAccessReviewSpec`: resource (1) or non-resource (2) attributes.
fn access_review_spec(b: &[u8]) -> Option<Value> {
    let mut spec = Map::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(r)) => drop(spec.insert(
                "resourceAttributes".into(),
                string_fields(
                    r,
                    &[
                        (1, "namespace"),
                        (2, "verb"),
                        (3, "group"),
                        (4, "version"),
                        (5, "resource"),
                        (6, "subresource"),
                        (7, "name"),
                    ],
                )?,
            )),
            (2, Wire::Bytes(r)) => drop(spec.insert(
                "nonResourceAttributes".into(),
                string_fields(r, &[(1, "path"), (2, "verb")])?,
            )),
            _ => {}
        }
    }
    Some(Value::Object(spec))
}

fn body_for(kind: &str, raw: &[u8]) -> Option<Value> {
    let mut o = Map::new();
    for (n, w) in fields(raw)? {
        let Wire::Bytes(b) = w else {
            if let (Wire::Varint(v), "ConfigMap", 4) | (Wire::Varint(v), "Secret", 5) = (w, kind, n)
            {
                o.insert("immutable".into(), json!(v != 0));
            } else if let (Wire::Varint(v), "ServiceAccount", 4) = (w, kind, n) {
                o.insert("automountServiceAccountToken".into(), json!(v != 0));
            } else if let (Wire::Varint(v), "DeleteOptions", 1) = (w, kind, n) {
                o.insert("gracePeriodSeconds".into(), json!(v));
            } else if let (Wire::Varint(v), "DeleteOptions", 3) = (w, kind, n) {
                o.insert("orphanDependents".into(), json!(v != 0));
            }
            continue;
        };
        match (kind, n) {
            (_, 1) => drop(o.insert("metadata".into(), object_meta(b)?)),
            ("ConfigMap", 2) => insert_entry(&mut o, "data", b, false)?,
            ("ConfigMap", 3) => insert_entry(&mut o, "binaryData", b, true)?,
            ("Secret", 2) => insert_entry(&mut o, "data", b, true)?,
            ("Secret", 3) => drop(o.insert("type".into(), text(b))),
            ("Secret", 4) => insert_entry(&mut o, "stringData", b, false)?,
            ("Namespace", 2) => drop(o.insert("spec".into(), strings_message(b, 1, "finalizers")?)),
            ("ServiceAccount", 3) => {
                let mut r = Map::new();
                for (rn, rw) in fields(b)? {
                    if let (1, Wire::Bytes(name)) = (rn, rw) {
                        r.insert("name".into(), text(name));
                    }
                }
                push(&mut o, "imagePullSecrets", Value::Object(r));
            }
            ("DeleteOptions", 4) => drop(o.insert("propagationPolicy".into(), text(b))),
            ("DeleteOptions", 5) => push(&mut o, "dryRun", text(b)),
            ("SelfSubjectAccessReview", 2) => drop(o.insert("spec".into(), access_review_spec(b)?)),
            ("TokenRequest", 2) => {
                let mut spec = Map::new();
                for (sn, sw) in fields(b)? {
                    match (sn, sw) {
                        (1, Wire::Bytes(a)) => push(&mut spec, "audiences", text(a)),
                        (4, Wire::Varint(v)) => {
                            drop(spec.insert("expirationSeconds".into(), json!(v)))
                        }
                        _ => {}
                    }
                }
                o.insert("spec".into(), Value::Object(spec));
            }
            _ => {}
        }
    }
    Some(Value::Object(o))
}

/// Decodes a protobuf-encoded request body into JSON; `Err` names what is unsupported.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("protobuf body lacks the k8s envelope prefix")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, w) in fields(rest).ok_or("malformed protobuf envelope")? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (tn, tw) in fields(tm).ok_or("malformed protobuf TypeMeta")? {
                    match (tn, tw) {
                        (1, Wire::Bytes(v)) => {
                            api_version = String::from_utf8_lossy(v).into_owned()
                        }
                        (2, Wire::Bytes(v)) => kind = String::from_utf8_lossy(v).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    if !matches!(
        kind.as_str(),
        "Namespace"
            | "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "TokenRequest"
            | "SelfSubjectAccessReview"
            | "DeleteOptions"
    ) {
        return Err(format!(
            "protobuf request bodies are only supported for Namespace, ConfigMap, Secret, ServiceAccount, TokenRequest, SelfSubjectAccessReview and DeleteOptions (got {kind:?}); send JSON"
        ));
    }
    let mut obj = body_for(&kind, raw).ok_or_else(|| format!("malformed protobuf {kind}"))?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from((n << 3) | 2).unwrap_or(0)];
        out.push(u8::try_from(payload.len()).unwrap_or(0));
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let meta = [
            field(1, b"cm"),
            field(11, &[field(1, b"app"), field(2, b"x")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).expect("decodes");
        assert_eq!(
            v,
            json!({"metadata":{"name":"cm","labels":{"app":"x"}},"data":{"k":"v"},"apiVersion":"v1","kind":"ConfigMap"})
        );
        let lease = [
            MAGIC.to_vec(),
            field(1, &[field(1, b"v1"), field(2, b"Pod")].concat()),
        ]
        .concat();
        assert!(decode(&lease).is_err());
    }
}
