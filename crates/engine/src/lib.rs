//! The sync engine: given an ExternalSecret and providers, decides what the target Secret must
//! contain, and when to look again. It has no Kubernetes client: stores, credentials and
//! template sources come from a [`SyncEnvironment`] the host implements.
//!
//! - [`Engine::sync`]: fetch (through the shared, coalescing [`fetch::FetchLayer`]) and render
//!   one ExternalSecret into a [`SyncOutcome`].
//! - [`pipeline`], [`values`], [`rewrite`]: ESO's value semantics as pure functions.
//! - [`refresh`]: ESO's `shouldRefresh`/`isSecretValid` decisions, requeue delay, error backoff
//!   and hashes (`syncedResourceVersion`, `data-hash`, `created-by`) over plain inputs.
//! - [`stable_hash`]: a hash that is the same in every process (refresh phases, caches).
//! - [`sync_windows`]: `spec.syncWindows` (cron windows gating periodic refreshes).
//!
//! See `docs/engine.md` for the semantics and the deviations from ESO.

mod engine;
pub mod env;
pub mod error;
pub mod fetch;
pub mod lru;
pub mod outcome;
pub mod pipeline;
pub mod refresh;
pub mod render_pool;
pub mod rewrite;
pub mod stable_hash;
pub mod sync_windows;
pub mod templates;
pub mod token_bucket;
pub mod validation;
pub mod values;

pub use engine::{Engine, EngineConfig};
pub use env::{ResolvedStore, SyncEnvironment, TemplateSourceKind};
pub use error::{EngineError, EnvironmentError};
pub use fetch::{FetchConfig, FetchObserver, FetchStats, RateLimit};
pub use outcome::{DesiredSecret, KeyOutcome, KeyState, SyncOutcome, SyncResult};
pub use render_pool::{RenderPool, RenderPoolError};
pub use secretsync_template::Limits as TemplateLimits;
pub use token_bucket::TokenBucket;
