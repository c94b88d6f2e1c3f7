//! Key Vault objects as ESO addresses and returns them: `secret/<name>` (the default),
//! `key/<name>` (the JWK as JSON) and `cert/<name>` (the DER certificate); metadata as JSON.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secretsync_model::{ProviderError, RemoteSecret, SecretValue};
use serde_json::{Map, Value};

/// Key Vault object collections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// `secrets/{name}`.
    Secret,
    /// `keys/{name}`.
    Key,
    /// `certificates/{name}`.
    Certificate,
}

impl ObjectKind {
    /// The REST collection.
    pub fn collection(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secrets",
            ObjectKind::Key => "keys",
            ObjectKind::Certificate => "certificates",
        }
    }

    /// A human name for errors.
    pub fn noun(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secret",
            ObjectKind::Key => "key",
            ObjectKind::Certificate => "certificate",
        }
    }
}

/// A parsed remote key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// Which collection.
    pub kind: ObjectKind,
    /// Object name.
    pub name: String,
}

/// Parses `secret/<name>`, `key/<name>`, `cert/<name>` or a bare `<name>` (a secret), as ESO's
/// `getObjType` does (segments after the second are ignored).
pub fn parse_remote_key(key: &str) -> Result<ObjectRef, ProviderError> {
    let mut parts = key.split('/');
    let first = parts.next().unwrap_or_default();
    let (kind, name) = match parts.next() {
        None => (ObjectKind::Secret, first),
        Some(name) => {
            let kind = match first {
                "secret" => ObjectKind::Secret,
                "key" => ObjectKind::Key,
                "cert" => ObjectKind::Certificate,
                other => {
                    return Err(ProviderError::NotFound(format!(
                        "remote key {key:?}: unknown Azure Key Vault object type {other:?} (expected secret/, key/ or cert/)"
                    )));
                }
            };
            (kind, name)
        }
    };
    if name.is_empty() {
        return Err(ProviderError::NotFound(format!(
            "remote key {key:?}: expected an object name"
        )));
    }
    Ok(ObjectRef {
        kind,
        name: name.to_string(),
    })
}

/// The last path segment of an object id (`.../secrets/{name}/{version}` → version).
pub fn version_from_id(id: Option<&str>) -> Option<String> {
    let id = id?.trim_end_matches('/');
    let mut segments = id.rsplit('/');
    let last = segments.next()?;
    let collection_or_name = segments.next()?;
    // `.../secrets/{name}` (no version) would end in the name after a collection.
    if matches!(collection_or_name, "secrets" | "keys" | "certificates") {
        return None;
    }
    Some(last.to_string())
}

/// The object name of an id (`.../secrets/{name}[/{version}]` → name).
pub fn name_from_id(id: Option<&str>) -> Option<String> {
    let url = url::Url::parse(id?).ok()?;
    let mut segments = url.path_segments()?.filter(|s| !s.is_empty());
    let _collection = segments.next()?;
    segments.next().map(str::to_string)
}

/// JWK members in the order ESO's Go `JSONWebKey` marshals them.
const JWK_FIELDS: &[&str] = &[
    "kid", "kty", "key_ops", "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "crv", "x",
    "y",
];

/// The value of a secret bundle.
pub fn secret_value(bundle: &Value, what: &str) -> Result<RemoteSecret, ProviderError> {
    let value = bundle
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::BadResponse(format!("{what}: the response has no value")))?;
    Ok(RemoteSecret {
        value: SecretValue::from_str_value(value),
        version: version_from_id(bundle.get("id").and_then(Value::as_str)),
    })
}

/// The JWK of a key bundle, serialized as ESO does (`json.Marshal(keyResp.Key)`).
pub fn key_value(bundle: &Value, what: &str) -> Result<RemoteSecret, ProviderError> {
    let jwk = bundle
        .get("key")
        .and_then(Value::as_object)
        .ok_or_else(|| ProviderError::BadResponse(format!("{what}: the response has no key")))?;
    let mut ordered = Map::new();
    for field in JWK_FIELDS {
        if let Some(v) = jwk.get(*field).filter(|v| !v.is_null()) {
            ordered.insert((*field).to_string(), v.clone());
        }
    }
    // JSON Web Key numbers cannot be NaN: encoding cannot fail.
    let text = secretsync_gojson::encode_value_in_order(
        &Value::Object(ordered),
        secretsync_gojson::Options::default(),
    )
    .unwrap_or_default();
    Ok(RemoteSecret {
        value: SecretValue::new(text.into_bytes()),
        version: version_from_id(jwk.get("kid").and_then(Value::as_str)),
    })
}

/// The DER (`cer`) of a certificate bundle.
pub fn certificate_value(bundle: &Value, what: &str) -> Result<RemoteSecret, ProviderError> {
    let cer = bundle
        .get("cer")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::BadResponse(format!("{what}: the response has no cer")))?;
    let der = STANDARD
        .decode(cer)
        .map_err(|e| ProviderError::BadResponse(format!("{what}: cer is not base64 ({e})")))?;
    Ok(RemoteSecret {
        value: SecretValue::new(der),
        version: version_from_id(bundle.get("id").and_then(Value::as_str)),
    })
}

