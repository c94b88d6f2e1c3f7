//! AWS Systems Manager Parameter Store: `GetParameter` (decrypted, `name:N` versions), tags,
//! and `find` by path (`GetParametersByPath`, recursive) or tags/name (`DescribeParameters` +
//! `GetParameters` in groups of 10).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{Parameter, ParameterStringFilter, ResourceTypeForTagging};
use secretsync_model::{FetchRequest, FindRequest, ProviderError, RemoteSecret};

use crate::error::FetchResult;
use crate::error::{CallSite, from_sdk};
use crate::options::AwsOptions;
use crate::secrets_manager::find_regex;
use crate::value::{secret_from_string, tags_json};
use secretsync_provider_support::SingleFlight;

/// Names per `GetParameters` call allowed by AWS.
const GET_PARAMETERS_MAX: usize = 10;

/// Parameter Store calls with the store's region and options.
pub(crate) struct ParameterStoreApi {
    pub(crate) client: Client,
    pub(crate) region: String,
    pub(crate) options: AwsOptions,
}

fn subject(name: &str) -> String {
    format!("parameter {name:?}")
}

fn to_remote(mut parameter: Parameter, name: &str) -> FetchResult {
    let value = parameter
        .value
        .take()
        .ok_or_else(|| ProviderError::BadResponse(format!("{} has no value", subject(name))))?;
    Ok(RemoteSecret {
        value: secret_from_string(value),
        version: Some(parameter.version.to_string()),
    })
}

impl ParameterStoreApi {
    fn site<'a>(&'a self, operation: &'static str, subject: &'a str) -> CallSite<'a> {
        CallSite {
            service: "Parameter Store",
            operation,
            subject,
            region: &self.region,
            endpoint_override: self.options.endpoint_url.as_deref(),
            clock: &self.options.clock,
        }
    }

    /// `GetParameter` with decryption; `name` may carry a `:version` selector.
    async fn get(&self, name: &str) -> FetchResult {
        let subject = subject(name);
        let site = self.site("GetParameter", &subject);
        let mut output = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| from_sdk(&site, e))?;
        let parameter = output.parameter.take().ok_or_else(|| {
            ProviderError::BadResponse(format!("GetParameter returned nothing for {subject}"))
        })?;
        to_remote(parameter, name)
    }

    /// `ListTagsForResource`: the tags as JSON.
    async fn tags(&self, name: &str) -> FetchResult {
        let subject = subject(name);
        let site = self.site("ListTagsForResource", &subject);
        let output = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| from_sdk(&site, e))?;
        let value = tags_json(
            output
                .tag_list()
                .iter()
                .map(|t| (t.key.as_str(), t.value.as_str())),
        );
        Ok(RemoteSecret {
            value,
            version: None,
        })
    }

    /// `GetParametersByPath`, recursive and decrypted, every page.
    async fn by_path(&self, path: &str) -> Result<Vec<Parameter>, ProviderError> {
        let subject = format!("path {path:?}");
        let site = self.site("GetParametersByPath", &subject);
        let mut parameters = Vec::new();
        let mut next_token = None;
        let mut pages = 0;
        loop {
            pages += 1;
            self.options.limits.check_pages(
                pages,
                &format!("Parameter Store GetParametersByPath of {subject}"),
            )?;
            let mut output = self
                .client
                .get_parameters_by_path()
                .path(path)
                .recursive(true)
                .with_decryption(true)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| from_sdk(&site, e))?;
            parameters.extend(output.parameters.take().unwrap_or_default());
            next_token = output.next_token.take();
            if next_token.is_none() {
                return Ok(parameters);
            }
        }
    }

    /// `DescribeParameters` with filters, every page: the names.
    async fn describe(
        &self,
        filters: Vec<ParameterStringFilter>,
    ) -> Result<Vec<String>, ProviderError> {
        let site = self.site("DescribeParameters", "parameters");
        let mut names = Vec::new();
        let mut next_token = None;
        let mut pages = 0;
        loop {
            pages += 1;
            self.options
                .limits
                .check_pages(pages, "Parameter Store DescribeParameters")?;
            let mut output = self
                .client
                .describe_parameters()
                .set_parameter_filters(if filters.is_empty() {
                    None
                } else {
                    Some(filters.clone())
                })
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| from_sdk(&site, e))?;
            names.extend(
                output
                    .parameters
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.name),
            );
            next_token = output.next_token.take();
            if next_token.is_none() {
                return Ok(names);
            }
        }
    }

    /// `GetParameters` (decrypted) in groups of 10; parameters that vanished are skipped.
    async fn get_many(&self, names: &[String]) -> Result<Vec<Parameter>, ProviderError> {
        let mut parameters = Vec::with_capacity(names.len());
        for chunk in names.chunks(GET_PARAMETERS_MAX) {
            let subject = format!("{} parameters", chunk.len());
            let site = self.site("GetParameters", &subject);
            let mut output = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| from_sdk(&site, e))?;
            parameters.extend(output.parameters.take().unwrap_or_default());
        }
        Ok(parameters)
    }
}

