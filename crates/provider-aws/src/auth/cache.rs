//! The store's credentials in the shared
//! [`CredentialCache`](secretsync_provider_support::CredentialCache): one load for all
//! concurrent callers (a failure too), renewed by the shared rule; credentials without an
//! expiry (static keys) are loaded again after `static_credentials_ttl`.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError, future};
use secretsync_model::ProviderError;
use secretsync_provider_support::{CredentialCache, Issued, Lifetime, SharedClock};

use super::chain::CredentialChain;

/// The lifetime of loaded credentials: their expiry, else a reload period.
fn lifetime(credentials: &Credentials, static_ttl: Duration) -> Lifetime {
    match credentials.expiry() {
        Some(at) => Lifetime::ExpiresAt(at),
        None => Lifetime::ReloadAfter(static_ttl),
    }
}

/// Cached credentials of one provider instance.
pub(crate) struct CachedCredentials {
    chain: CredentialChain,
    static_ttl: Duration,
    cache: CredentialCache<Credentials>,
}

impl CachedCredentials {
    /// Wraps a chain.
    pub(crate) fn new(chain: CredentialChain, static_ttl: Duration, clock: SharedClock) -> Self {
        CachedCredentials {
            chain,
            static_ttl,
            cache: CredentialCache::new(clock),
        }
    }

    /// Current credentials, loading them when missing or due for renewal.
    pub(crate) async fn get(&self) -> Result<Credentials, ProviderError> {
        let cached = self
            .cache
            .get(|_| async {
                let credentials = self.chain.load().await?;
                let lifetime = lifetime(&credentials, self.static_ttl);
                Ok(Issued {
                    value: credentials,
                    lifetime,
                })
            })
            .await?;
        Ok(cached.value.clone())
    }

    /// The chain (for validation calls).
    pub(crate) fn chain(&self) -> &CredentialChain {
        &self.chain
    }
}

/// The SDK-facing credentials provider: hands out the cached credentials.
#[derive(Clone)]
pub(crate) struct CachedCredentialsProvider(pub(crate) Arc<CachedCredentials>);

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
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn temporary_credentials_expire_static_ones_are_reloaded() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let temporary = Credentials::new("a", "s", Some("t".into()), Some(at), "test");
        assert_eq!(
            lifetime(&temporary, Duration::from_secs(60)),
            Lifetime::ExpiresAt(at)
        );
        let keys = Credentials::new("a", "s", None, None, "test");
        assert_eq!(
            lifetime(&keys, Duration::from_secs(60)),
            Lifetime::ReloadAfter(Duration::from_secs(60))
        );
    }
}
