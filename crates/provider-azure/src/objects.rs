//! Key Vault objects as ESO addresses and returns them: `secret/<name>` (the default),
//! `key/<name>` (the JWK as JSON) and `cert/<name>` (the DER certificate); metadata as JSON.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::borrow::Cow;

use secretsync_model::{ProviderError, RemoteSecret, SecretData, SecretValue};
use serde::Deserialize;
use serde_json::{Map, Value};
use zeroize::Zeroize;

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
                    // A mistake in the ExternalSecret, never "not found" (which may delete).
                    return Err(ProviderError::Unsupported(format!(
                        "remote key {key:?}: unknown Azure Key Vault object type {other:?} (expected secret/, key/ or cert/)"
                    )));
                }
            };
            (kind, name)
        }
    };
    if name.is_empty() {
        return Err(ProviderError::Unsupported(format!(
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

/// A secret bundle as read from its (zeroizing) response body: the value is borrowed from the
/// body when it has no JSON escapes, and an unescaped copy is zeroized after use, so no
/// unzeroized copy of the value is left behind (no `serde_json::Value` DOM holds it).
#[derive(Deserialize)]
struct SecretBundle<'a> {
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    tags: Option<Map<String, Value>>,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
    #[serde(default, rename = "contentType")]
    content_type: Option<String>,
}

/// A secret as read before a PushSecret writes it.
pub struct ExistingSecret {
    /// The value.
    pub value: SecretValue,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its content type.
    pub content_type: Option<String>,
    /// `attributes.exp` (Unix seconds).
    pub expires: Option<i64>,
}

/// The value, tags, content type and expiry of a secret bundle.
pub fn existing_secret(body: &[u8], what: &str) -> Result<ExistingSecret, ProviderError> {
    let remote = secret_value(body, what)?;
    let bundle = parse_secret_bundle(body, what)?;
    if let Some(Cow::Owned(mut unescaped)) = bundle.value {
        unescaped.zeroize();
    }
    Ok(ExistingSecret {
        value: remote.value,
        tags: bundle
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect(),
        content_type: bundle.content_type,
        expires: bundle
            .attributes
            .as_ref()
            .and_then(|a| a.get("exp"))
            .and_then(Value::as_i64),
    })
}

fn parse_secret_bundle<'a>(body: &'a [u8], what: &str) -> Result<SecretBundle<'a>, ProviderError> {
    serde_json::from_slice(body).map_err(|_| {
        ProviderError::BadResponse(format!("{what}: the response is not a secret bundle"))
    })
}

/// The value of a secret bundle (the response body of `GET secrets/{name}`).
pub fn secret_value(body: &[u8], what: &str) -> Result<RemoteSecret, ProviderError> {
    let bundle = parse_secret_bundle(body, what)?;
    let value = bundle
        .value
        .ok_or_else(|| ProviderError::BadResponse(format!("{what}: the response has no value")))?;
    let secret = SecretValue::new(value.as_bytes().to_vec());
    if let Cow::Owned(mut unescaped) = value {
        unescaped.zeroize();
    }
    Ok(RemoteSecret {
        value: secret,
        version: version_from_id(bundle.id.as_deref()),
    })
}

/// The metadata of a secret bundle (see [`metadata_value`]); the value is not kept.
pub fn secret_metadata(body: &[u8], what: &str) -> Result<RemoteSecret, ProviderError> {
    let bundle = parse_secret_bundle(body, what)?;
    if let Some(Cow::Owned(mut unescaped)) = bundle.value {
        unescaped.zeroize();
    }
    let mut view = Map::new();
    if let Some(id) = bundle.id {
        view.insert("id".into(), Value::String(id));
    }
    if let Some(tags) = bundle.tags {
        view.insert("tags".into(), Value::Object(tags));
    }
    if let Some(attributes) = bundle.attributes {
        view.insert("attributes".into(), Value::Object(attributes));
    }
    Ok(metadata_value(&Value::Object(view), ObjectKind::Secret))
}

/// ESO's keys for `dataFrom[].extract` of a secret with `metadataPolicy: Fetch` (ESO's
/// `getSecretTags` + `getSecretMapProperties`): every tag becomes `<secret>_<tag>` — a tag
/// holding a JSON object of strings becomes `<secret>_<tag>_<member>` per member — and the
/// attributes `<secret>_attribute.created` etc. With a `property`, one key
/// `<remote key>_<property>` holding that entry (empty when there is none).
/// `metadata` is the provider's metadata document of the secret (`metadataPolicy: Fetch`).
pub fn eso_extract_metadata(
    key: &str,
    property: Option<&str>,
    metadata: &RemoteSecret,
) -> Result<SecretData, ProviderError> {
    let object = parse_remote_key(key)?;
    if object.kind != ObjectKind::Secret {
        return Err(ProviderError::Unsupported(format!(
            "remote key {key:?}: dataFrom cannot read the metadata of a {} (ESO reads secrets only)",
            object.kind.noun()
        )));
    }
    let document: Map<String, Value> =
        serde_json::from_slice(metadata.value.expose()).map_err(|_| {
            ProviderError::BadResponse(format!("metadata of {key:?} is not a JSON object"))
        })?;
    let mut named = SecretData::new();
    for (tag, value) in &document {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let prefix = format!("{}_{tag}", object.name);
        match serde_json::from_str::<BTreeMap<String, String>>(&text) {
            Ok(members) if !ATTRIBUTE_KEYS.contains(&tag.as_str()) => {
                for (member, v) in members {
                    named.insert(format!("{prefix}_{member}"), SecretValue::from(v));
                }
            }
            _ => {
                named.insert(prefix, SecretValue::from(text));
            }
        }
    }
    Ok(match property {
        None => named,
        Some(property) => {
            let wanted = format!("{key}_{property}");
            let value = named
                .remove(&wanted)
                .unwrap_or_else(|| SecretValue::new(Vec::new()));
            SecretData::from([(wanted, value)])
        }
    })
}

/// The attribute entries ESO adds to the tags.
const ATTRIBUTE_KEYS: [&str; 4] = [
    "attribute.created",
    "attribute.updated",
    "attribute.expires",
    "attribute.notBefore",
];

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

    /// ESO's `TestAzureKeyVaultSecretManagerGetSecretMap` (providers/v1/azure/keyvault/
    /// keyvault_test.go) cases with `MetadataPolicy: Fetch`: setSecretTags,
    /// setSecretWithJSONTag, setSecretWithNoTags, setNestedJSONTag, badPubRSAKey,
    /// badCertificate.
    #[test]
    fn extract_of_metadata_names_keys_as_eso() {
        let extract = |key: &str, property: Option<&str>, tags: Value| {
            let bundle = json!({"id": "https://v/secrets/test-secret/v1", "tags": tags});
            let metadata = secret_metadata(bundle.to_string().as_bytes(), "s").expect("metadata");
            eso_extract_metadata(key, property, &metadata).map(|data| {
                data.into_iter()
                    .map(|(k, v)| (k, v.expose_str().unwrap_or_default().to_string()))
                    .collect::<BTreeMap<String, String>>()
            })
        };
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // setSecretTags
        assert_eq!(
            extract(
                "test-secret",
                None,
                json!({"tagname": "tagvalue", "tagname2": "tagvalue2"})
            )
            .expect("tags"),
            map(&[
                ("test-secret_tagname", "tagvalue"),
                ("test-secret_tagname2", "tagvalue2")
            ])
        );
        // setSecretWithJSONTag
        assert_eq!(
            extract(
                "test-secret",
                None,
                json!({"json": r#"{"keyname":"keyvalue","x":"y"}"#})
            )
            .expect("json tag"),
            map(&[
                ("test-secret_json_keyname", "keyvalue"),
                ("test-secret_json_x", "y")
            ])
        );
        // setSecretWithNoTags
        assert_eq!(
            extract("test-secret", None, json!({})).expect("none"),
            map(&[])
        );
        // setNestedJSONTag: not an object of strings, kept whole; the property selects it
        let nested = r#"{"foo":"bar","nested.tag":{"foo":"bar"}}"#;
        assert_eq!(
            extract(
                "test-secret",
                Some("dev"),
                json!({"dev": nested, "bug": "1137"})
            )
            .expect("property"),
            map(&[("test-secret_dev", nested)])
        );
        // badPubRSAKey / badCertificate
        for key in ["key/k", "cert/c"] {
            let e = extract(key, None, json!({})).expect_err("not a secret");
            assert_eq!(e.kind_label(), "Unsupported", "{e}");
        }
        // attributes are named like tags (ESO's getSecretTagsWithLegacySDK)
        let bundle = json!({"id": "https://v/secrets/db/v1", "attributes": {"created": 0}});
        let metadata = secret_metadata(bundle.to_string().as_bytes(), "s").expect("metadata");
        let named = eso_extract_metadata("db", None, &metadata).expect("attributes");
        assert_eq!(
            named
                .get("db_attribute.created")
                .and_then(|v| v.expose_str()),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn secret_values_come_from_the_body_without_a_dom() {
        let body = br#"{"value":"line1\nline2","id":"https://v/secrets/s/ver3","attributes":{}}"#;
        let v = secret_value(body, "s").expect("value");
        assert_eq!(v.value.expose_str(), Some("line1\nline2"));
        assert_eq!(v.version.as_deref(), Some("ver3"));
        let v = secret_value(br#"{"value":"plain"}"#, "s").expect("value");
        assert_eq!(v.value.expose_str(), Some("plain"));
        assert!(secret_value(br#"{"id":"x"}"#, "s").is_err());
        assert!(secret_value(b"not json", "s").is_err());
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
