//! KV writes for PushSecrets (ESO's `PushSecret`/`DeleteSecret`/`SecretExists` for Vault):
//! the marker is `custom_metadata` `managed-by: external-secrets` (KV v2: the key's metadata;
//! KV v1: a `custom_metadata` member of the data), a property push merges into the existing
//! JSON object, and `checkAndSet.required` stores send `options.cas`.
//!
//! The decisions are the pure functions at the top ([`plan_push`], [`plan_delete`],
//! [`is_managed`]); [`Inner`] only reads, decides and sends.

use async_trait::async_trait;
use reqwest::Method;
use secretsync_model::ProviderError;
use secretsync_model::providers::VaultKvVersion;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    SecretWriter, not_managed,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::VaultProvider;
use crate::provider::{Inner, Request};

/// Member of KV v1 data holding the custom metadata (ESO's layout).
const CUSTOM_METADATA: &str = "custom_metadata";

/// Whether a remote secret carries ESO's marker. `metadata` is the KV v2 metadata as
/// [`Inner::read_metadata`] returns it, or the KV v1 data (whose `custom_metadata` member holds it).
pub(crate) fn is_managed(version: VaultKvVersion, metadata: &Map<String, Value>) -> bool {
    let marker = match version {
        VaultKvVersion::V2 => metadata.get(MANAGED_BY_KEY),
        VaultKvVersion::V1 => metadata
            .get(CUSTOM_METADATA)
            .and_then(|m| m.get(MANAGED_BY_KEY)),
    };
    marker.and_then(Value::as_str) == Some(MANAGED_BY_VALUE)
}

/// What a push writes: the complete new data object, or nothing when the remote already holds it.
#[derive(Debug, PartialEq)]
pub(crate) enum PushPlan {
    /// The remote value already matches.
    Unchanged,
    /// Write this data object (without the KV v1 marker; [`Inner`] adds it).
    Write(Map<String, Value>),
}

/// Decides a push. `existing` is the remote data object (without the KV v1 `custom_metadata`
/// member), `None` when absent. A property push sets that member to the value as a string
/// and keeps the others; a push without property replaces the data with the value, which
/// must be a JSON object. Errors never contain the value.
pub(crate) fn plan_push(
    existing: Option<&Map<String, Value>>,
    property: Option<&str>,
    value: &[u8],
) -> Result<PushPlan, String> {
    match property {
        Some(property) => {
            let text = std::str::from_utf8(value).map_err(|_| {
                format!("property {property:?}: expected a UTF-8 value (KV stores strings)")
            })?;
            let mut data = existing.cloned().unwrap_or_default();
            if data.get(property).and_then(Value::as_str) == Some(text) {
                return Ok(PushPlan::Unchanged);
            }
            data.insert(property.to_string(), Value::String(text.to_string()));
            Ok(PushPlan::Write(data))
        }
        None => {
            let data: Map<String, Value> = serde_json::from_slice(value).map_err(|_| {
                "expected the value to be a JSON object (push a property, or the whole Secret, to write a single value)".to_string()
            })?;
            if existing == Some(&data) {
                return Ok(PushPlan::Unchanged);
            }
            Ok(PushPlan::Write(data))
        }
    }
}

/// What deleting a pushed entry does to the remote secret.
#[derive(Debug, PartialEq)]
pub(crate) enum DeletePlan {
    /// Remove the whole secret (and, on KV v2, its metadata and versions).
    Remove,
    /// Keep the secret with the other members.
    Write(Map<String, Value>),
    /// Nothing to do: the property is already absent.
    Nothing,
}

/// Decides a delete on a managed remote secret whose data (without the KV v1 marker) is
/// `existing`: without property the secret goes; with one, only that member, unless it was
/// the last.
pub(crate) fn plan_delete(existing: &Map<String, Value>, property: Option<&str>) -> DeletePlan {
    let Some(property) = property else {
        return DeletePlan::Remove;
    };
    if !existing.contains_key(property) {
        return DeletePlan::Nothing;
    }
    let mut rest = existing.clone();
    rest.remove(property);
    if rest.is_empty() {
        DeletePlan::Remove
    } else {
        DeletePlan::Write(rest)
    }
}

/// A remote secret as read for a write: its data and whether it carries the marker.
struct Existing {
    data: Map<String, Value>,
    managed: bool,
    /// KV v2 `current_version`, for check-and-set.
    current_version: Option<u64>,
}

impl Inner {
    fn v2(&self) -> bool {
        self.layout.version == VaultKvVersion::V2
    }

    fn write_what(&self, action: &str, remote: &PushSecretRemoteRef) -> String {
        format!("{}: {action} key {:?}", self.what, remote.remote_key)
    }

