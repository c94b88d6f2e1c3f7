//! ESO's `fake` provider: serves the static `spec.provider.fake.data[]` entries of a store.
//!
//! Useful for examples (the quickstart runs without any cloud) and tests. Each entry has a
//! `key`, a `value` (or the deprecated `valueMap`, served as a JSON object) and an optional
//! `version`; a request matches the entry with the same key and version (no version matches
//! entries without one). `find` matches keys against `name.regexp`. Every call is counted, so
//! tests can assert how many reads reached the provider. `validationResult` decides what
//! validation reports, as in ESO: 0 (or absent) Ready, 1 Unknown, anything else an error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use secretsync_model::providers::{FakeData, FakeSpec};
use secretsync_model::secret_store::StoreCapabilities;
use secretsync_model::{
    FetchRequest, FindRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretProvider,
    SecretValue, StoreId, Validation,
};

/// A provider serving the entries of a `fake` store.
pub struct FakeProvider {
    store: StoreId,
    entries: BTreeMap<(String, Option<String>), SecretValue>,
    validation_result: Option<u8>,
    calls: AtomicU64,
}

impl FakeProvider {
    /// Builds the provider from the store's `fake` block.
    pub fn new(store: StoreId, spec: &FakeSpec) -> Self {
        let entries = spec
            .data
            .iter()
            .map(|d| {
                (
                    (d.key.clone(), d.version.clone().filter(|v| !v.is_empty())),
                    entry_value(d),
                )
            })
            .collect();
        FakeProvider {
            store,
            entries,
            validation_result: spec.validation_result,
            calls: AtomicU64::new(0),
        }
    }

    /// Number of `fetch`/`find` calls served so far (each `fetch_many` element counts once).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn entry_value(d: &FakeData) -> SecretValue {
    match &d.value {
        Some(v) => SecretValue::from_str_value(v),
        None => {
            // ESO serves the deprecated valueMap as a JSON object.
            let bytes = serde_json::to_vec(&d.value_map).unwrap_or_default();
            SecretValue::new(bytes)
        }
    }
}

#[async_trait]
impl SecretProvider for FakeProvider {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            store: StoreCapabilities::ReadOnly,
            find: true,
            versions: true,
            metadata: false,
            batch: false,
        }
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if request.metadata {
            return Err(ProviderError::Unsupported(format!(
                "{}: the fake provider has no metadata (metadataPolicy: Fetch) for {request}",
                self.store
            )));
        }
        self.entries
            .get(&(request.key.clone(), request.version.clone()))
            .map(|v| RemoteSecret {
                value: v.clone(),
                version: request.version.clone(),
            })
            .ok_or_else(|| ProviderError::NotFound(format!("{}: {request}", self.store)))
    }

    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !request.tags.is_empty() {
            return Err(ProviderError::Unsupported(format!(
                "{}: the fake provider has no tags",
                self.store
            )));
        }
        let pattern = match &request.name_regexp {
            Some(p) => Some(regex::Regex::new(p).map_err(|e| {
                ProviderError::InvalidStoreConfig(format!(
                    "{}: find.name.regexp is not a valid expression: {e}",
                    self.store
                ))
            })?),
            None => None,
        };
        let prefix = request.path.as_deref().unwrap_or("");
        Ok(self
            .entries
            .iter()
            .filter(|((key, version), _)| version.is_none() && key.starts_with(prefix))
            .filter(|((key, _), _)| pattern.as_ref().is_none_or(|p| p.is_match(key)))
            .map(|((key, _), v)| (key.clone(), RemoteSecret::new(v.clone())))
            .collect())
    }

    /// ESO's fake `Validate`: `validationResult` 0 (or absent) Ready, 1 Unknown, otherwise an
    /// error ("unable to validate").
    async fn validate(&self) -> Result<Validation, ProviderError> {
        match self.validation_result {
            None | Some(0) => Ok(Validation::Ready),
            Some(1) => Ok(Validation::Unknown(format!(
                "{}: unable to validate (spec.provider.fake.validationResult: 1, Unknown)",
                self.store
            ))),
            Some(other) => Err(ProviderError::InvalidStoreConfig(format!(
                "{}: unable to validate (spec.provider.fake.validationResult: {other})",
                self.store
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::external_secret::StoreKind;

    fn provider() -> FakeProvider {
        let spec: FakeSpec = serde_json::from_value(serde_json::json!({
            "data": [
                {"key": "db", "value": "{\"user\":\"admin\",\"pass\":\"canary-7f3a\"}"},
                {"key": "db", "value": "old", "version": "v1"},
                {"key": "map", "valueMap": {"a": "1", "b": "2"}},
                {"key": "other", "value": "x"}
            ]
        }))
        .unwrap();
        FakeProvider::new(
            StoreId {
                kind: StoreKind::ClusterSecretStore,
                namespace: None,
                name: "fake".into(),
            },
            &spec,
        )
    }

    #[tokio::test]
    async fn fetches_by_key_and_version() {
        let p = provider();
        let latest = p.fetch(&FetchRequest::latest("db")).await.unwrap();
        assert!(latest.value.expose_str().unwrap().contains("admin"));
        let v1 = FetchRequest {
            key: "db".into(),
            version: Some("v1".into()),
            metadata: false,
        };
        assert_eq!(p.fetch(&v1).await.unwrap().value.expose_str(), Some("old"));
        assert_eq!(p.calls(), 2);
    }

    #[tokio::test]
    async fn value_map_is_served_as_json() {
        let v = provider()
            .fetch(&FetchRequest::latest("map"))
            .await
            .unwrap();
        assert_eq!(v.value.expose_str(), Some(r#"{"a":"1","b":"2"}"#));
    }

    #[tokio::test]
    async fn missing_key_is_not_found_without_values() {
        let err = provider()
            .fetch(&FetchRequest::latest("nope"))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::NotFound(_)));
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("nope") && text.contains("ClusterSecretStore fake"),
            "{text}"
        );
        assert!(!text.contains("canary-7f3a"));
    }

    /// ESO's fake provider: `Validate()` returns the configured `ValidationResult` (0 Ready,
    /// 1 Unknown, 2 Error) with "unable to validate" unless it is Ready.
    #[tokio::test]
    async fn validation_result_is_honoured() {
        let with = |result: Option<u8>| {
            let spec = FakeSpec {
                validation_result: result,
                ..FakeSpec::default()
            };
            FakeProvider::new(provider().store.clone(), &spec)
        };
        assert_eq!(with(None).validate().await, Ok(Validation::Ready));
        assert_eq!(with(Some(0)).validate().await, Ok(Validation::Ready));
        assert!(matches!(
            with(Some(1)).validate().await,
            Ok(Validation::Unknown(m)) if m.contains("unable to validate")
        ));
        let err = with(Some(2)).validate().await.expect_err("Error");
        assert!(err.to_string().contains("unable to validate"), "{err}");
        let parsed: FakeSpec =
            serde_json::from_value(serde_json::json!({"data": [], "validationResult": 2})).unwrap();
        assert_eq!(parsed.validation_result, Some(2), "ESO's field name");
    }

    #[tokio::test]
    async fn find_matches_names() {
        let found = provider()
            .find(&FindRequest {
                path: None,
                name_regexp: Some("^(db|map)$".into()),
                tags: Default::default(),
            })
            .await
            .unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), ["db", "map"]);
    }
}
