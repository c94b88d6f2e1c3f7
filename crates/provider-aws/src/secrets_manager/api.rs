//! The Secrets Manager calls, each turned into [`FetchResult`]s / [`ProviderError`]s.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{
    Filter, FilterNameStringType, SecretListEntry, SecretValueEntry,
};
use secretsync_model::{ProviderError, RemoteSecret};
use zeroize::Zeroize;

use crate::error::FetchResult;
use crate::error::{CallSite, error_code_of, from_code, from_sdk};
use crate::options::AwsOptions;
use crate::value::{secret_from_bytes, secret_from_string, tags_json};

/// How a whole `BatchGetSecretValue` call failed.
pub(crate) enum BatchFailure {
    /// The identity may not call `BatchGetSecretValue` (`AccessDeniedException` for the
    /// call itself): read the ids one by one.
    BatchDenied,
    /// The call was rejected as invalid (e.g. one malformed id): read the ids one by one so
    /// the others still succeed.
    Rejected,
    /// Everything else (throttling, outage, bad credentials): every id gets this error.
    Failed(ProviderError),
}

/// A Secrets Manager client with the store's region and options.
pub(crate) struct SecretsManagerApi {
    pub(crate) client: Client,
    pub(crate) region: String,
    pub(crate) options: AwsOptions,
}

/// `secret "name"` for messages.
pub(crate) fn subject(id: &str) -> String {
    format!("secret {id:?}")
}

/// Builds the value of a secret version from its two possible payloads.
fn to_remote(
    secret_string: Option<String>,
    secret_binary: Option<Blob>,
    version_id: Option<String>,
    id: &str,
) -> FetchResult {
    let value = match (secret_binary, secret_string) {
        (Some(binary), string) => {
            if let Some(mut s) = string {
                s.zeroize();
            }
            secret_from_bytes(binary.into_inner())
        }
        (None, Some(string)) => secret_from_string(string),
        (None, None) => {
            return Err(ProviderError::BadResponse(format!(
                "{} has neither SecretString nor SecretBinary",
                subject(id)
            )));
        }
    };
    Ok(RemoteSecret {
        value,
        version: version_id,
    })
}

/// Whether a batch entry answers the requested id (a name, an ARN or a partial ARN).
fn answers(entry: &SecretValueEntry, id: &str) -> bool {
    entry.name.as_deref() == Some(id)
        || entry.arn.as_deref() == Some(id)
        || (id.starts_with("arn:")
            && entry.arn.as_deref().is_some_and(|arn| {
                arn.strip_prefix(id)
                    .is_some_and(|rest| rest.starts_with('-'))
            }))
}

