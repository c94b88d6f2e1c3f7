//! The provider trait every backend implements, and the request types it takes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::external_secret::{FindRef, MetadataPolicy, RemoteRef, StoreKind};
use crate::secret_store::StoreCapabilities;
use crate::value::{RemoteSecret, SecretData};

/// What to read: the part of a `remoteRef` that decides the provider call.
///
/// `property`, decoding and conversion are applied by the engine on the fetched value,
/// so several properties of one remote secret cost one provider call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FetchRequest {
    /// Provider key, path or name.
    pub key: String,
    /// Provider version, if requested.
    pub version: Option<String>,
    /// Read the value (`false`) or the metadata/tags (`true`).
    pub metadata: bool,
}

impl FetchRequest {
    /// The request for a `remoteRef`.
    pub fn from_remote_ref(r: &RemoteRef) -> Self {
        FetchRequest {
            key: r.key.clone(),
            version: r.version.clone().filter(|v| !v.is_empty()),
            metadata: r.metadata_policy == MetadataPolicy::Fetch,
        }
    }

    /// A request for the latest value of `key`.
    pub fn latest(key: impl Into<String>) -> Self {
        FetchRequest {
            key: key.into(),
            version: None,
            metadata: false,
        }
    }
}

impl std::fmt::Display for FetchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {:?}", self.key)?;
        if let Some(v) = &self.version {
            write!(f, " version {v:?}")?;
        }
        if self.metadata {
            f.write_str(" (metadata)")?;
        }
        Ok(())
    }
}

/// A search for many remote secrets (`dataFrom[].find`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FindRequest {
    /// Root path.
    pub path: Option<String>,
    /// Name regular expression.
    pub name_regexp: Option<String>,
    /// Tags that must all match exactly.
    pub tags: BTreeMap<String, String>,
}

impl FindRequest {
    /// The request for a `find` block.
    pub fn from_find(f: &FindRef) -> Self {
        FindRequest {
            path: f.path.clone().filter(|p| !p.is_empty()),
            name_regexp: f
                .name
                .as_ref()
                .and_then(|n| n.regexp.clone())
                .filter(|r| !r.is_empty()),
            tags: f.tags.clone(),
        }
    }
}

/// What a provider can do beyond plain reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProviderCapabilities {
    /// ESO's store capability.
    pub store: StoreCapabilities,
    /// `find` is implemented.
    pub find: bool,
    /// Versioned reads are implemented.
    pub versions: bool,
    /// `metadataPolicy: Fetch` is implemented.
    pub metadata: bool,
    /// `fetch_many` batches requests into fewer provider calls.
    pub batch: bool,
}

/// How the engine retries a provider's failed reads. Providers never sleep: they report
/// `Throttled` / `Unavailable` and the engine waits (without holding a concurrency slot) and
/// calls again. Each provider maps its store's `retrySettings` onto this with its own defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first call (0: the first error is final).
    pub max_retries: u32,
    /// Wait before each retry, unless the provider asked for a longer one (`Retry-After`).
    pub backoff: Backoff,
}

/// Waits between retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// The same wait before every retry (ESO's `retrySettings.retryInterval`).
    Fixed(Duration),
    /// `initial`, doubling per retry, capped at `max`.
    Exponential {
        /// Wait before the first retry.
        initial: Duration,
        /// Longest wait.
        max: Duration,
    },
}

impl RetryPolicy {
    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        backoff: Backoff::Fixed(Duration::ZERO),
    };

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        match self.backoff {
            Backoff::Fixed(d) => d,
            Backoff::Exponential { initial, max } => {
                let factor = 1u32
                    .checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                initial.saturating_mul(factor).min(max)
            }
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

/// Result of validating a store against its provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    /// The store works.
    Ready,
    /// Validation is not possible (e.g. credentials depend on the reading namespace).
    Unknown(String),
}

