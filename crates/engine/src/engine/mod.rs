//! [`Engine`]: fetch and render one ExternalSecret.

mod fallback;
mod generate;
mod render;

pub use fallback::ANNOTATION as FALLBACK_STORE_ANNOTATION;
pub use generate::{GenerateError, StateOperation};

use std::sync::Arc;

use futures::future::join_all;
use secretsync_model::external_secret::{DeletionPolicy, ExternalSecret, SecretStoreRef};
use secretsync_model::provider::ProviderFactory;
use secretsync_model::value::SecretData;
use secretsync_template::ParseOptions;

use crate::env::SyncEnvironment;
use crate::error::EngineError;
use crate::fetch::{FetchConfig, FetchLayer, FetchStats};
use crate::generators::GeneratorRegistry;
use crate::outcome::{KeyOutcome, KeyState, SyncOutcome, SyncResult};
use crate::render_pool::RenderPool;
use crate::templates::TemplateCache;
use crate::validation::validate_spec;
use secretsync_template::Limits as TemplateLimits;

mod prefetch;
mod sync_ctx;

use sync_ctx::SyncCtx;
pub(crate) use sync_ctx::has_transform;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The shared fetch layer's settings.
    pub fetch: FetchConfig,
    /// Template delimiters (ESO's `--template-left-delimiter` / `--template-right-delimiter`).
    pub template_options: ParseOptions,
    /// Parsed templates kept in memory, least recently used evicted (default 4096).
    pub template_cache_capacity: usize,
    /// What the templates of one ExternalSecret may consume together (sizes, steps, cost
    /// units, deadline); see docs/templates.md.
    pub template_limits: TemplateLimits,
    /// Renders running at once, each on the blocking pool (default: one per core).
    pub render_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            fetch: FetchConfig::default(),
            template_options: ParseOptions::default(),
            template_cache_capacity: 4096,
            template_limits: TemplateLimits::default(),
            render_concurrency: std::thread::available_parallelism()
                .map_or(2, std::num::NonZero::get),
        }
    }
}

/// How long past its deadline the engine waits for a render before reporting it stuck (a
/// render can only overrun by one charged operation).
const RENDER_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The sync engine: one per process, shared by every ExternalSecret.
pub struct Engine {
    fetch: FetchLayer,
    generators: GeneratorRegistry,
    templates: Arc<TemplateCache>,
    renderer: RenderPool,
}

/// One read an entry needs, with the entry's location.
enum Entry<'a> {
    Data(usize),
    Extract(usize, &'a secretsync_model::external_secret::RemoteRef),
    Find(usize, &'a secretsync_model::external_secret::FindRef),
    Generate(usize, &'a secretsync_model::external_secret::GeneratorRef),
}

impl Entry<'_> {
    /// Where the entry is in the spec: `spec.data[i]` or `spec.dataFrom[i]`.
    fn location(&self) -> String {
        match self {
            Entry::Data(i) => format!("spec.data[{i}]"),
            Entry::Extract(i, _) | Entry::Find(i, _) | Entry::Generate(i, _) => {
                format!("spec.dataFrom[{i}]")
            }
        }
    }

    /// The entry's own `sourceRef.storeRef`, if any.
    fn store_ref<'s>(&self, es: &'s ExternalSecret) -> Option<&'s SecretStoreRef> {
        match self {
            Entry::Data(i) => es
                .spec
                .data
                .get(*i)?
                .source_ref
                .as_ref()?
                .store_ref
                .as_ref(),
            Entry::Extract(i, _) | Entry::Find(i, _) | Entry::Generate(i, _) => es
                .spec
                .data_from
                .get(*i)?
                .source_ref
                .as_ref()?
                .store_ref
                .as_ref(),
        }
    }
}

type EntryResult = Result<SecretData, EngineError>;

