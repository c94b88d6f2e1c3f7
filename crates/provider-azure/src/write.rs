//! PushSecret writes to Key Vault secrets (ESO's `PushSecret`/`DeleteSecret`/`SecretExists`):
//! `PUT secrets/{name}` with ESO's `managed-by: external-secrets` tag, `contentType`,
//! `attributes.exp` from the entry's `PushSecretMetadata` (`expirationDate` RFC 3339,
//! `contentType`, `tags`), written only when the value, expiry or requested content type
//! differ; `DELETE secrets/{name}` for marked secrets only. Keys and certificates
//! (`key/…`, `cert/…`) are written by [`crate::write_objects`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use secretsync_model::ProviderError;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    SecretWriter, has_json_property, not_managed, parse_push_metadata, remove_json_property,
    value_to_write,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::objects::{self, ExistingSecret, ObjectKind, ObjectRef};
use crate::provider::AzureProvider;

/// ESO's Azure `PushSecretMetadataSpec`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    expiration_date: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// What the PUT body carries besides the value.
#[derive(Debug, PartialEq)]
pub(crate) struct WriteAttributes {
    pub tags: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub expires: Option<i64>,
}

/// The tags, content type and expiry to write (ESO's rules: the marker is always set, the
/// marker key may not be requested, the expiry is RFC 3339).
fn attributes(metadata: &Metadata) -> Result<WriteAttributes, String> {
    if metadata.tags.contains_key(MANAGED_BY_KEY) {
        return Err(format!(
            "metadata.spec.tags: cannot specify a {MANAGED_BY_KEY:?} tag"
        ));
    }
    let mut tags = metadata.tags.clone();
    tags.insert(MANAGED_BY_KEY.into(), MANAGED_BY_VALUE.into());
    let expires = if metadata.expiration_date.is_empty() {
        None
    } else {
        let t: jiff::Timestamp = metadata.expiration_date.parse().map_err(|_| {
            format!(
                "metadata.spec.expirationDate: expected RFC 3339 such as 2024-12-31T20:00:00Z, got {:?}",
                metadata.expiration_date
            )
        })?;
        Some(t.as_second())
    };
    Ok(WriteAttributes {
        tags,
        content_type: (!metadata.content_type.is_empty()).then(|| metadata.content_type.clone()),
        expires,
    })
}

/// ESO's `legacySecretUnchanged`: same value and expiry, and the requested content type (if
/// any) already set.
fn unchanged(existing: &ExistingSecret, value: &[u8], wanted: &WriteAttributes) -> bool {
    existing.value.expose() == value
        && existing.expires == wanted.expires
        && (wanted.content_type.is_none() || existing.content_type == wanted.content_type)
}

fn managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

