//! Access tokens for Key Vault: where they come from ([`source`]) and how they are cached
//! ([`TokenCache`]: the shared credential cache — one acquisition for all concurrent callers, a
//! failure shared with them, renewal by the shared rule).

pub(crate) mod certificate;
pub(crate) mod entra;
pub(crate) mod managed_identity;
pub(crate) mod source;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use secretsync_model::ProviderError;
use secretsync_provider_support::{Cached, CredentialCache, Issued, Lifetime, SharedClock};

use source::TokenSource;

/// A token as an issuer returned it.
pub(crate) struct IssuedToken {
    /// The bearer token.
    pub(crate) secret: SecretString,
    /// Lifetime from the moment it was received.
    pub(crate) expires_in: Duration,
}

/// A cached bearer token with its generation.
pub(crate) type AccessToken = Cached<SecretString>;

/// One token per provider instance.
pub(crate) struct TokenCache {
    source: TokenSource,
    cache: CredentialCache<SecretString>,
}

impl TokenCache {
    /// A cache in front of `source`.
    pub(crate) fn new(source: TokenSource, clock: SharedClock) -> Self {
        TokenCache {
            source,
            cache: CredentialCache::new(clock),
        }
    }

    /// The token source (for validation and descriptions).
    pub(crate) fn source(&self) -> &TokenSource {
        &self.source
    }

    /// A fresh token, acquiring one if needed (once, however many callers wait).
    pub(crate) async fn token(&self) -> Result<Arc<AccessToken>, ProviderError> {
        self.cache
            .get(|_| async {
                let issued = self.source.acquire().await?;
                tracing::debug!(
                    source = %self.source.describe(),
                    lifetime_secs = issued.expires_in.as_secs(),
                    "acquired a Key Vault access token"
                );
                Ok(Issued {
                    value: issued.secret,
                    lifetime: Lifetime::ExpiresAt(self.cache.clock().now() + issued.expires_in),
                })
            })
            .await
    }

    /// Drops the cached token if it is still `generation` (the vault rejected it).
    pub(crate) fn invalidate(&self, generation: u64) {
        self.cache.invalidate(generation);
    }

    /// Tokens acquired so far.
    pub(crate) fn acquisitions(&self) -> u64 {
        self.cache.loads()
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