/// Metadata of any bundle: its tags plus `attribute.created|updated|expires|notBefore`
/// (RFC3339, UTC), as one JSON object with sorted keys.
pub fn metadata_value(bundle: &Value, kind: ObjectKind) -> RemoteSecret {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if let Some(tags) = bundle.get("tags").and_then(Value::as_object) {
        for (k, v) in tags {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            out.insert(k.clone(), text);
        }
    }
    if let Some(attributes) = bundle.get("attributes").and_then(Value::as_object) {
        for (field, name) in [
            ("created", "attribute.created"),
            ("updated", "attribute.updated"),
            ("exp", "attribute.expires"),
            ("nbf", "attribute.notBefore"),
        ] {
            if let Some(secs) = attributes.get(field).and_then(Value::as_i64) {
                out.insert(name.to_string(), rfc3339_utc(secs));
            }
        }
    }
    let text =
        secretsync_gojson::encode_string_map(out.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let id = match kind {
        ObjectKind::Key => bundle.pointer("/key/kid"),
        _ => bundle.get("id"),
    };
    RemoteSecret {
        value: SecretValue::new(text.into_bytes()),
        version: version_from_id(id.and_then(Value::as_str)),
    }
}

/// Formats Unix seconds as RFC3339 in UTC (`2026-11-27T23:00:00Z`), as Go's `time.Time`
/// prints for ESO; instants outside years 0–9999 are clamped to jiff's range.
pub fn rfc3339_utc(secs: i64) -> String {
    let t = jiff::Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_keys_parse_like_eso() {
        assert_eq!(
            parse_remote_key("db").expect("bare"),
            ObjectRef {
                kind: ObjectKind::Secret,
                name: "db".into()
            }
        );
        assert_eq!(
            parse_remote_key("secret/db").expect("secret").kind,
            ObjectKind::Secret
        );
        assert_eq!(
            parse_remote_key("key/k1").expect("key"),
            ObjectRef {
                kind: ObjectKind::Key,
                name: "k1".into()
            }
        );
        assert_eq!(
            parse_remote_key("cert/c1/extra").expect("cert"),
            ObjectRef {
                kind: ObjectKind::Certificate,
                name: "c1".into()
            }
        );
        let err = parse_remote_key("blob/x").expect_err("unknown type");
        assert!(err.to_string().contains("\"blob\""), "{err}");
        assert!(parse_remote_key("key/").is_err());
    }

    #[test]
    fn versions_come_from_object_ids() {
        assert_eq!(
            version_from_id(Some("https://v.vault.azure.net/secrets/db/abc123")),
            Some("abc123".into())
        );
        assert_eq!(
            version_from_id(Some("https://v.vault.azure.net/secrets/db")),
            None
        );
        assert_eq!(version_from_id(None), None);
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn jwk_is_reordered_like_go_and_drops_unknown_members() {
        let bundle = json!({"key": {"e": "AQAB", "n": "xyz", "kty": "RSA", "kid": "https://v/keys/k/v1", "key_ops": ["sign"], "extra": 1}});
        let v = key_value(&bundle, "key k").expect("jwk");
        assert_eq!(
            v.value.expose_str(),
            Some(
                r#"{"kid":"https://v/keys/k/v1","kty":"RSA","key_ops":["sign"],"n":"xyz","e":"AQAB"}"#
            )
        );
        assert_eq!(v.version.as_deref(), Some("v1"));
    }

    #[test]
    fn metadata_has_tags_and_rfc3339_attributes() {
        let bundle = json!({
            "id": "https://v/secrets/s/ver9",
            "tags": {"env": "prod", "html": "<a&b>"},
            "attributes": {"enabled": true, "created": 0, "updated": 60, "exp": 86400, "recoveryLevel": "x"}
        });
        let m = metadata_value(&bundle, ObjectKind::Secret);
        assert_eq!(
            m.value.expose_str(),
            Some(
                r#"{"attribute.created":"1970-01-01T00:00:00Z","attribute.expires":"1970-01-02T00:00:00Z","attribute.updated":"1970-01-01T00:01:00Z","env":"prod","html":"\u003ca\u0026b\u003e"}"#
            )
        );
        assert_eq!(m.version.as_deref(), Some("ver9"));
    }

    #[test]
    fn certificates_decode_to_der() {
        let bundle = json!({"id": "https://v/certificates/c/v2", "cer": STANDARD.encode([0x30, 0x03, 0x01, 0x02, 0x03])});
        let v = certificate_value(&bundle, "certificate c").expect("der");
        assert_eq!(v.value.expose(), &[0x30, 0x03, 0x01, 0x02, 0x03]);
        assert_eq!(v.version.as_deref(), Some("v2"));
        assert!(certificate_value(&json!({"cer": "!!"}), "c").is_err());
    }
}
