//! Access tokens for Key Vault: where they come from ([`source`]) and how they are cached
//! ([`TokenCache`]: per provider instance, refreshed shortly before expiry, single-flight).

pub(crate) mod certificate;
pub(crate) mod entra;
pub(crate) mod managed_identity;
pub(crate) mod source;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use secretsync_model::ProviderError;

use source::TokenSource;

/// The longest a token is refreshed before it expires.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A token as an issuer returned it.
pub(crate) struct IssuedToken {
    /// The bearer token.
    pub(crate) secret: SecretString,
    /// Lifetime from the moment it was received.
    pub(crate) expires_in: Duration,
}

/// A cached token.
pub(crate) struct AccessToken {
    /// The bearer token.
    pub(crate) secret: SecretString,
    /// Identifies this token for [`TokenCache::invalidate`].
    pub(crate) generation: u64,
    refresh_at: Instant,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// When to refresh a token of this lifetime: a fifth of its lifetime before expiry, at most
/// [`MAX_REFRESH_MARGIN`] (so one-hour tokens are renewed five minutes early).
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(MAX_REFRESH_MARGIN)
}

/// Caches one token per provider instance. Concurrent callers that find no fresh token wait
/// for a single acquisition instead of each asking the issuer.
pub(crate) struct TokenCache {
    source: TokenSource,
    current: RwLock<Option<Arc<AccessToken>>>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
}

impl TokenCache {
    /// A cache in front of `source`.
    pub(crate) fn new(source: TokenSource) -> Self {
        TokenCache {
            source,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }

    /// The token source (for validation and descriptions).
    pub(crate) fn source(&self) -> &TokenSource {
        &self.source
    }

    fn fresh(&self) -> Option<Arc<AccessToken>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .cloned()
    }

    /// A fresh token, acquiring one if needed (once, however many callers wait).
    pub(crate) async fn token(&self) -> Result<Arc<AccessToken>, ProviderError> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let received = Instant::now();
        let issued = self.source.acquire().await?;
        let lifetime = issued.expires_in;
        let token = Arc::new(AccessToken {
            secret: issued.secret,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
            refresh_at: received + lifetime.saturating_sub(refresh_margin(lifetime)),
        });
        tracing::debug!(
            source = %self.source.describe(),
            lifetime_secs = lifetime.as_secs(),
            "acquired a Key Vault access token"
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(token)
    }

    /// Drops the cached token if it is still `generation` (the vault rejected it).
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(|t| t.generation == generation) {
            *guard = None;
        }
    }
}

/// Parses a token lifetime given as a JSON number or a numeric string.
pub(crate) fn seconds_field(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The first sentence of an issuer's error description (AADSTS code and summary), bounded.
pub(crate) fn short_description(text: &str) -> String {
    let first = text.split(". ").next().unwrap_or(text).trim();
    first.chars().take(240).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_a_fifth_capped_at_five_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(2)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn lifetimes_parse_from_numbers_and_strings() {
        assert_eq!(seconds_field(Some(&serde_json::json!(3599))), Some(3599));
        assert_eq!(
            seconds_field(Some(&serde_json::json!("86399"))),
            Some(86399)
        );
        assert_eq!(seconds_field(Some(&serde_json::json!("soon"))), None);
        assert_eq!(seconds_field(None), None);
    }

    #[test]
    fn descriptions_are_cut_to_the_first_sentence() {
        let d = "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is right. Trace ID: x";
        assert_eq!(
            short_description(d),
            "AADSTS7000215: Invalid client secret provided"
        );
    }
}
