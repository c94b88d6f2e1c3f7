//! Parameter Store writes: `PutParameter` (with the marker tag on creation, `Overwrite` after)
//! when the value differs, tags kept in line with the metadata, `DeleteParameter`.

use std::collections::BTreeMap;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging, Tag};
use secretsync_model::ProviderError;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    has_json_property, parse_push_metadata, remove_json_property,
};
use zeroize::Zeroizing;

use super::{WriteSite, invalid, is_managed, tag_changes, tags_with_marker, value_over_remote};

const SERVICE: &str = "Parameter Store";

/// ESO's Parameter Store `PushSecretMetadataSpec`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    secret_type: String,
    #[serde(default, rename = "kmsKeyID")]
    kms_key_id: String,
    #[serde(default)]
    tier: Tier,
    #[serde(default)]
    encode_as_decoded: bool,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    description: String,
}

/// ESO's `Tier`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier {
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default)]
    policies: Option<serde_json::Value>,
}

/// Parameter Store writes for one store.
pub(crate) struct ParameterStoreWriter {
    pub(crate) client: Client,
    pub(crate) site: WriteSite,
}

fn subject(name: &str) -> String {
    format!("parameter {name:?}")
}

struct Existing {
    value: Zeroizing<Vec<u8>>,
    tags: BTreeMap<String, String>,
}

impl Existing {
    /// Whether it carries ESO's marker, and its value.
    fn as_remote(&self) -> (bool, Option<&[u8]>) {
        let tags = self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        (is_managed(tags), Some(&self.value[..]))
    }
}