/// Identity of a store as seen by the engine, used for caching and coalescing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId {
    /// SecretStore or ClusterSecretStore.
    pub kind: StoreKind,
    /// Namespace for SecretStores; `None` for ClusterSecretStores.
    pub namespace: Option<String>,
    /// Store name.
    pub name: String,
}

impl std::fmt::Display for StoreId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A secret backend. One instance serves one store (and one credential identity), is shared by
/// every ExternalSecret that uses the store, and keeps sessions (tokens, credentials) alive
/// between calls.
#[async_trait]
pub trait SecretProvider: Send + Sync {
    /// What this provider supports.
    fn capabilities(&self) -> ProviderCapabilities;

    /// Reads one remote value.
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError>;

    /// Reads many values; providers with batch APIs override this. Results are in request order.
    async fn fetch_many(
        &self,
        requests: &[FetchRequest],
    ) -> Vec<Result<RemoteSecret, ProviderError>> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            out.push(self.fetch(r).await);
        }
        out
    }

    /// Finds remote secrets; returns remote name → value.
    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        let _ = request;
        Err(ProviderError::Unsupported(
            "find is not supported by this provider".into(),
        ))
    }

    /// The keys of `dataFrom[].extract` with `metadataPolicy: Fetch`, for providers whose ESO
    /// implementation names them in its own way (Azure: `<secret>_<tag>`). `metadata` is what
    /// [`fetch`](Self::fetch) returned for `key` with `metadata: true`. `None` (the default):
    /// the engine extracts the members of that JSON object as for any other value.
    fn extract_metadata(
        &self,
        key: &str,
        property: Option<&str>,
        metadata: &RemoteSecret,
    ) -> Option<Result<SecretData, ProviderError>> {
        let _ = (key, property, metadata);
        None
    }

    /// How the engine retries this provider's transient failures (its store's
    /// `retrySettings`, mapped by the provider). Default: no retries.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::NONE
    }

    /// The write half of this provider (PushSecrets), when it has one. Default: read only.
    fn writer(&self) -> Option<&dyn crate::writer::SecretWriter> {
        None
    }

    /// Checks that the store works (reachability, authentication, access to the configured path).
    async fn validate(&self) -> Result<Validation, ProviderError>;

    /// Releases sessions (e.g. revokes Vault tokens). Called when the provider is replaced
    /// (store spec changed) and on shutdown; a closed provider must not open new sessions.
    async fn close(&self) {}
}

/// A shared provider handle.
pub type SharedProvider = Arc<dyn SecretProvider>;

/// Where a provider instance is used: the store, and the namespace of the ExternalSecret
/// reading through it (ClusterSecretStores resolve namespace-less credential references there).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreContext {
    /// The store.
    pub store: StoreId,
    /// Namespace of the reading ExternalSecret, when there is one.
    pub reader_namespace: Option<String>,
}

/// Builds providers from store specs. Binaries compose one from the provider crates they link,
/// so the engine and the `kube` crate stay independent of any particular backend.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// Builds the provider a store configures. Must not block on network I/O for long:
    /// sessions (logins, STS calls) are established lazily on first use and then reused.
    async fn build(
        &self,
        context: &StoreContext,
        spec: &crate::secret_store::SecretStoreSpec,
        credentials: Arc<dyn crate::credentials::CredentialResolver>,
    ) -> Result<SharedProvider, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays() {
        let fixed = RetryPolicy {
            max_retries: 3,
            backoff: Backoff::Fixed(Duration::from_secs(2)),
        };
        assert_eq!(fixed.delay(1), Duration::from_secs(2));
        assert_eq!(fixed.delay(3), Duration::from_secs(2));
        let exp = RetryPolicy {
            max_retries: 10,
            backoff: Backoff::Exponential {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(3),
            },
        };
        let delays: Vec<u128> = (1..=5).map(|r| exp.delay(r).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(exp.delay(100), Duration::from_secs(3));
        assert_eq!(RetryPolicy::default(), RetryPolicy::NONE);
    }
}