impl SecretsManagerApi {
    pub(crate) fn site<'a>(&'a self, operation: &'static str, subject: &'a str) -> CallSite<'a> {
        CallSite {
            service: "Secrets Manager",
            operation,
            subject,
            region: &self.region,
            endpoint_override: self.options.endpoint_url.as_deref(),
            clock: &self.options.clock,
        }
    }

    /// `GetSecretValue` by stage (`AWSCURRENT` when `None`) or by `uuid/<VersionId>`.
    pub(crate) async fn get_secret_value(&self, id: &str, version: Option<&str>) -> FetchResult {
        let subject = subject(id);
        let site = self.site("GetSecretValue", &subject);
        let mut request = self.client.get_secret_value().secret_id(id);
        request = match version {
            Some(v) => match v.strip_prefix("uuid/") {
                Some(version_id) => request.version_id(version_id),
                None => request.version_stage(v),
            },
            None => request.version_stage("AWSCURRENT"),
        };
        let mut output = request.send().await.map_err(|e| from_sdk(&site, e))?;
        to_remote(
            output.secret_string.take(),
            output.secret_binary.take(),
            output.version_id.take(),
            id,
        )
    }

    /// `DescribeSecret`: the tags as JSON (`metadataPolicy: Fetch`).
    pub(crate) async fn tags(&self, id: &str) -> FetchResult {
        let subject = subject(id);
        let site = self.site("DescribeSecret", &subject);
        let output = self
            .client
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| from_sdk(&site, e))?;
        let tags = output.tags();
        let value = tags_json(
            tags.iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        Ok(RemoteSecret {
            value,
            version: None,
        })
    }

    /// `BatchGetSecretValue` for up to 20 distinct ids; one result per id, in `ids` order.
    pub(crate) async fn batch_get(&self, ids: &[String]) -> Result<Vec<FetchResult>, BatchFailure> {
        let batch_subject = format!("{} secrets", ids.len());
        let site = self.site("BatchGetSecretValue", &batch_subject);
        let mut found: HashMap<&str, FetchResult> = HashMap::with_capacity(ids.len());
        let mut next_token: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            if let Err(e) = self.options.limits.check_pages(pages, &batch_subject) {
                return Err(BatchFailure::Failed(e));
            }
            let result = self
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.to_vec()))
                .set_next_token(next_token.take())
                .send()
                .await;
            let mut output = match result {
                Ok(o) => o,
                Err(e) => {
                    let (code, _) = error_code_of(&e);
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    let mapped = from_sdk(&site, e);
                    return Err(match (code.as_deref(), &mapped) {
                        (Some("AccessDeniedException" | "AccessDenied"), _) => {
                            BatchFailure::BatchDenied
                        }
                        (None, ProviderError::PermissionDenied(_)) if status == Some(403) => {
                            BatchFailure::BatchDenied
                        }
                        (_, ProviderError::BadResponse(_)) => BatchFailure::Rejected,
                        _ => BatchFailure::Failed(mapped),
                    });
                }
            };
            for mut entry in output.secret_values.take().unwrap_or_default() {
                let Some(id) = ids.iter().find(|id| answers(&entry, id)) else {
                    continue;
                };
                let value = to_remote(
                    entry.secret_string.take(),
                    entry.secret_binary.take(),
                    entry.version_id.take(),
                    id,
                );
                found.insert(id.as_str(), value);
            }
            for error in output.errors.take().unwrap_or_default() {
                let Some(id) = ids
                    .iter()
                    .find(|id| error.secret_id.as_deref() == Some(id.as_str()))
                else {
                    continue;
                };
                let subject = subject(id);
                let id_site = self.site("BatchGetSecretValue", &subject);
                found.insert(
                    id.as_str(),
                    Err(from_code(
                        &id_site,
                        error.error_code.as_deref(),
                        error.message.as_deref(),
                        None,
                        None,
                    )),
                );
            }
            next_token = output.next_token.take();
            if next_token.is_none() || found.len() == ids.len() {
                break;
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                found.remove(id.as_str()).unwrap_or_else(|| {
                    Err(ProviderError::BadResponse(format!(
                        "Secrets Manager BatchGetSecretValue in region {} returned neither a \
                         value nor an error for {}",
                        self.region,
                        subject(id)
                    )))
                })
            })
            .collect())
    }

    /// `ListSecrets` with filters, every page.
    pub(crate) async fn list(
        &self,
        name_prefix: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<Vec<SecretListEntry>, ProviderError> {
        let mut filters = Vec::new();
        if let Some(prefix) = name_prefix {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(prefix)
                    .build(),
            );
        }
        for (key, value) in tags {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagKey)
                    .values(key)
                    .build(),
            );
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagValue)
                    .values(value)
                    .build(),
            );
        }
        let subject = match name_prefix {
            Some(p) => format!("secrets named {p:?}*"),
            None => "all secrets".to_string(),
        };
        let site = self.site("ListSecrets", &subject);
        let mut entries = Vec::new();
        let mut next_token: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            self.options
                .limits
                .check_pages(pages, &format!("Secrets Manager ListSecrets of {subject}"))?;
            let mut output = self
                .client
                .list_secrets()
                .set_filters(if filters.is_empty() {
                    None
                } else {
                    Some(filters.clone())
                })
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| from_sdk(&site, e))?;
            entries.extend(output.secret_list.take().unwrap_or_default());
            next_token = output.next_token.take();
            if next_token.is_none() {
                break;
            }
        }
        Ok(entries)
    }
}
