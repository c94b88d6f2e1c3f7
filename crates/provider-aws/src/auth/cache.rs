//! Credentials cached per provider instance, renewed shortly before they expire, with one
//! load in flight at a time (concurrent callers share its result, errors included).

use std::sync::Mutex as SyncMutex;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError, future};
use secretsync_model::ProviderError;
use std::sync::Arc;

use super::chain::CredentialChain;

/// When credentials expiring at `expiry` (obtained at `now`) are renewed: `margin` before
/// expiry, but no later than 3/4 into their lifetime so a margin longer than the lifetime does
/// not force a load per call; credentials without expiry are kept for `static_ttl`.
fn renew_at(
    expiry: Option<SystemTime>,
    now: SystemTime,
    margin: Duration,
    static_ttl: Duration,
) -> SystemTime {
    match expiry {
        Some(expiry) => {
            let lifetime = expiry.duration_since(now).unwrap_or_default();
            let margin = margin.min(lifetime / 4);
            expiry.checked_sub(margin).unwrap_or(now)
        }
        None => now + static_ttl,
    }
}

/// When cached credentials stop being used.
#[derive(Clone, Debug)]
struct Cached {
    credentials: Credentials,
    /// Renew at or after this time.
    renew_at: SystemTime,
}

#[derive(Default)]
struct LoadState {
    /// The last failed load and when it finished; callers that were waiting while it ran
    /// get the same error instead of starting another load.
    last_failure: Option<(Instant, ProviderError)>,
}

/// Caches the credentials a [`CredentialChain`] produces.
pub(crate) struct CredentialCache {
    chain: CredentialChain,
    refresh_margin: Duration,
    static_ttl: Duration,
    current: SyncMutex<Option<Cached>>,
    loading: tokio::sync::Mutex<LoadState>,
}

impl CredentialCache {
    /// Wraps a chain.
    pub(crate) fn new(
        chain: CredentialChain,
        refresh_margin: Duration,
        static_ttl: Duration,
    ) -> Self {
        CredentialCache {
            chain,
            refresh_margin,
            static_ttl,
            current: SyncMutex::new(None),
            loading: tokio::sync::Mutex::new(LoadState::default()),
        }
    }

    fn fresh(&self) -> Option<Credentials> {
        let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|c| SystemTime::now() < c.renew_at)
            .map(|c| c.credentials.clone())
    }

    fn renew_time(&self, credentials: &Credentials) -> SystemTime {
        renew_at(
            credentials.expiry(),
            SystemTime::now(),
            self.refresh_margin,
            self.static_ttl,
        )
    }

    /// Current credentials, loading them when missing or about to expire.
    pub(crate) async fn get(&self) -> Result<Credentials, ProviderError> {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let waiting_since = Instant::now();
        let mut state = self.loading.lock().await;
        // Another caller may have loaded (or failed to load) while we waited.
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        if let Some((finished, err)) = &state.last_failure
            && *finished >= waiting_since
        {
            return Err(err.clone());
        }
        match self.chain.load().await {
            Ok(credentials) => {
                let renew_at = self.renew_time(&credentials);
                *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
                    credentials: credentials.clone(),
                    renew_at,
                });
                state.last_failure = None;
                Ok(credentials)
            }
            Err(err) => {
                state.last_failure = Some((Instant::now(), err.clone()));
                Err(err)
            }
        }
    }

    /// The chain (for validation calls).
    pub(crate) fn chain(&self) -> &CredentialChain {
        &self.chain
    }
}

/// The SDK-facing credentials provider: hands out the cached credentials.
#[derive(Clone)]
pub(crate) struct CachedCredentialsProvider(pub(crate) Arc<CredentialCache>);

impl std::fmt::Debug for CachedCredentialsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedCredentialsProvider")
    }
}

impl ProvideCredentials for CachedCredentialsProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let result: provider::Result =
                self.0.get().await.map_err(CredentialsError::provider_error);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::renew_at;
    use std::time::{Duration, SystemTime};

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn renewal_times() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // One-hour STS credentials: renewed five minutes before expiry.
        assert_eq!(
            renew_at(Some(now + 60 * MIN), now, 5 * MIN, 60 * MIN),
            now + 55 * MIN
        );
        // Fifteen-minute credentials: 3/4 of the lifetime at the latest.
        assert_eq!(
            renew_at(Some(now + 8 * MIN), now, 5 * MIN, 60 * MIN),
            now + 6 * MIN
        );
        // Already expired: renew now.
        assert_eq!(renew_at(Some(now - MIN), now, 5 * MIN, 60 * MIN), now - MIN);
        // Static keys: kept for the static TTL.
        assert_eq!(renew_at(None, now, 5 * MIN, 60 * MIN), now + 60 * MIN);
    }
}
