//! The provider *write* trait PushSecrets use, next to the read trait in [`crate::provider`].
//!
//! Every write path marks what it creates with ESO's marker ([`MANAGED_BY_KEY`] =
//! [`MANAGED_BY_VALUE`]: Vault `custom_metadata`, AWS and Azure tags), so secrets pushed by ESO
//! stay pushable after a move to secretsync and vice versa. A remote secret without the marker
//! is never overwritten or deleted.

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::push_secret::PushSecretRemoteRef;
use crate::value::SecretValue;

/// Key of ESO's managed-by marker (Vault custom metadata, AWS tag, Azure tag).
pub const MANAGED_BY_KEY: &str = "managed-by";
/// Value of ESO's managed-by marker; secretsync writes the same value.
pub const MANAGED_BY_VALUE: &str = "external-secrets";

/// One value to push.
#[derive(Debug)]
pub struct PushRequest<'a> {
    /// Where: remote key and, optionally, a property within it.
    pub remote: &'a PushSecretRemoteRef,
    /// What: the bytes of one Secret key, or (for a push of the whole Secret) the Secret's data
    /// as a JSON object of strings.
    pub value: &'a SecretValue,
    /// Provider-specific metadata of the entry (`data[].metadata`), not secret.
    pub metadata: Option<&'a serde_json::Value>,
}

/// What exists at a remote location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteState {
    /// Nothing (for a property push: the remote secret or the property is absent).
    Absent,
    /// Present and carrying the managed-by marker.
    Managed,
    /// Present without the marker: owned by someone else.
    Unmanaged,
}

/// What a push did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The remote secret (or property) was created.
    Created,
    /// The remote value differed and was replaced.
    Updated,
    /// The remote value already matched; nothing was written.
    Unchanged,
}

/// What a delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The remote secret (or property) was removed.
    Deleted,
    /// There was nothing to delete.
    Absent,
    /// The remote secret is not managed by secretsync or ESO and was left alone.
    NotManaged,
}

/// A provider that can write. Values and metadata never appear in errors.
#[async_trait]
pub trait SecretWriter: Send + Sync {
    /// What exists at `remote`.
    async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError>;

    /// Writes a value, creating the remote secret with the marker when absent and replacing the
    /// value when it differs. Refuses with [`ProviderError::NotManaged`] when the remote secret
    /// exists without the marker.
    async fn push(&self, request: &PushRequest<'_>) -> Result<PushOutcome, ProviderError>;

    /// Deletes a remote secret (or only the property, keeping the others) when it carries the
    /// marker; leaves unmanaged ones alone.
    async fn delete(&self, remote: &PushSecretRemoteRef) -> Result<DeleteOutcome, ProviderError>;
}

/// The message of [`ProviderError::NotManaged`] for a remote key.
pub fn not_managed(remote: &PushSecretRemoteRef) -> ProviderError {
    ProviderError::NotManaged(format!(
        "remote secret {:?} exists and is not managed by secretsync or external-secrets (no {MANAGED_BY_KEY}={MANAGED_BY_VALUE} marker); it is never overwritten",
        remote.remote_key
    ))
}

/// `apiVersion` of ESO's `PushSecretMetadata` documents (`data[].metadata`).
pub const PUSH_METADATA_API_VERSION: &str = "kubernetes.external-secrets.io/v1alpha1";
/// `kind` of ESO's `PushSecretMetadata` documents.
pub const PUSH_METADATA_KIND: &str = "PushSecretMetadata";

/// ESO's `ParseMetadataParameters`: `data[].metadata` as a `PushSecretMetadata` document
/// (`apiVersion`, `kind`, `spec: T`). `None` when there is none; unknown fields are refused
/// when `T` denies them. Errors name the field, never a value.
pub fn parse_push_metadata<T: serde::de::DeserializeOwned + Default>(
    metadata: Option<&serde_json::Value>,
) -> Result<Option<T>, String> {
    let Some(value) = metadata.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let api_version = value.get("apiVersion").and_then(|v| v.as_str());
    if api_version != Some(PUSH_METADATA_API_VERSION) {
        return Err(format!(
            "metadata.apiVersion: expected {PUSH_METADATA_API_VERSION:?}, got {api_version:?}"
        ));
    }
    let kind = value.get("kind").and_then(|v| v.as_str());
    if kind != Some(PUSH_METADATA_KIND) {
        return Err(format!(
            "metadata.kind: expected {PUSH_METADATA_KIND:?}, got {kind:?}"
        ));
    }
    match value.get("spec") {
        None | Some(serde_json::Value::Null) => Ok(Some(T::default())),
        Some(spec) => serde_path_to_error::deserialize(spec)
            .map(Some)
            .map_err(|e| {
                format!(
                    "metadata.spec.{}: {}",
                    e.path(),
                    first_line(&e.inner().to_string())
                )
            }),
    }
}

/// serde's message up to the position note, which never quotes input (values are not in
/// metadata anyway, but keep errors short).
fn first_line(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string()
}

/// Sets `property` (a top-level member) of the JSON object `existing` to `value` as a string,
/// keeping the other members (ESO's `sjson.SetBytes` for a plain property name). `None` when
/// the member already holds `value`. `existing` absent or empty starts from `{}`.
pub fn set_json_property(
    existing: Option<&[u8]>,
    property: &str,
    value: &[u8],
) -> Result<Option<Vec<u8>>, String> {
    let text = std::str::from_utf8(value)
        .map_err(|_| format!("property {property:?}: expected a UTF-8 value"))?;
    let mut object: serde_json::Map<String, serde_json::Value> = match existing {
        None => serde_json::Map::new(),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => serde_json::Map::new(),
        Some(b) => serde_json::from_slice(b).map_err(|_| {
            format!("property {property:?}: the remote value must be a JSON object to push a property into it")
        })?,
    };
    if object.get(property).and_then(|v| v.as_str()) == Some(text) {
        return Ok(None);
    }
    object.insert(
        property.to_string(),
        serde_json::Value::String(text.to_string()),
    );
    serde_json::to_vec(&object)
        .map(Some)
        .map_err(|_| format!("property {property:?}: could not encode the JSON object"))
}

/// The complete remote value after pushing `value`: `value` itself without a property, else the
/// JSON object `current` with that member set ([`set_json_property`]).
pub fn value_to_write(
    current: Option<&[u8]>,
    property: Option<&str>,
    value: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let Some(p) = property else {
        return Ok(zeroize::Zeroizing::new(value.to_vec()));
    };
    Ok(zeroize::Zeroizing::new(
        match set_json_property(current, p, value)? {
            Some(v) => v,
            None => current.unwrap_or_default().to_vec(),
        },
    ))
}

/// Whether the JSON object `value` has the member `property`.
pub fn has_json_property(value: &[u8], property: &str) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(value)
        .is_ok_and(|m| m.contains_key(property))
}