    /// Reads the remote data and marker; `None` when the secret (or its latest version) is absent.
    async fn read_existing(&self, key: &str) -> Result<Option<Existing>, ProviderError> {
        let secret = match self.read_secret(key, None).await {
            Ok(s) => s,
            Err(ProviderError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut data: Map<String, Value> =
            serde_json::from_slice(secret.value.expose()).map_err(|_| {
                ProviderError::BadResponse(format!(
                    "{}: key {key:?}: expected the KV data to be a JSON object",
                    self.what
                ))
            })?;
        if self.v2() {
            let metadata = self.read_metadata(key).await?;
            Ok(Some(Existing {
                managed: is_managed(VaultKvVersion::V2, &metadata),
                current_version: metadata
                    .get("current_version")
                    .and_then(Value::as_str)
                    .and_then(|v| v.parse().ok()),
                data,
            }))
        } else {
            let managed = is_managed(VaultKvVersion::V1, &data);
            data.remove(CUSTOM_METADATA);
            Ok(Some(Existing {
                data,
                managed,
                current_version: None,
            }))
        }
    }

    async fn send_json(
        &self,
        method: Method,
        path: String,
        body: &Value,
        what: &str,
    ) -> Result<(), ProviderError> {
        let bytes = serde_json::to_vec(body).map_err(|_| {
            ProviderError::BadResponse(format!("{what}: could not encode the request"))
        })?;
        let request = Request {
            body: Some(Zeroizing::new(bytes)),
            ..Request::new(method, path)
        };
        self.send_authed(&request, what).await.map(|_| ())
    }

    fn metadata_path_for_write(&self, key: &str) -> Result<String, ProviderError> {
        self.layout.metadata_path(key).ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "{}: key {key:?}: without {}.path the key must contain /data/ to derive its metadata path",
                self.what, self.field
            ))
        })
    }

    /// Writes `data` with the marker (KV v2: metadata first, then the data, as ESO).
    async fn write_data(
        &self,
        key: &str,
        data: Map<String, Value>,
        existing: Option<&Existing>,
        what: &str,
    ) -> Result<(), ProviderError> {
        let marker = json!({ MANAGED_BY_KEY: MANAGED_BY_VALUE });
        let path = self.layout.data_path(key);
        if self.v2() {
            let metadata_path = self.metadata_path_for_write(key)?;
            self.send_json(
                Method::POST,
                metadata_path,
                &json!({ CUSTOM_METADATA: marker }),
                what,
            )
            .await?;
            let mut body = Map::new();
            body.insert("data".into(), Value::Object(data));
            if self.spec.check_and_set.as_ref().is_some_and(|c| c.required) {
                // 0: create only; N: update only if N is still the current version (ESO).
                let cas = existing
                    .map(|e| e.current_version.unwrap_or(1))
                    .unwrap_or(0);
                body.insert("options".into(), json!({ "cas": cas }));
            }
            self.send_json(Method::POST, path, &Value::Object(body), what)
                .await
                .map_err(|e| cas_conflict(e, what))
        } else {
            let mut body = data;
            body.insert(CUSTOM_METADATA.into(), marker);
            self.send_json(Method::POST, path, &Value::Object(body), what)
                .await
        }
    }

    async fn remove(&self, key: &str, what: &str) -> Result<(), ProviderError> {
        let path = if self.v2() {
            // Deleting the metadata removes every version and the key itself.
            self.metadata_path_for_write(key)?
        } else {
            self.layout.data_path(key)
        };
        match self
            .send_authed(&Request::new(Method::DELETE, path), what)
            .await
        {
            Ok(_) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A 400 on a check-and-set write means someone wrote in between: retried on the next sync.
fn cas_conflict(error: ProviderError, what: &str) -> ProviderError {
    match error {
        ProviderError::BadResponse(m) if m.contains("check-and-set") => {
            ProviderError::Unavailable(format!(
                "{what}: the secret changed while it was written (check-and-set); retrying: {m}"
            ))
        }
        other => other,
    }
}

#[async_trait]
impl SecretWriter for VaultProvider {
    async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError> {
        let Some(existing) = self.inner.read_existing(&remote.remote_key).await? else {
            return Ok(RemoteState::Absent);
        };
        if let Some(p) = remote.property()
            && !existing.data.contains_key(p)
        {
            return Ok(RemoteState::Absent);
        }
        Ok(if existing.managed {
            RemoteState::Managed
        } else {
            RemoteState::Unmanaged
        })
    }

    async fn push(&self, request: &PushRequest<'_>) -> Result<PushOutcome, ProviderError> {
        let inner = &self.inner;
        let remote = request.remote;
        let what = inner.write_what("pushing to", remote);
        let existing = inner.read_existing(&remote.remote_key).await?;
        if existing.as_ref().is_some_and(|e| !e.managed) {
            return Err(not_managed(remote));
        }
        let plan = plan_push(
            existing.as_ref().map(|e| &e.data),
            remote.property(),
            request.value.expose(),
        )
        .map_err(|m| ProviderError::InvalidStoreConfig(format!("{what}: {m}")))?;
        let PushPlan::Write(data) = plan else {
            return Ok(PushOutcome::Unchanged);
        };
        inner
            .write_data(&remote.remote_key, data, existing.as_ref(), &what)
            .await?;
        Ok(if existing.is_some() {
            PushOutcome::Updated
        } else {
            PushOutcome::Created
        })
    }

    async fn delete(&self, remote: &PushSecretRemoteRef) -> Result<DeleteOutcome, ProviderError> {
        let inner = &self.inner;
        let what = inner.write_what("deleting", remote);
        let Some(existing) = inner.read_existing(&remote.remote_key).await? else {
            return Ok(DeleteOutcome::Absent);
        };
        if !existing.managed {
            return Ok(DeleteOutcome::NotManaged);
        }
        match plan_delete(&existing.data, remote.property()) {
            DeletePlan::Nothing => Ok(DeleteOutcome::Absent),
            DeletePlan::Remove => {
                inner.remove(&remote.remote_key, &what).await?;
                Ok(DeleteOutcome::Deleted)
            }
            DeletePlan::Write(rest) => {
                inner
                    .write_data(&remote.remote_key, rest, Some(&existing), &what)
                    .await?;
                Ok(DeleteOutcome::Deleted)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    type PushCase<'a> = (
        Option<&'a Map<String, Value>>,
        Option<&'a str>,
        &'a [u8],
        Result<PushPlan, &'a str>,
    );

    #[test]
    fn push_plans() {
        let existing = obj(json!({"a": "1", "b": "2"}));
        let cases: &[PushCase<'_>] = &[
            (
                None,
                None,
                br#"{"a":"1"}"#,
                Ok(PushPlan::Write(obj(json!({"a": "1"})))),
            ),
            (
                Some(&existing),
                None,
                br#"{"b":"2","a":"1"}"#,
                Ok(PushPlan::Unchanged),
            ),
            (
                Some(&existing),
                None,
                br#"{"a":"9"}"#,
                Ok(PushPlan::Write(obj(json!({"a": "9"})))),
            ),
            (Some(&existing), Some("a"), b"1", Ok(PushPlan::Unchanged)),
            (
                Some(&existing),
                Some("a"),
                b"9",
                Ok(PushPlan::Write(obj(json!({"a": "9", "b": "2"})))),
            ),
            (
                Some(&existing),
                Some("c"),
                b"3",
                Ok(PushPlan::Write(obj(json!({"a": "1", "b": "2", "c": "3"})))),
            ),
            (
                None,
                Some("c"),
                b"3",
                Ok(PushPlan::Write(obj(json!({"c": "3"})))),
            ),
            (
                None,
                None,
                b"canary-not-json",
                Err("expected the value to be a JSON object"),
            ),
            (
                None,
                Some("c"),
                b"\xff",
                Err("property \"c\": expected a UTF-8 value"),
            ),
        ];
        for (existing, property, value, expected) in cases {
            let got = plan_push(*existing, *property, value);
            match (got, expected) {
                (Ok(g), Ok(e)) => assert_eq!(&g, e, "{property:?}"),
                (Err(g), Err(e)) => {
                    assert!(g.starts_with(e), "{g}");
                    assert!(!g.contains("canary"), "the value leaked into {g}");
                }
                (g, e) => panic!("{property:?}: got {g:?}, expected {e:?}"),
            }
        }
    }

    #[test]
    fn delete_plans() {
        let two = obj(json!({"a": "1", "b": "2"}));
        let one = obj(json!({"a": "1"}));
        assert_eq!(plan_delete(&two, None), DeletePlan::Remove);
        assert_eq!(
            plan_delete(&two, Some("a")),
            DeletePlan::Write(obj(json!({"b": "2"})))
        );
        assert_eq!(plan_delete(&one, Some("a")), DeletePlan::Remove);
        assert_eq!(plan_delete(&one, Some("z")), DeletePlan::Nothing);
    }

    #[test]
    fn managed_markers() {
        let cases = [
            (
                VaultKvVersion::V2,
                json!({"managed-by": "external-secrets"}),
                true,
            ),
            (VaultKvVersion::V2, json!({"managed-by": "someone"}), false),
            (VaultKvVersion::V2, json!({}), false),
            (
                VaultKvVersion::V1,
                json!({"custom_metadata": {"managed-by": "external-secrets"}, "a": "1"}),
                true,
            ),
            (
                VaultKvVersion::V1,
                json!({"managed-by": "external-secrets"}),
                false,
            ),
            (VaultKvVersion::V1, json!({"custom_metadata": "x"}), false),
        ];
        for (version, metadata, expected) in cases {
            assert_eq!(
                is_managed(version, &obj(metadata.clone())),
                expected,
                "{metadata}"
            );
        }
    }
}
