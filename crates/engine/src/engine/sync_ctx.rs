//! One ExternalSecret's sync in progress: its stores (resolved once per sync), its entries'
//! reads through the fetch layer and their processing into data.

use std::collections::HashMap;
use std::sync::Arc;

use secretsync_model::external_secret::{ExternalSecret, MetadataPolicy, SecretStoreRef};
use secretsync_model::provider::StoreContext;
use secretsync_model::value::SecretData;
use secretsync_model::{FetchRequest, FindRequest};

use super::{DataFromRead, Engine, Entry, EntryResult};
use crate::env::SyncEnvironment;
use crate::error::{EngineError, StoreFailure};
use crate::fetch::{ReadValue, StoreHandle};
use crate::pipeline::{process_data_value, process_extract, process_extracted, process_find};

/// The state of one ExternalSecret's sync.
pub(super) struct SyncCtx<'a> {
    pub(super) engine: &'a Engine,
    pub(super) env: &'a dyn SyncEnvironment,
    pub(super) namespace: &'a str,
    pub(super) object: &'a str,
    pub(super) stores:
        tokio::sync::Mutex<HashMap<(String, String), Result<StoreHandle, EngineError>>>,
    /// Every entry reads from this store (the fallback pass).
    pub(super) store_override: Option<SecretStoreRef>,
    /// What the generator entries produced to keep (leases).
    pub(super) generated: std::sync::Mutex<Vec<crate::outcome::GeneratedState>>,
    /// Reads started since this instant serve the sync (a periodic refresh's due instant, a
    /// first sync's sighting: [`Engine::sync_fresh_since`]).
    pub(super) fresh_since: Option<tokio::time::Instant>,
}

impl<'a> SyncCtx<'a> {
    /// A context for one ExternalSecret; with `store_override`, every entry reads that store.
    pub(super) fn new(
        engine: &'a Engine,
        env: &'a dyn SyncEnvironment,
        namespace: &'a str,
        object: &'a str,
        store_override: Option<SecretStoreRef>,
    ) -> Self {
        SyncCtx {
            engine,
            env,
            namespace,
            object,
            stores: tokio::sync::Mutex::new(HashMap::new()),
            store_override,
            generated: std::sync::Mutex::default(),
            fresh_since: None,
        }
    }

