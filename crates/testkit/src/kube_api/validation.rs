//! Secret and ConfigMap validation the way kube-apiserver does it.

use super::status::{ApiError, ApiResult, Cause};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// `MaxSecretSize` (1 MiB): the total decoded size of a Secret's data.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn valid_config_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && k != "."
        && k != ".."
        && !k.starts_with("..")
}

fn key_cause(section: &str, k: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!(
            "Invalid value: {k:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        ),
        field: format!("{section}[{k}]"),
    }
}

fn immutable_causes(new: &Value, old: Option<&Value>, fields: &[&str]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(old) = old else { return causes };
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return causes;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        causes.push(Cause {
            reason: "FieldValueForbidden",
            message: "Forbidden: field is immutable when `immutable` is set".into(),
            field: "immutable".into(),
        });
    }
    for f in fields {
        let empty = Value::Object(Map::new());
        if new.get(*f).unwrap_or(&empty) != old.get(*f).unwrap_or(&empty) {
            causes.push(Cause {
                reason: "FieldValueForbidden",
                message: "Forbidden: field is immutable when `immutable` is set".into(),
                field: (*f).into(),
            });
        }
    }
    causes
}

/// Normalises a Secret on write (merges `stringData`, defaults `type`) and validates it
/// against the previous version, if any.
pub fn prepare_secret(obj: &mut Value, old: Option<&Value>, name: &str) -> ApiResult<()> {
    if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
        let data = obj
            .as_object_mut()
            .map(|m| m.entry("data").or_insert_with(|| Value::Object(Map::new())));
        if let Some(Value::Object(data)) = data {
            for (k, v) in sd {
                let s = v.as_str().unwrap_or_default();
                data.insert(k, Value::String(STANDARD.encode(s.as_bytes())));
            }
        }
    }
    if obj
        .get("type")
        .is_none_or(|t| t.as_str().is_none_or(str::is_empty))
    {
        obj["type"] = Value::String("Opaque".into());
    }
    let mut causes = Vec::new();
    let mut total = 0usize;
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let decoded = v
                .as_str()
                .map(|s| STANDARD.decode(s))
                .unwrap_or_else(|| Ok(Vec::new()))
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte {}",
                        match e {
                            base64::DecodeError::InvalidByte(i, _) => i,
                            base64::DecodeError::InvalidLength(i) => i,
                            base64::DecodeError::InvalidLastSymbol(i, _) => i,
                            base64::DecodeError::InvalidPadding => 0,
                        }
                    ))
                })?;
            total += decoded.len();
            if !valid_config_key(k) {
                causes.push(key_cause("data", k));
            }
        }
    }
    if total > MAX_SECRET_SIZE {
        causes.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {MAX_SECRET_SIZE} bytes"),
            field: "data".into(),
        });
    }
    if let Some(old) = old
        && old.get("type") != obj.get("type")
    {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {}: field is immutable", obj["type"]),
            field: "type".into(),
        });
    }
    causes.extend(immutable_causes(obj, old, &["data"]));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("", "Secret", name, causes))
    }
}

/// Validates a ConfigMap against the previous version, if any.
pub fn prepare_configmap(obj: &mut Value, old: Option<&Value>, name: &str) -> ApiResult<()> {
    let mut causes = Vec::new();
    let mut total = 0usize;
    for section in ["data", "binaryData"] {
        if let Some(data) = obj.get(section).and_then(Value::as_object) {
            for (k, v) in data {
                total += v.as_str().map(str::len).unwrap_or(0);
                if !valid_config_key(k) {
                    causes.push(key_cause(section, k));
                }
                if section == "binaryData" && obj.get("data").and_then(|d| d.get(k)).is_some() {
                    causes.push(Cause {
                        reason: "FieldValueInvalid",
                        message: format!("Invalid value: {k:?}: duplicate of key present in data"),
                        field: format!("binaryData[{k}]"),
                    });
                }
            }
        }
    }
    if total > MAX_SECRET_SIZE {
        causes.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {MAX_SECRET_SIZE} bytes"),
            field: "".into(),
        });
    }
    causes.extend(immutable_causes(obj, old, &["data", "binaryData"]));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("", "ConfigMap", name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_rules() {
        let mut s = json!({"stringData":{"a":"hi"}});
        prepare_secret(&mut s, None, "s").expect("valid");
        assert_eq!(s, json!({"data":{"a":"aGk="},"type":"Opaque"}));
        let mut bad = json!({"data":{"bad key":"aGk="}});
        let e = prepare_secret(&mut bad, None, "s").expect_err("bad key");
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .starts_with("Secret \"s\" is invalid: data[bad key]: Invalid value")
        );
        let mut b64 = json!({"data":{"a":"!!"}});
        assert_eq!(
            prepare_secret(&mut b64, None, "s").expect_err("b64").code,
            400
        );
        let big = STANDARD.encode(vec![0u8; MAX_SECRET_SIZE + 1]);
        let mut large = json!({ "data": { "a": big } });
        assert_eq!(
            prepare_secret(&mut large, None, "s")
                .expect_err("size")
                .code,
            422
        );
        let old = json!({"data":{"a":"aGk="},"type":"Opaque","immutable":true});
        let mut changed = json!({"data":{"a":"aGo="},"type":"Opaque","immutable":true});
        let e = prepare_secret(&mut changed, Some(&old), "s").expect_err("immutable");
        assert!(
            e.message
                .contains("data: Forbidden: field is immutable when `immutable` is set")
        );
        let mut retyped = json!({"data":{"a":"aGk="},"type":"kubernetes.io/tls"});
        let e = prepare_secret(
            &mut retyped,
            Some(&json!({"type":"Opaque","data":{"a":"aGk="}})),
            "s",
        )
        .expect_err("type");
        assert!(
            e.message
                .contains("type: Invalid value: \"kubernetes.io/tls\": field is immutable")
        );
    }
}