/// The provider read of a `dataFrom` entry.
enum DataFromRead<'a> {
    Extract(&'a secretsync_model::external_secret::RemoteRef),
    Find(&'a secretsync_model::external_secret::FindRef),
}

impl DataFromRead<'_> {
    /// The entry's field name, for locations.
    fn field(&self) -> &'static str {
        match self {
            DataFromRead::Extract(_) => "extract",
            DataFromRead::Find(_) => "find",
        }
    }
}

impl Engine {
    /// An engine building providers with `factory`.
    pub fn new(factory: Arc<dyn ProviderFactory>, config: EngineConfig) -> Self {
        let wait = config.template_limits.deadline.map(|d| d + RENDER_GRACE);
        Engine {
            fetch: FetchLayer::new(factory, config.fetch),
            generators: GeneratorRegistry::default(),
            templates: Arc::new(TemplateCache::with_limits(
                config.template_options,
                config.template_cache_capacity,
                config.template_limits,
            )),
            renderer: RenderPool::new(config.render_concurrency, wait),
        }
    }

    /// Reports every provider call and coalesced read to `observer` (metrics hooks).
    pub fn with_observer(mut self, observer: Arc<dyn crate::fetch::FetchObserver>) -> Self {
        self.fetch = self.fetch.with_observer(observer);
        self
    }

    /// Serves generator kinds beyond the built-in `Password`, `UUID` and `Fake` (or replaces
    /// one of them).
    pub fn with_generator(
        mut self,
        generator: Arc<dyn secretsync_model::generator::Generator>,
    ) -> Self {
        self.generators = self.generators.with(generator);
        self
    }

    /// [`Engine::with_generator`] for each of `generators`.
    pub fn with_generators(
        self,
        generators: impl IntoIterator<Item = Arc<dyn secretsync_model::generator::Generator>>,
    ) -> Self {
        generators.into_iter().fold(self, Engine::with_generator)
    }

    /// The shared fetch layer (counters, provider cache).
    pub fn fetch_layer(&self) -> &FetchLayer {
        &self.fetch
    }

    /// Fetch counters for metrics.
    pub fn fetch_stats(&self) -> FetchStats {
        self.fetch.stats()
    }

    /// Closes every cached provider (call on shutdown).
    pub async fn close(&self) {
        self.fetch.close_all().await;
    }

    /// Fetches and renders one ExternalSecret. Never panics on bad input; every problem ends
    /// up in the outcome's `result` or `keys`.
    pub async fn sync(&self, es: &ExternalSecret, env: &dyn SyncEnvironment) -> SyncOutcome {
        self.sync_reading(es, env, None).await
    }

    /// [`Engine::sync`] served, besides the coalescing window, by any provider read that
    /// started at or after `since` (up to [`FetchConfig::refresh_reuse`] ago). For a periodic
    /// refresh `since` is when it fell due ([`crate::refresh::periodic_due_at`]), so the
    /// ExternalSecrets of one aligned refresh group share one provider read per key and
    /// interval however long their wave takes; for a first sync it is when the object's
    /// current spec was first seen, so objects sharing keys share reads however long a mass
    /// first sync takes. Nothing is served staler than a read made at `since`.
    pub async fn sync_fresh_since(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        since: std::time::SystemTime,
    ) -> SyncOutcome {
        let behind = std::time::SystemTime::now()
            .duration_since(since)
            .unwrap_or_default();
        let now = tokio::time::Instant::now();
        // An instant before the process's clock began is served by the window only.
        self.sync_reading(es, env, now.checked_sub(behind)).await
    }