impl AzureProvider {
    /// The secret name, or `Err` with the key/certificate to write instead.
    fn secret_name(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<Result<String, ObjectRef>, ProviderError> {
        let object = objects::parse_remote_key(&remote.remote_key)?;
        Ok(if object.kind == ObjectKind::Secret {
            Ok(object.name)
        } else {
            Err(object)
        })
    }

    async fn existing(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<ExistingSecret>, ProviderError> {
        let url = self
            .client()
            .object_url(ObjectKind::Secret.collection(), name, None);
        match self.client().get(url, what).await {
            Ok(body) => objects::existing_secret(&body, what).map(Some),
            Err(ProviderError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_secret(
        &self,
        name: &str,
        value: &[u8],
        attrs: &WriteAttributes,
        what: &str,
    ) -> Result<(), ProviderError> {
        let text = std::str::from_utf8(value).map_err(|_| {
            ProviderError::InvalidStoreConfig(format!(
                "{what}: expected a UTF-8 value (Key Vault secrets hold text)"
            ))
        })?;
        let mut attributes = Map::new();
        attributes.insert("enabled".into(), Value::Bool(true));
        if let Some(exp) = attrs.expires {
            attributes.insert("exp".into(), json!(exp));
        }
        let mut body = json!({
            "value": text,
            "tags": attrs.tags,
            "attributes": attributes,
        });
        if let Some(ct) = &attrs.content_type {
            body["contentType"] = json!(ct);
        }
        let bytes = Zeroizing::new(serde_json::to_vec(&body).map_err(|_| {
            ProviderError::BadResponse(format!("{what}: could not encode the request"))
        })?);
        drop(body);
        let url = self
            .client()
            .object_url(ObjectKind::Secret.collection(), name, None);
        self.client()
            .call(Method::PUT, url, Some(&bytes), what)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl SecretWriter for AzureProvider {
    async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError> {
        let name = match self.secret_name(remote)? {
            Ok(name) => name,
            Err(o) => return self.object_remote_state(o.kind, &o.name).await,
        };
        let what = format!("secret {name:?} in vault {}", self.client().vault_url());
        let Some(existing) = self.existing(&name, &what).await? else {
            return Ok(RemoteState::Absent);
        };
        if !managed(&existing.tags) {
            return Ok(RemoteState::Unmanaged);
        }
        if let Some(p) = remote.property()
            && !has_json_property(existing.value.expose(), p)
        {
            return Ok(RemoteState::Absent);
        }
        Ok(RemoteState::Managed)
    }

    async fn push(&self, request: &PushRequest<'_>) -> Result<PushOutcome, ProviderError> {
        let target = self.secret_name(request.remote)?;
        let what = match &target {
            Ok(name) => format!(
                "pushing secret {name:?} to vault {}",
                self.client().vault_url()
            ),
            Err(o) => format!(
                "pushing {} {:?} to vault {}",
                o.kind.noun(),
                o.name,
                self.client().vault_url()
            ),
        };
        let invalid = |m: String| ProviderError::InvalidStoreConfig(format!("{what}: {m}"));
        let metadata: Metadata = parse_push_metadata(request.metadata)
            .map_err(invalid)?
            .unwrap_or_default();
        let mut wanted = attributes(&metadata).map_err(invalid)?;
        let name = match target {
            Ok(name) => name,
            Err(o) => {
                if wanted.content_type.is_some() || wanted.expires.is_some() {
                    return Err(invalid(format!(
                        "metadata.spec: only tags apply to Key Vault {}s (no contentType or expirationDate)",
                        o.kind.noun()
                    )));
                }
                return self
                    .push_object(o.kind, &o.name, request, &wanted.tags)
                    .await;
            }
        };
        let existing = self.existing(&name, &what).await?;
        if let Some(e) = &existing
            && !managed(&e.tags)
        {
            return Err(not_managed(request.remote));
        }
        let current = existing.as_ref().map(|e| e.value.expose());
        let value = value_to_write(current, request.remote.property(), request.value.expose())
            .map_err(invalid)?;
        if let Some(e) = &existing {
            if unchanged(e, &value, &wanted) {
                return Ok(PushOutcome::Unchanged);
            }
            // ESO keeps the existing content type when none is requested.
            if wanted.content_type.is_none() {
                wanted.content_type = e.content_type.clone();
            }
        }
        self.put_secret(&name, &value, &wanted, &what).await?;
        Ok(if existing.is_some() {
            PushOutcome::Updated
        } else {
            PushOutcome::Created
        })
    }

    async fn delete(&self, remote: &PushSecretRemoteRef) -> Result<DeleteOutcome, ProviderError> {
        let name = match self.secret_name(remote)? {
            Ok(name) => name,
            Err(o) => return self.delete_object(o.kind, &o.name, remote).await,
        };
        let what = format!(
            "deleting secret {name:?} from vault {}",
            self.client().vault_url()
        );
        let Some(existing) = self.existing(&name, &what).await? else {
            return Ok(DeleteOutcome::Absent);
        };
        if !managed(&existing.tags) {
            return Ok(DeleteOutcome::NotManaged);
        }
        if let Some(p) = remote.property() {
            let holds = has_json_property(existing.value.expose(), p);
            if !holds {
                return Ok(DeleteOutcome::Absent);
            }
            let rest = remove_json_property(existing.value.expose(), p)
                .map_err(|m| ProviderError::InvalidStoreConfig(format!("{what}: {m}")))?;
            if let Some(rest) = rest {
                let attrs = WriteAttributes {
                    tags: existing.tags.clone(),
                    content_type: existing.content_type.clone(),
                    expires: existing.expires,
                };
                self.put_secret(&name, &rest, &attrs, &what).await?;
                return Ok(DeleteOutcome::Deleted);
            }
        }
        let url = self
            .client()
            .object_url(ObjectKind::Secret.collection(), &name, None);
        match self.client().call(Method::DELETE, url, None, &what).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(ProviderError::NotFound(_)) => Ok(DeleteOutcome::Absent),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_becomes_attributes() {
        let m = Metadata {
            expiration_date: "2024-12-31T20:00:00Z".into(),
            content_type: "text/plain".into(),
            tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        };
        let a = attributes(&m).expect("valid");
        assert_eq!(a.expires, Some(1_735_675_200));
        assert_eq!(a.content_type.as_deref(), Some("text/plain"));
        assert_eq!(
            a.tags.get("managed-by").map(String::as_str),
            Some("external-secrets")
        );
        let bad = Metadata {
            expiration_date: "tomorrow".into(),
            ..Metadata::default()
        };
        assert!(
            attributes(&bad)
                .expect_err("bad date")
                .starts_with("metadata.spec.expirationDate")
        );
        let marker = Metadata {
            tags: BTreeMap::from([("managed-by".to_string(), "me".to_string())]),
            ..Metadata::default()
        };
        assert!(attributes(&marker).is_err());
    }
}
