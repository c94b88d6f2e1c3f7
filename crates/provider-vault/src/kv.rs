//! KV reads: secret data (v1/v2, versions), KV v2 metadata, recursive LIST and `find`.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use secretsync_model::provider::FindRequest;
use secretsync_model::providers::VaultKvVersion;
use secretsync_model::{ProviderError, RemoteSecret, SecretValue};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::provider::{Inner, Request};

/// KV v2 metadata fields ESO exposes next to `custom_metadata`.
const SYSTEM_METADATA_KEYS: [&str; 3] = ["created_time", "current_version", "delete_version_after"];

impl Inner {
    /// Reads a secret's data: the JSON object as stored (KV v2: `data.data`).
    pub(crate) async fn read_secret(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<RemoteSecret, ProviderError> {
        let path = self.layout.data_path(key);
        let what = match version {
            Some(v) => format!("{}: reading key {key:?} version {v:?} ({path})", self.what),
            None => format!("{}: reading key {key:?} ({path})", self.what),
        };
        let mut query = Vec::new();
        if let Some(v) = version
            && self.layout.version == VaultKvVersion::V2
        {
            query.push(("version", v.to_string()));
        }
        let request = Request {
            query,
            ..Request::new(Method::GET, path)
        };
        let response = self.send_authed(&request, &what).await?;
        match self.layout.version {
            VaultKvVersion::V2 => {
                #[derive(Deserialize)]
                struct Envelope<'a> {
                    #[serde(borrow)]
                    data: Option<Inner2<'a>>,
                }
                #[derive(Deserialize)]
                struct Inner2<'a> {
                    #[serde(borrow)]
                    data: Option<&'a RawValue>,
                    #[serde(default)]
                    metadata: Option<Version>,
                }
                #[derive(Deserialize)]
                struct Version {
                    version: Option<u64>,
                }
                let envelope: Envelope<'_> = serde_json::from_slice(&response.body)
                    .map_err(|_| bad_json(&what, "a KV v2 read response"))?;
                let inner = envelope
                    .data
                    .ok_or_else(|| bad_json(&what, "a `data` object"))?;
                let data = inner.data.ok_or_else(|| {
                    ProviderError::NotFound(format!("{what}: the version is deleted or destroyed"))
                })?;
                Ok(RemoteSecret {
                    value: SecretValue::new(data.get().as_bytes().to_vec()),
                    version: inner
                        .metadata
                        .and_then(|m| m.version)
                        .map(|v| v.to_string()),
                })
            }
            VaultKvVersion::V1 => {
                #[derive(Deserialize)]
                struct Envelope<'a> {
                    #[serde(borrow)]
                    data: Option<&'a RawValue>,
                }
                let envelope: Envelope<'_> = serde_json::from_slice(&response.body)
                    .map_err(|_| bad_json(&what, "a KV v1 read response"))?;
                let data = envelope
                    .data
                    .ok_or_else(|| ProviderError::NotFound(format!("{what}: no data")))?;
                Ok(RemoteSecret::new(SecretValue::new(
                    data.get().as_bytes().to_vec(),
                )))
            }
        }
    }

    /// KV v2 metadata of a key as ESO exposes it: `created_time`, `current_version`,
    /// `delete_version_after` and every `custom_metadata` entry, all as strings.
    pub(crate) async fn read_metadata(
        &self,
        key: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        if self.layout.version == VaultKvVersion::V1 {
            return Err(ProviderError::Unsupported(format!(
                "{}: key {key:?}: metadata (metadataPolicy: Fetch, find by tags) needs KV v2; the store uses KV v1",
                self.what
            )));
        }
        let path = self.layout.metadata_path(key).ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "{}: key {key:?}: without spec.provider.vault.path the key must contain /data/ to derive its metadata path",
                self.what
            ))
        })?;
        let what = format!("{}: reading metadata of key {key:?} ({path})", self.what);
        let request = Request::new(Method::GET, path);
        let response = self.send_authed(&request, &what).await?;
        #[derive(Deserialize)]
        struct Envelope {
            data: Option<Map<String, Value>>,
        }
        let envelope: Envelope = serde_json::from_slice(&response.body)
            .map_err(|_| bad_json(&what, "a KV v2 metadata response"))?;
        let data = envelope
            .data
            .ok_or_else(|| bad_json(&what, "a `data` object"))?;
        let mut out = Map::new();
        for key in SYSTEM_METADATA_KEYS {
            if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                out.insert(key.to_string(), Value::String(plain(v)));
            }
        }
        if let Some(Value::Object(custom)) = data.get("custom_metadata") {
            for (k, v) in custom {
                out.insert(k.clone(), Value::String(plain(v)));
            }
        }
        Ok(out)
    }

    /// [`Inner::read_metadata`] serialized as the fetched value.
    pub(crate) async fn read_metadata_value(
        &self,
        key: &str,
    ) -> Result<RemoteSecret, ProviderError> {
        let metadata = self.read_metadata(key).await?;
        let bytes = serde_json::to_vec(&Value::Object(metadata))
            .map_err(|e| ProviderError::BadResponse(format!("{}: {e}", self.what)))?;
        Ok(RemoteSecret::new(SecretValue::new(bytes)))
    }

    /// Recursive LIST below `search` (`""` or ending in `/`); names relative to the mount.
    /// Bounded: at most `max_list_pages` LIST calls and `max_list_depth` folder levels below
    /// `search`.
    async fn list(&self, search: String) -> Result<Vec<String>, ProviderError> {
        let limits = self.options.limits;
        let listing = format!("{}: find below {search:?}", self.what);
        let base_depth = search.matches('/').count();
        let mut found = Vec::new();
        let mut pending = vec![search];
        let mut calls = 0usize;
        while let Some(folder) = pending.pop() {
            calls += 1;
            limits.check_pages(calls, &listing)?;
            limits.check_depth(folder.matches('/').count() - base_depth, &listing)?;
            let path = self.layout.list_path(&folder).ok_or_else(|| {
                ProviderError::InvalidStoreConfig(format!(
                    "{}: find needs spec.provider.vault.path (the KV mount)",
                    self.what
                ))
            })?;
            let what = format!("{}: listing {path}", self.what);
            let request = Request {
                query: vec![("list", "true".to_string())],
                ..Request::new(Method::GET, path)
            };
            let response = match self.send_authed(&request, &what).await {
                Ok(r) => r,
                // an empty folder (or mount) lists as 404
                Err(ProviderError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            #[derive(Deserialize)]
            struct Envelope {
                data: Option<Keys>,
            }
            #[derive(Deserialize)]
            struct Keys {
                #[serde(default)]
                keys: Vec<String>,
            }
            let envelope: Envelope = serde_json::from_slice(&response.body)
                .map_err(|_| bad_json(&what, "a LIST response"))?;
            for key in envelope.data.map(|d| d.keys).unwrap_or_default() {
                let full = format!("{folder}{key}");
                if key.ends_with('/') {
                    pending.push(full);
                } else {
                    found.push(full);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// `find`: LIST the mount (or `path`) recursively, keep names matching the regexp or whose
    /// metadata carries all tags, and read them.
    pub(crate) async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        if self.layout.version == VaultKvVersion::V1 && !request.tags.is_empty() {
            return Err(ProviderError::Unsupported(format!(
                "{}: find by tags needs KV v2; the store uses KV v1",
                self.what
            )));
        }
        let matcher = request
            .name_regexp
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| {
                ProviderError::InvalidStoreConfig(format!(
                    "{}: find.name.regexp: expected a regular expression: {e}",
                    self.what
                ))
            })?;
        let search = request
            .path
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let mut candidates = self.list(search).await?;
        if let Some(re) = &matcher {
            candidates.retain(|name| re.is_match(name));
        }
        // Every candidate costs a read (two with tags): bounded before any is made.
        self.options
            .limits
            .check_find_results(candidates.len(), &self.what)?;
        let use_tags = matcher.is_none();
        let concurrency = self.options.find_concurrency;
        let results: Vec<Option<(String, RemoteSecret)>> = futures::stream::iter(candidates)
            .map(|name| async move {
                if use_tags && !request.tags.is_empty() {
                    let metadata = self.read_metadata(&name).await?;
                    let matches = request
                        .tags
                        .iter()
                        .all(|(k, v)| metadata.get(k).and_then(Value::as_str) == Some(v.as_str()));
                    if !matches {
                        return Ok(None);
                    }
                }
                match self.read_secret(&name, None).await {
                    Ok(secret) => Ok(Some((name, secret))),
                    // latest version deleted: skipped, as ESO does
                    Err(ProviderError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        Ok(results.into_iter().flatten().collect())
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bad_json(what: &str, expected: &str) -> ProviderError {
    ProviderError::BadResponse(format!("{what}: expected {expected}"))
}