/// Parameter Store for one store.
pub(crate) struct ParameterStore {
    api: Arc<ParameterStoreApi>,
    flights: SingleFlight<FetchRequest, FetchResult>,
    prefix: String,
}

/// `path` for `GetParametersByPath` / the `Path` filter: no trailing slash except for `/`.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

impl ParameterStore {
    /// Wraps a client; `prefix` is prepended to every key.
    pub(crate) fn new(api: ParameterStoreApi, prefix: String) -> Self {
        ParameterStore {
            api: Arc::new(api),
            flights: SingleFlight::new(),
            prefix,
        }
    }

    /// Reads a parameter (optionally a version, as ESO: `name:version`) or its tags.
    pub(crate) async fn fetch(&self, request: &FetchRequest) -> FetchResult {
        let name = format!("{}{}", self.prefix, request.key);
        let key = FetchRequest {
            key: name.clone(),
            version: request.version.clone(),
            metadata: request.metadata,
        };
        let api = self.api.clone();
        if request.metadata {
            return self
                .flights
                .run(key, move || async move { api.tags(&name).await })
                .await;
        }
        let selector = match &request.version {
            Some(v) => format!("{name}:{v}"),
            None => name,
        };
        self.flights
            .run(key, move || async move { api.get(&selector).await })
            .await
    }

    /// `find`: with tags, `DescribeParameters` (exact `tag:` filters, plus `Path` when given),
    /// without tags but with a path, `GetParametersByPath`; a name regexp alone lists every
    /// parameter. Names are returned without the store `prefix`.
    pub(crate) async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        let regex = find_regex(request)?;
        let full_path = format!(
            "{}{}",
            self.prefix,
            request.path.as_deref().unwrap_or_default()
        );
        let parameters = if request.tags.is_empty() && !full_path.is_empty() {
            self.api.by_path(&normalize_path(&full_path)).await?
        } else {
            let mut filters: Vec<ParameterStringFilter> = Vec::new();
            for (key, value) in &request.tags {
                filters.push(
                    ParameterStringFilter::builder()
                        .key(format!("tag:{key}"))
                        .option("Equals")
                        .values(value)
                        .build()
                        .map_err(|e| {
                            ProviderError::Unsupported(format!("find.tags key {key:?}: {e}"))
                        })?,
                );
            }
            if !full_path.is_empty() {
                filters.push(
                    ParameterStringFilter::builder()
                        .key("Path")
                        .option("Recursive")
                        .values(normalize_path(&full_path))
                        .build()
                        .map_err(|e| ProviderError::Unsupported(format!("find.path: {e}")))?,
                );
            }
            let names: Vec<String> = self
                .api
                .describe(filters)
                .await?
                .into_iter()
                .filter(|name| {
                    let relative = name.strip_prefix(&self.prefix).unwrap_or(name);
                    regex.as_ref().is_none_or(|r| r.is_match(relative))
                })
                .collect();
            // Every name costs a read: bounded before any is made.
            self.api
                .options
                .limits
                .check_find_results(names.len(), "Parameter Store find")?;
            self.api.get_many(&names).await?
        };
        self.api
            .options
            .limits
            .check_find_results(parameters.len(), "Parameter Store find")?;
        let mut found = BTreeMap::new();
        for parameter in parameters {
            let Some(name) = parameter.name.clone() else {
                continue;
            };
            if !name.starts_with(&full_path) {
                continue;
            }
            let relative = name.strip_prefix(&self.prefix).unwrap_or(&name).to_string();
            if !regex.as_ref().is_none_or(|r| r.is_match(&relative)) {
                continue;
            }
            found.insert(relative, to_remote(parameter, &name)?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn paths_lose_trailing_slashes() {
        assert_eq!(normalize_path("/app/"), "/app");
        assert_eq!(normalize_path("/app"), "/app");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path(""), "/");
    }
}