impl ParameterStoreWriter {
    async fn existing(&self, name: &str) -> Result<Option<Existing>, ProviderError> {
        let subject = subject(name);
        let value = match self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(mut out) => Zeroizing::new(
                out.parameter
                    .take()
                    .and_then(|mut p| p.value.take())
                    .unwrap_or_default()
                    .into_bytes(),
            ),
            Err(e) => {
                return match crate::error::from_sdk(
                    &self.site.call(SERVICE, "GetParameter", &subject),
                    e,
                ) {
                    ProviderError::NotFound(_) => Ok(None),
                    other => Err(other),
                };
            }
        };
        let tags = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| {
                crate::error::from_sdk(&self.site.call(SERVICE, "ListTagsForResource", &subject), e)
            })?
            .tag_list()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Ok(Some(Existing { value, tags }))
    }

    pub(crate) async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError> {
        let Some(e) = self.existing(&self.site.name(remote)).await? else {
            return Ok(RemoteState::Absent);
        };
        if !is_managed(e.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            return Ok(RemoteState::Unmanaged);
        }
        if let Some(p) = remote.property()
            && !has_json_property(&e.value, p)
        {
            return Ok(RemoteState::Absent);
        }
        Ok(RemoteState::Managed)
    }

    pub(crate) async fn push(
        &self,
        request: &PushRequest<'_>,
    ) -> Result<PushOutcome, ProviderError> {
        let name = self.site.name(request.remote);
        let subject = subject(&name);
        let what = format!("{SERVICE}: pushing {subject}");
        let metadata: Metadata = parse_push_metadata(request.metadata)
            .map_err(|m| invalid(what.clone(), m))?
            .unwrap_or_default();
        let _ = metadata.encode_as_decoded;
        let secret_type = match metadata.secret_type.as_str() {
            "" | "String" => ParameterType::String,
            "StringList" => ParameterType::StringList,
            "SecureString" => ParameterType::SecureString,
            other => {
                return Err(invalid(
                    what,
                    format!(
                        "metadata.spec.secretType: expected String, StringList or SecureString, got {other:?}"
                    ),
                ));
            }
        };
        let tier = match metadata.tier.type_.as_str() {
            "" | "Standard" => ParameterTier::Standard,
            "Advanced" => ParameterTier::Advanced,
            "IntelligentTiering" => ParameterTier::IntelligentTiering,
            other => {
                return Err(invalid(
                    what,
                    format!(
                        "metadata.spec.tier.type: expected Standard, Advanced or IntelligentTiering, got {other:?}"
                    ),
                ));
            }
        };
        let tags = tags_with_marker(&metadata.tags).map_err(|m| invalid(what.clone(), m))?;
        let existing = self.existing(&name).await?;
        let current = existing.as_ref().map(|e| &e.value[..]);
        let value = value_over_remote(&what, request, existing.as_ref().map(Existing::as_remote))?;
        let text = std::str::from_utf8(&value).map_err(|_| {
            invalid(
                what.clone(),
                "expected a UTF-8 value (parameters hold text)".into(),
            )
        })?;
        if current == Some(&value[..]) {
            if let Some(e) = &existing {
                self.sync_tags(&name, &e.tags, &tags).await?;
            }
            return Ok(PushOutcome::Unchanged);
        }
        let description = if metadata.description.is_empty() {
            format!("secret '{MANAGED_BY_KEY}:{MANAGED_BY_VALUE}'")
        } else {
            metadata.description.clone()
        };
        let mut put = self
            .client
            .put_parameter()
            .name(&name)
            .value(text)
            .r#type(secret_type.clone())
            .description(description)
            .overwrite(existing.is_some());
        if secret_type == ParameterType::SecureString {
            let kms = if metadata.kms_key_id.is_empty() {
                "alias/aws/ssm".to_string()
            } else {
                metadata.kms_key_id.clone()
            };
            put = put.key_id(kms);
        }
        if tier != ParameterTier::Standard {
            put = put.tier(tier);
            if let Some(p) = &metadata.tier.policies {
                put = put.policies(p.to_string());
            }
        }
        if existing.is_none() {
            let tag_list: Result<Vec<Tag>, _> = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            put = put.set_tags(Some(
                tag_list.map_err(|e| invalid(what.clone(), e.to_string()))?,
            ));
        }
        put.send().await.map_err(|e| {
            crate::error::from_sdk(&self.site.call(SERVICE, "PutParameter", &subject), e)
        })?;
        match existing {
            None => Ok(PushOutcome::Created),
            Some(e) => {
                self.sync_tags(&name, &e.tags, &tags).await?;
                Ok(PushOutcome::Updated)
            }
        }
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
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| {
                    crate::error::from_sdk(
                        &self.site.call(SERVICE, "RemoveTagsFromResource", &subject),
                        e,
                    )
                })?;
        }
        if !set.is_empty() {
            let tags: Result<Vec<Tag>, _> = set
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            self.client
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tags(Some(tags.map_err(|e| {
                    ProviderError::BadResponse(format!("{SERVICE}: {subject}: {e}"))
                })?))
                .send()
                .await
                .map_err(|e| {
                    crate::error::from_sdk(
                        &self.site.call(SERVICE, "AddTagsToResource", &subject),
                        e,
                    )
                })?;
        }
        Ok(())
    }

    pub(crate) async fn delete(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<DeleteOutcome, ProviderError> {
        let name = self.site.name(remote);
        let subject = subject(&name);
        let what = format!("{SERVICE}: deleting {subject}");
        let Some(existing) = self.existing(&name).await? else {
            return Ok(DeleteOutcome::Absent);
        };
        if !is_managed(existing.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            return Ok(DeleteOutcome::NotManaged);
        }
        if let Some(p) = remote.property() {
            let holds = has_json_property(&existing.value, p);
            if !holds {
                return Ok(DeleteOutcome::Absent);
            }
            if let Some(rest) =
                remove_json_property(&existing.value, p).map_err(|m| invalid(what, m))?
            {
                self.client
                    .put_parameter()
                    .name(&name)
                    .value(String::from_utf8_lossy(&rest).into_owned())
                    .overwrite(true)
                    .send()
                    .await
                    .map_err(|e| {
                        crate::error::from_sdk(
                            &self.site.call(SERVICE, "PutParameter", &subject),
                            e,
                        )
                    })?;
                return Ok(DeleteOutcome::Deleted);
            }
        }
        match self.client.delete_parameter().name(&name).send().await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(e) => match crate::error::from_sdk(
                &self.site.call(SERVICE, "DeleteParameter", &subject),
                e,
            ) {
                ProviderError::NotFound(_) => Ok(DeleteOutcome::Absent),
                other => Err(other),
            },
        }
    }
}