    pub(super) fn store_ref<'s>(
        &self,
        es: &'s ExternalSecret,
        entry_ref: Option<&'s SecretStoreRef>,
    ) -> Option<&'s SecretStoreRef> {
        entry_ref.or(es.spec.secret_store_ref.as_ref())
    }

    pub(super) async fn store(
        &self,
        reference: &SecretStoreRef,
        location: &str,
    ) -> Result<StoreHandle, EngineError> {
        let cache_key = (reference.kind.to_string(), reference.name.clone());
        let mut stores = self.stores.lock().await;
        if let Some(cached) = stores.get(&cache_key) {
            return cached.clone().map_err(|e| relocate(e, location));
        }
        let result = self.resolve_store(reference, location).await;
        stores.insert(cache_key, result.clone());
        result
    }

    pub(super) async fn resolve_store(
        &self,
        reference: &SecretStoreRef,
        location: &str,
    ) -> Result<StoreHandle, EngineError> {
        let store_label = format!("{} {}", reference.kind, reference.name);
        let store_error = |message: String, cause: StoreFailure| EngineError::Store {
            object: self.object.to_string(),
            location: location.to_string(),
            store: store_label.clone(),
            message,
            cause,
        };
        let resolved = self
            .env
            .store(self.namespace, reference)
            .await
            .map_err(|e| store_error(e.message.clone(), StoreFailure::of(&e)))?;
        let context = StoreContext {
            store: resolved.id.clone(),
            reader_namespace: Some(self.namespace.to_string()),
        };
        self.engine
            .fetch
            .provider(&context, &resolved.spec, |c| self.env.credentials(c))
            .await
            .map_err(|e| {
                store_error(
                    format!("building the provider failed: {e}"),
                    StoreFailure::Provider(e),
                )
            })
    }

    pub(super) async fn run_entry(&self, es: &ExternalSecret, entry: &Entry<'_>) -> EntryResult {
        let spec = &es.spec;
        match entry {
            Entry::Generate(i, reference) => self.generate(es, *i, reference).await,
            Entry::Data(i) => {
                let d = &spec.data[*i];
                let location = format!("spec.data[{i}]");
                let store = self
                    .entry_store(
                        es,
                        d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
                        &location,
                    )
                    .await?;
                let request = FetchRequest::from_remote_ref(&d.remote_ref);
                let value = self
                    .engine
                    .fetch
                    .fetch(&store, &request, self.fresh_since)
                    .await
                    .map_err(|error| {
                        self.provider_error(&location, &store, request.to_string(), error)
                    })?;
                let ReadValue::One(remote) = &*value else {
                    return Err(self.value_error(
                        &location,
                        "the provider returned a find result for a read".into(),
                    ));
                };
                let v = process_data_value(&d.remote_ref, remote).map_err(|m| {
                    self.value_error(&location, format!("key {:?}: {m}", d.remote_ref.key))
                })?;
                Ok(SecretData::from([(d.secret_key.clone(), v)]))
            }
            Entry::Extract(i, remote_ref) => {
                let df = &spec.data_from[*i];
                let (location, store, value) = self
                    .read_data_from(es, *i, DataFromRead::Extract(remote_ref))
                    .await?;
                let ReadValue::One(remote) = &*value else {
                    return Err(self.value_error(
                        &location,
                        "the provider returned a find result for a read".into(),
                    ));
                };
                let named = (remote_ref.metadata_policy == MetadataPolicy::Fetch)
                    .then(|| {
                        store.extract_metadata(
                            &remote_ref.key,
                            remote_ref.property.as_deref().filter(|p| !p.is_empty()),
                            remote,
                        )
                    })
                    .flatten();
                // Transforms are templates: they run on the render pool, never on the workers.
                let on_pool = has_transform(&df.rewrite);
                let result = match named {
                    Some(Err(error)) => {
                        return Err(self.provider_error(
                            &location,
                            &store,
                            FetchRequest::from_remote_ref(remote_ref).to_string(),
                            error,
                        ));
                    }
                    Some(Ok(map)) if on_pool => {
                        let (remote_ref_owned, rewrite) =
                            ((*remote_ref).clone(), df.rewrite.clone());
                        let cache = self.engine.templates.clone();
                        self.engine
                            .renderer
                            .run(move || {
                                process_extracted(&remote_ref_owned, &rewrite, map, &cache)
                            })
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()))
                    }
                    Some(Ok(map)) => {
                        process_extracted(remote_ref, &df.rewrite, map, &self.engine.templates)
                    }
                    None if on_pool => {
                        let (remote_ref_owned, rewrite) =
                            ((*remote_ref).clone(), df.rewrite.clone());
                        let (cache, value) = (self.engine.templates.clone(), value.clone());
                        self.engine
                            .renderer
                            .run(move || match &*value {
                                ReadValue::One(remote) => {
                                    process_extract(&remote_ref_owned, &rewrite, remote, &cache)
                                }
                                ReadValue::Many(_) => Err("unexpected find result".to_string()),
                            })
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()))
                    }
                    None => {
                        process_extract(remote_ref, &df.rewrite, remote, &self.engine.templates)
                    }
                };
                result.map_err(|m| {
                    self.value_error(&location, format!("key {:?}: {m}", remote_ref.key))
                })
            }
            Entry::Find(i, find) => {
                let df = &spec.data_from[*i];
                let (location, _, value) = self
                    .read_data_from(es, *i, DataFromRead::Find(find))
                    .await?;
                let ReadValue::Many(found) = &*value else {
                    return Err(self.value_error(
                        &location,
                        "the provider returned a single value for a find".into(),
                    ));
                };
                let (conversion, decoding, null_bytes) = (
                    find.conversion_strategy,
                    find.decoding_strategy,
                    find.null_byte_policy,
                );
                let result = if has_transform(&df.rewrite) {
                    let rewrite = df.rewrite.clone();
                    let (cache, value) = (self.engine.templates.clone(), value.clone());
                    self.engine
                        .renderer
                        .run(move || match &*value {
                            ReadValue::Many(found) => process_find(
                                conversion, decoding, null_bytes, &rewrite, found, &cache,
                            ),
                            ReadValue::One(_) => Err("unexpected read result".to_string()),
                        })
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                } else {
                    process_find(
                        conversion,
                        decoding,
                        null_bytes,
                        &df.rewrite,
                        found,
                        &self.engine.templates,
                    )
                };
                result.map_err(|m| self.value_error(&location, m))
            }
        }
    }

    /// The shared part of `dataFrom[i].extract` and `dataFrom[i].find`: resolve the entry's
    /// store, run the read through the fetch layer and name the entry in a provider error.
    /// Returns the entry's location (`spec.dataFrom[i].extract`), the store and the value read.
    pub(super) async fn read_data_from(
        &self,
        es: &ExternalSecret,
        i: usize,
        read: DataFromRead<'_>,
    ) -> Result<(String, StoreHandle, Arc<ReadValue>), EngineError> {
        let df = &es.spec.data_from[i];
        let location = format!("spec.dataFrom[{i}].{}", read.field());
        let store = self
            .entry_store(
                es,
                df.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
                &location,
            )
            .await?;
        let value = match read {
            DataFromRead::Extract(remote_ref) => {
                let request = FetchRequest::from_remote_ref(remote_ref);
                self.engine
                    .fetch
                    .fetch(&store, &request, self.fresh_since)
                    .await
                    .map_err(|error| {
                        self.provider_error(&location, &store, request.to_string(), error)
                    })?
            }
            DataFromRead::Find(find) => {
                let request = FindRequest::from_find(find);
                self.engine
                    .fetch
                    .find(&store, &request, self.fresh_since)
                    .await
                    .map_err(|error| {
                        self.provider_error(&location, &store, describe_find(&request), error)
                    })?
            }
        };
        Ok((location, store, value))
    }

    pub(super) async fn entry_store(
        &self,
        es: &ExternalSecret,
        entry_ref: Option<&SecretStoreRef>,
        location: &str,
    ) -> Result<StoreHandle, EngineError> {
        let reference = self
            .store_override
            .as_ref()
            .or(self.store_ref(es, entry_ref));
        let Some(reference) = reference else {
            return Err(EngineError::Value {
                object: self.object.to_string(),
                location: location.to_string(),
                message: "no store: set spec.secretStoreRef or sourceRef.storeRef".into(),
            });
        };
        self.store(reference, location).await
    }

    pub(super) fn provider_error(
        &self,
        location: &str,
        store: &StoreHandle,
        request: String,
        error: secretsync_model::ProviderError,
    ) -> EngineError {
        EngineError::Provider {
            object: self.object.to_string(),
            location: location.to_string(),
            store: store.context().store.to_string(),
            request,
            error,
        }
    }

    pub(super) fn value_error(&self, location: &str, message: String) -> EngineError {
        EngineError::Value {
            object: self.object.to_string(),
            location: location.to_string(),
            message,
        }
    }
}

/// Whether a rewrite list renders templates (which then run on the render pool).
pub(crate) fn has_transform(rewrites: &[secretsync_model::external_secret::Rewrite]) -> bool {
    rewrites.iter().any(|r| r.transform.is_some())
}

fn relocate(e: EngineError, location: &str) -> EngineError {
    match e {
        EngineError::Store {
            object,
            store,
            message,
            cause,
            ..
        } => EngineError::Store {
            object,
            location: location.to_string(),
            store,
            message,
            cause,
        },
        other => other,
    }
}

fn describe_find(r: &FindRequest) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &r.path {
        parts.push(format!("path {p:?}"));
    }
    if let Some(n) = &r.name_regexp {
        parts.push(format!("name {n:?}"));
    }
    if !r.tags.is_empty() {
        parts.push(format!("tags {:?}", r.tags.keys().collect::<Vec<_>>()));
    }
    format!("find ({})", parts.join(", "))
}
