//! Secrets Manager writes: `CreateSecret` (with the marker tag) or `PutSecretValue` when the
//! value differs, tags kept in line with the metadata, `DeleteSecret` with the store's
//! `secretsManager.forceDeleteWithoutRecovery` / `recoveryWindowInDays`.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use secretsync_model::ProviderError;
use secretsync_model::providers::AwsSecretsManagerSettings;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    has_json_property, parse_push_metadata, remove_json_property,
};
use zeroize::Zeroizing;

use super::{WriteSite, invalid, is_managed, tag_changes, tags_with_marker, value_over_remote};

const SERVICE: &str = "Secrets Manager";
/// ESO's `initialVersion` client request token of a created secret.
const INITIAL_VERSION: &str = "00000000-0000-0000-0000-000000000001";

/// ESO's Secrets Manager `PushSecretMetadataSpec`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    secret_push_format: String,
    #[serde(default)]
    kms_key_id: String,
    #[serde(default)]
    resource_policy: Option<serde_json::Value>,
    #[serde(default)]
    replication_locations: Vec<String>,
}

/// A remote secret as read before a write.
struct Existing {
    tags: BTreeMap<String, String>,
    /// The current value (`SecretBinary`, else `SecretString`); `None` without versions.
    value: Option<Zeroizing<Vec<u8>>>,
}

impl Existing {
    /// Whether it carries ESO's marker, and its value.
    fn as_remote(&self) -> (bool, Option<&[u8]>) {
        let tags = self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        (is_managed(tags), self.value.as_deref().map(|v| &v[..]))
    }
}

/// Secrets Manager writes for one store.
pub(crate) struct SecretsManagerWriter {
    pub(crate) client: Client,
    pub(crate) site: WriteSite,
    pub(crate) settings: Option<AwsSecretsManagerSettings>,
}

fn subject(name: &str) -> String {
    format!("secret {name:?}")
}