/// Removes `property` from the JSON object `existing`: `Some(rest)` to write back, `None` when
/// nothing is left (delete the remote secret). Absent members leave it unchanged.
pub fn remove_json_property(existing: &[u8], property: &str) -> Result<Option<Vec<u8>>, String> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(existing)
            .map_err(|_| format!("property {property:?}: the remote value is not a JSON object"))?;
    object.remove(property);
    if object.is_empty() {
        return Ok(None);
    }
    serde_json::to_vec(&object)
        .map(Some)
        .map_err(|_| format!("property {property:?}: could not encode the JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Spec {
        #[serde(default)]
        tags: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn push_metadata_documents() {
        let ok = json!({"apiVersion": PUSH_METADATA_API_VERSION, "kind": PUSH_METADATA_KIND, "spec": {"tags": {"a": "b"}}});
        let parsed: Option<Spec> = parse_push_metadata(Some(&ok)).expect("parses");
        assert_eq!(parsed.map(|s| s.tags.len()), Some(1));
        assert_eq!(parse_push_metadata::<Spec>(None), Ok(None));
        let cases = [
            (json!({"kind": PUSH_METADATA_KIND}), "metadata.apiVersion"),
            (
                json!({"apiVersion": PUSH_METADATA_API_VERSION, "kind": "X"}),
                "metadata.kind",
            ),
            (
                json!({"apiVersion": PUSH_METADATA_API_VERSION, "kind": PUSH_METADATA_KIND, "spec": {"tagz": {}}}),
                "metadata.spec",
            ),
        ];
        for (value, field) in cases {
            let err = parse_push_metadata::<Spec>(Some(&value)).expect_err("refused");
            assert!(err.starts_with(field), "{err}");
        }
    }

    #[test]
    fn json_properties() {
        assert_eq!(
            set_json_property(None, "a", b"1").expect("ok"),
            Some(br#"{"a":"1"}"#.to_vec())
        );
        assert_eq!(
            set_json_property(Some(br#"{"a":"1"}"#), "a", b"1"),
            Ok(None)
        );
        assert_eq!(
            set_json_property(Some(br#"{"a":"1"}"#), "b", b"2").expect("ok"),
            Some(br#"{"a":"1","b":"2"}"#.to_vec())
        );
        assert!(
            set_json_property(Some(b"canary"), "b", b"2")
                .expect_err("not JSON")
                .contains("JSON object")
        );
        assert_eq!(
            remove_json_property(br#"{"a":"1","b":"2"}"#, "a"),
            Ok(Some(br#"{"b":"2"}"#.to_vec()))
        );
        assert_eq!(remove_json_property(br#"{"a":"1"}"#, "a"), Ok(None));
    }
}
