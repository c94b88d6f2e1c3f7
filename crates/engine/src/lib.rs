//! The sync engine: given an ExternalSecret and providers, decides what the target Secret must
//! contain, and when to look again. It has no Kubernetes client: stores, credentials and
//! template sources come from a [`SyncEnvironment`] the host implements.
//!
//! - [`Engine::sync`]: fetch (through the shared, coalescing [`fetch::FetchLayer`]) and render
//!   one ExternalSecret into a [`SyncOutcome`].
//! - [`pipeline`], [`values`], [`rewrite`]: ESO's value semantics as pure functions.
//! - [`push`]: PushSecret decisions (values to push, `updatePolicy`, what `deletionPolicy` deletes).
//! - [`refresh`]: ESO's `shouldRefresh`/`isSecretValid` decisions, requeue delay, error backoff
//!   and hashes (`syncedResourceVersion`, `data-hash`, `created-by`) over plain inputs.
//! - [`stable_hash`]: a hash that is the same in every process (refresh phases, caches).
//! - [`sync_windows`]: `spec.syncWindows` (cron windows gating periodic refreshes).
//! - [`generators`]: `Password`, `UUID` and `Fake`, and the registry hosts extend.
//! - [`MemoryEnvironment`]: a host over stores, Secrets and ConfigMaps given as values.
//!
//! See `docs/engine.md` for the semantics and the deviations from ESO.
//!
//! Embedding takes a provider factory (`secretsync_providers::AllProviders`, built with only
//! the backends you enable), a [`MemoryEnvironment`] holding the stores and credentials, and
//! one [`Engine::sync`] call per ExternalSecret:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use secretsync_engine::{Engine, EngineConfig, MemoryEnvironment, SyncResult};
//! use secretsync_providers::AllProviders;
//!
//! let store = serde_json::from_value(serde_json::json!({"provider": {"fake": {"data": [
//!     {"key": "db", "value": r#"{"user": "admin", "password": "s3cr3t"}"#}
//! ]}}})).unwrap();
//! let env = MemoryEnvironment::new().with_secret_store("apps", "fake", store);
//! let es = serde_yaml::from_str(r#"
//! metadata: {name: app, namespace: apps}
//! spec:
//!   secretStoreRef: {name: fake}
//!   dataFrom: [{extract: {key: db}}]
//! "#).unwrap();
//! let engine = Engine::new(Arc::new(AllProviders::default()), EngineConfig::default());
//! match engine.sync(&es, &env).await.result {
//!     Ok(SyncResult::Write(secret)) => {
//!         assert_eq!(secret.data["user"].expose_str(), Some("admin"));
//!         assert_eq!(secret.data.keys().collect::<Vec<_>>(), ["password", "user"]);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # });
//! ```

mod engine;
pub mod env;
pub mod error;
pub mod fetch;
pub mod generators;
pub mod lru;
pub mod memory;
pub mod outcome;
pub mod pipeline;
pub mod push;
pub mod refresh;
pub mod render_pool;
pub mod rewrite;
pub mod stable_hash;
pub mod sync_windows;
mod template_from;
pub mod templates;
pub mod token_bucket;
pub mod validation;
pub mod values;

pub use engine::{Engine, EngineConfig, FALLBACK_STORE_ANNOTATION, GenerateError, StateOperation};
pub use env::{ResolvedStore, SyncEnvironment, TemplateSourceKind};
pub use error::{EngineError, EnvironmentError, StoreFailure};
pub use fetch::{FetchConfig, FetchObserver, FetchStats, RateLimit};
pub use memory::MemoryEnvironment;
pub use outcome::{DesiredSecret, GeneratedState, KeyOutcome, KeyState, SyncOutcome, SyncResult};
pub use render_pool::{RenderPool, RenderPoolError};
pub use secretsync_template::Limits as TemplateLimits;
pub use token_bucket::TokenBucket;

/// The example of `docs/engine.md`, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/engine.md")]
pub struct EngineGuideExample;