impl SecretsManagerWriter {
    async fn describe(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ProviderError> {
        let subject = subject(name);
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => Ok(Some(
                out.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            )),
            Err(e) => match crate::error::from_sdk(
                &self.site.call(SERVICE, "DescribeSecret", &subject),
                e,
            ) {
                ProviderError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn current_value(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, ProviderError> {
        let subject = subject(name);
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(mut out) => Ok(match (out.secret_binary.take(), out.secret_string.take()) {
                (Some(b), _) => Some(Zeroizing::new(b.into_inner())),
                (None, Some(s)) => Some(Zeroizing::new(s.into_bytes())),
                (None, None) => None,
            }),
            Err(e) => match crate::error::from_sdk(
                &self.site.call(SERVICE, "GetSecretValue", &subject),
                e,
            ) {
                ProviderError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn existing(&self, name: &str) -> Result<Option<Existing>, ProviderError> {
        let Some(tags) = self.describe(name).await? else {
            return Ok(None);
        };
        let value = if is_managed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            self.current_value(name).await?
        } else {
            None
        };
        Ok(Some(Existing { tags, value }))
    }

    pub(crate) async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError> {
        let name = self.site.name(remote);
        let Some(existing) = self.existing(&name).await? else {
            return Ok(RemoteState::Absent);
        };
        if !is_managed(existing.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            return Ok(RemoteState::Unmanaged);
        }
        let present = match (remote.property(), &existing.value) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(p), Some(v)) => has_json_property(v, p),
        };
        Ok(if present {
            RemoteState::Managed
        } else {
            RemoteState::Absent
        })
    }

    pub(crate) async fn push(
        &self,
        request: &PushRequest<'_>,
    ) -> Result<PushOutcome, ProviderError> {
        let name = self.site.name(request.remote);
        let what = format!("{SERVICE}: pushing {}", subject(&name));
        let metadata: Metadata = parse_push_metadata(request.metadata)
            .map_err(|m| invalid(what.clone(), m))?
            .unwrap_or_default();
        if metadata.resource_policy.is_some() || !metadata.replication_locations.is_empty() {
            return Err(ProviderError::Unsupported(format!(
                "{what}: metadata.spec.resourcePolicy and replicationLocations are not supported by secretsync yet"
            )));
        }
        let as_string = match metadata.secret_push_format.as_str() {
            "" | "binary" => false,
            "string" => true,
            other => {
                return Err(invalid(
                    what,
                    format!(
                        "metadata.spec.secretPushFormat: expected binary or string, got {other:?}"
                    ),
                ));
            }
        };
        let tags = tags_with_marker(&metadata.tags).map_err(|m| invalid(what.clone(), m))?;
        let existing = self.existing(&name).await?;
        let value = value_over_remote(&what, request, existing.as_ref().map(Existing::as_remote))?;
        let Some(existing) = existing else {
            self.create(&name, &metadata, &tags, &value, as_string)
                .await?;
            return Ok(PushOutcome::Created);
        };
        // Tags only when the metadata names some (ESO's patchTags).
        if !metadata.tags.is_empty() {
            self.sync_tags(&name, &existing.tags, &tags).await?;
        }
        if existing.value.as_deref().map(|v| &v[..]) == Some(&value[..]) {
            return Ok(PushOutcome::Unchanged);
        }
        let subject = subject(&name);
        let mut put = self.client.put_secret_value().secret_id(&name);
        put = if as_string {
            put.secret_string(String::from_utf8_lossy(&value).into_owned())
        } else {
            put.secret_binary(Blob::new(value.to_vec()))
        };
        put.send().await.map_err(|e| {
            crate::error::from_sdk(&self.site.call(SERVICE, "PutSecretValue", &subject), e)
        })?;
        Ok(PushOutcome::Updated)
    }

    async fn create(
        &self,
        name: &str,
        metadata: &Metadata,
        tags: &BTreeMap<String, String>,
        value: &[u8],
        as_string: bool,
    ) -> Result<(), ProviderError> {
        let subject = subject(name);
        let description = if metadata.description.is_empty() {
            format!("secret '{MANAGED_BY_KEY}:{MANAGED_BY_VALUE}'")
        } else {
            metadata.description.clone()
        };
        let kms = if metadata.kms_key_id.is_empty() {
            "alias/aws/secretsmanager".to_string()
        } else {
            metadata.kms_key_id.clone()
        };
        let mut create = self
            .client
            .create_secret()
            .name(name)
            .description(description)
            .kms_key_id(kms)
            .client_request_token(INITIAL_VERSION)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        create = if as_string {
            create.secret_string(String::from_utf8_lossy(value).into_owned())
        } else {
            create.secret_binary(Blob::new(value.to_vec()))
        };
        create.send().await.map_err(|e| {
            crate::error::from_sdk(&self.site.call(SERVICE, "CreateSecret", &subject), e)
        })?;
        Ok(())
    }

    async fn sync_tags(
        &self,
        name: &str,
        current: &BTreeMap<String, String>,
        wanted: &BTreeMap<String, String>,
    ) -> Result<(), ProviderError> {
        let subject = subject(name);
        let (remove, set) = tag_changes(current, wanted);
        if !remove.is_empty() {
            self.client
                .untag_resource()
                .secret_id(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| {
                    crate::error::from_sdk(&self.site.call(SERVICE, "UntagResource", &subject), e)
                })?;
        }
        if !set.is_empty() {
            self.client
                .tag_resource()
                .secret_id(name)
                .set_tags(Some(
                    set.iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await
                .map_err(|e| {
                    crate::error::from_sdk(&self.site.call(SERVICE, "TagResource", &subject), e)
                })?;
        }
        Ok(())
    }

    pub(crate) async fn delete(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<DeleteOutcome, ProviderError> {
        let name = self.site.name(remote);
        let what = format!("{SERVICE}: deleting {}", subject(&name));
        let Some(existing) = self.existing(&name).await? else {
            return Ok(DeleteOutcome::Absent);
        };
        if !is_managed(existing.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            return Ok(DeleteOutcome::NotManaged);
        }
        let subject = subject(&name);
        if let (Some(p), Some(current)) = (remote.property(), &existing.value) {
            let holds = has_json_property(current, p);
            if !holds {
                return Ok(DeleteOutcome::Absent);
            }
            if let Some(rest) = remove_json_property(current, p).map_err(|m| invalid(what, m))? {
                self.client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(String::from_utf8_lossy(&rest).into_owned())
                    .send()
                    .await
                    .map_err(|e| {
                        crate::error::from_sdk(
                            &self.site.call(SERVICE, "PutSecretValue", &subject),
                            e,
                        )
                    })?;
                return Ok(DeleteOutcome::Deleted);
            }
        }
        let mut delete = self.client.delete_secret().secret_id(&name);
        if let Some(s) = &self.settings {
            if s.force_delete_without_recovery {
                delete = delete.force_delete_without_recovery(true);
            } else if let Some(days) = s.recovery_window_in_days {
                delete = delete.recovery_window_in_days(days);
            }
        }
        match delete.send().await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(e) => {
                match crate::error::from_sdk(&self.site.call(SERVICE, "DeleteSecret", &subject), e)
                {
                    ProviderError::NotFound(_) => Ok(DeleteOutcome::Absent),
                    other => Err(other),
                }
            }
        }
    }
}