    async fn sync_reading(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        fresh_since: Option<tokio::time::Instant>,
    ) -> SyncOutcome {
        let namespace = es
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = es.metadata.name.clone().unwrap_or_default();
        let object = format!("{namespace}/{name}");
        let reads_before = self.fetch.stats().reads_requested;
        let problems = validate_spec(&es.spec);
        if !problems.is_empty() {
            return SyncOutcome {
                result: Err(EngineError::InvalidSpec { object, problems }),
                keys: Vec::new(),
                reads: 0,
                fallbacks: Vec::new(),
                generated: Vec::new(),
            };
        }
        let mut ctx = SyncCtx::new(self, env, &namespace, &object, None);
        ctx.fresh_since = fresh_since;
        let fallback = match fallback::fallback_ref(es) {
            Ok(f) => f,
            Err(message) => {
                return SyncOutcome {
                    result: Err(EngineError::Value {
                        object,
                        location: "metadata.annotations".into(),
                        message,
                    }),
                    keys: Vec::new(),
                    reads: 0,
                    fallbacks: Vec::new(),
                    generated: Vec::new(),
                };
            }
        };
        let spec = &es.spec;
        let mut entries = Vec::new();
        for (i, df) in spec.data_from.iter().enumerate() {
            if let Some(extract) = &df.extract {
                entries.push(Entry::Extract(i, extract));
            } else if let Some(find) = &df.find {
                entries.push(Entry::Find(i, find));
            } else if let Some(generator) = df
                .source_ref
                .as_ref()
                .and_then(|s| s.generator_ref.as_ref())
            {
                entries.push(Entry::Generate(i, generator));
            }
        }
        for i in 0..spec.data.len() {
            entries.push(Entry::Data(i));
        }
        let mut results: Vec<EntryResult> =
            join_all(entries.iter().map(|e| ctx.run_entry(es, e))).await;
        let served_by_fallback =
            fallback::serve_unavailable(&ctx, es, fallback.as_ref(), &entries, &mut results).await;
        let mut fallbacks = Vec::new();

        let deletion = spec.target.deletion_policy;
        let mut keys = Vec::with_capacity(results.len());
        let mut data = SecretData::new();
        let mut first_error: Option<EngineError> = None;
        for ((entry, result), served) in entries.iter().zip(results).zip(served_by_fallback) {
            let location = entry.location();
            let key = match entry {
                Entry::Data(i) => spec.data[*i].secret_key.clone(),
                Entry::Extract(i, _) | Entry::Find(i, _) | Entry::Generate(i, _) => {
                    format!("dataFrom[{i}]")
                }
            };
            match result {
                Ok(values) => {
                    fallbacks.extend(served);
                    data.extend(values);
                    keys.push(KeyOutcome {
                        key,
                        location,
                        state: KeyState::Synced,
                    });
                }
                Err(e) if e.is_not_found() => {
                    keys.push(KeyOutcome {
                        key,
                        location,
                        state: KeyState::Missing {
                            reason: e.to_string(),
                        },
                    });
                    if deletion == DeletionPolicy::Retain && first_error.is_none() {
                        first_error = Some(e);
                    }
                }
                Err(e) => {
                    keys.push(KeyOutcome {
                        key,
                        location,
                        state: KeyState::Failed {
                            reason: e.to_string(),
                        },
                    });
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        let reads = self
            .fetch
            .stats()
            .reads_requested
            .saturating_sub(reads_before);
        if let Some(e) = first_error {
            return SyncOutcome {
                result: Err(e),
                keys,
                reads,
                fallbacks: fallbacks.clone(),
                generated: ctx.take_generated(),
            };
        }
        let generated = ctx.take_generated();
        let target_name = es.target_name();
        let has_sources = !spec.data.is_empty() || !spec.data_from.is_empty();
        if data.is_empty() && has_sources {
            match deletion {
                DeletionPolicy::Delete => {
                    return SyncOutcome {
                        result: Ok(SyncResult::Delete {
                            name: target_name,
                            namespace,
                        }),
                        keys,
                        reads,
                        fallbacks: fallbacks.clone(),
                        generated,
                    };
                }
                DeletionPolicy::Retain => {
                    return SyncOutcome {
                        result: Ok(SyncResult::Retain {
                            name: target_name,
                            namespace,
                        }),
                        keys,
                        reads,
                        fallbacks: fallbacks.clone(),
                        generated,
                    };
                }
                DeletionPolicy::Merge => {}
            }
        }
        let result = ctx
            .render(es, target_name, data)
            .await
            .map(SyncResult::Write);
        SyncOutcome {
            result,
            keys,
            reads,
            fallbacks,
            generated,
        }
    }
}
