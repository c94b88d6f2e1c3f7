//! Plumbing every secretsync provider shares, so that each thing is done one way:
//!
//! - [`clock`]: the wall clock providers read, injectable ([`ManualClock`]) so tests never sleep;
//! - [`single_flight`]: identical concurrent requests made once, every caller gets the result;
//! - [`credential_cache`]: one token / credential set per provider instance, loaded once for all
//!   concurrent callers (a failure too), renewed by one rule;
//! - [`retry_after`]: the `Retry-After` header (delta-seconds and HTTP-date);
//! - [`retry`]: ESO's `retrySettings` mapped onto the engine's [`RetryPolicy`](secretsync_model::RetryPolicy);
//! - [`body`]: response bodies read with a size cap into zeroizing buffers;
//! - [`limits`]: caps on response size, `find` results, pages and LIST depth;
//! - [`identity`]: the rule that the operator's own identity serves ClusterSecretStores only.
//!
//! Providers never sleep: waiting and retrying is the engine's job (see `docs/engine.md`).

pub mod body;
pub mod clock;
pub mod credential_cache;
pub mod identity;
pub mod limits;
pub mod retry;
pub mod retry_after;
pub mod single_flight;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use credential_cache::{Cached, CredentialCache, Issued, Lifetime};
pub use identity::AmbientIdentity;
pub use limits::ReadLimits;
pub use single_flight::SingleFlight;
