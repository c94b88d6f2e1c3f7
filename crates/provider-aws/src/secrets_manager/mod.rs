//! AWS Secrets Manager: reads by stage or version id, tags, `find`, and batching.

mod api;
mod batch;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use regex::Regex;
use secretsync_model::{FetchRequest, FindRequest, ProviderError, RemoteSecret};

use crate::error::{FetchResult, dropped};
pub(crate) use api::SecretsManagerApi;
use batch::Batcher;
use secretsync_provider_support::SingleFlight;

/// Ids per `BatchGetSecretValue` call allowed by AWS.
pub const MAX_BATCH_SIZE: usize = 20;

/// The stage read when no version is requested.
const CURRENT_STAGE: &str = "AWSCURRENT";

/// Secrets Manager for one store.
pub(crate) struct SecretsManager {
    api: Arc<SecretsManagerApi>,
    batcher: Arc<Batcher>,
    flights: SingleFlight<FetchRequest, FetchResult>,
    prefix: String,
}

/// Compiles `find.name.regexp`.
pub(crate) fn find_regex(request: &FindRequest) -> Result<Option<Regex>, ProviderError> {
    request
        .name_regexp
        .as_deref()
        .map(|r| {
            Regex::new(r).map_err(|e| {
                ProviderError::Unsupported(format!(
                    "find.name.regexp {r:?} is not a valid regular expression: {e}"
                ))
            })
        })
        .transpose()
}

impl SecretsManager {
    /// Wraps a client; `prefix` is prepended to every key.
    pub(crate) fn new(api: SecretsManagerApi, prefix: String) -> Self {
        let api = Arc::new(api);
        let batcher = Batcher::new(
            api.clone(),
            api.options.batch_window,
            api.options.batch_size,
        );
        SecretsManager {
            api,
            batcher,
            flights: SingleFlight::new(),
            prefix,
        }
    }

    /// Whether a request reads the current version's value (the batchable kind).
    fn is_latest_value(request: &FetchRequest) -> bool {
        !request.metadata
            && request
                .version
                .as_deref()
                .is_none_or(|v| v == CURRENT_STAGE)
    }

    /// Reads many values: all batchable reads are queued at once, then everything is awaited
    /// together. Results are in request order.
    pub(crate) async fn fetch_many(&self, requests: &[FetchRequest]) -> Vec<FetchResult> {
        let ids: Vec<String> = requests
            .iter()
            .filter(|r| Self::is_latest_value(r))
            .map(|r| format!("{}{}", self.prefix, r.key))
            .collect();
        let mut queued = self.batcher.enqueue_many(ids).into_iter();
        let pending = requests.iter().map(|r| {
            let receiver = if Self::is_latest_value(r) {
                queued.next()
            } else {
                None
            };
            async move {
                match receiver {
                    Some(rx) => rx.await.unwrap_or_else(|_| Err(dropped())),
                    None => self.fetch(r).await,
                }
            }
        });
        join_all(pending).await
    }

    /// Reads one value, its tags (`metadata`), or a given version.
    pub(crate) async fn fetch(&self, request: &FetchRequest) -> FetchResult {
        let id = format!("{}{}", self.prefix, request.key);
        if Self::is_latest_value(request) {
            return self.batcher.get(id).await;
        }
        let key = FetchRequest {
            key: id.clone(),
            version: request.version.clone(),
            metadata: request.metadata,
        };
        let api = self.api.clone();
        let version = request.version.clone();
        if request.metadata {
            self.flights
                .run(key, move || async move { api.tags(&id).await })
                .await
        } else {
            self.flights
                .run(key, move || async move {
                    api.get_secret_value(&id, version.as_deref()).await
                })
                .await
        }
    }

    /// `find`: `ListSecrets` narrowed by AWS filters (name prefix for `path`, tag key and tag
    /// value for `tags`), then re-checked here — AWS filters are prefix matches and tag keys
    /// and values are matched independently — and the values read in batches. Names are
    /// returned without the store `prefix`.
    pub(crate) async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        let regex = find_regex(request)?;
        let name_prefix = format!(
            "{}{}",
            self.prefix,
            request.path.as_deref().unwrap_or_default()
        );
        let tags: Vec<(String, String)> = request
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let listed = self
            .api
            .list(Some(name_prefix.as_str()).filter(|p| !p.is_empty()), &tags)
            .await?;
        let names: Vec<String> = listed
            .into_iter()
            .filter(|entry| entry.deleted_date.is_none())
            .filter(|entry| {
                request.tags.iter().all(|(k, v)| {
                    entry
                        .tags()
                        .iter()
                        .any(|t| t.key() == Some(k.as_str()) && t.value() == Some(v.as_str()))
                })
            })
            .filter_map(|entry| entry.name)
            .filter(|name| name.starts_with(&name_prefix))
            .filter(|name| {
                let relative = name.strip_prefix(&self.prefix).unwrap_or(name);
                regex.as_ref().is_none_or(|r| r.is_match(relative))
            })
            .collect();
        // Every name costs a read: bounded before any is made.
        self.api
            .options
            .limits
            .check_find_results(names.len(), "Secrets Manager find")?;
        let receivers = self.batcher.enqueue_many(names.clone());
        let values = join_all(
            receivers
                .into_iter()
                .map(|rx| async move { rx.await.unwrap_or_else(|_| Err(dropped())) }),
        )
        .await;
        let mut found = BTreeMap::new();
        for (name, value) in names.into_iter().zip(values) {
            let relative = name
                .strip_prefix(&self.prefix)
                .map(str::to_string)
                .unwrap_or(name);
            match value {
                Ok(v) => {
                    found.insert(relative, v);
                }
                // Deleted between the listing and the read.
                Err(ProviderError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }
}
