//! Token lifecycle: one token per provider instance in the shared
//! [`CredentialCache`](secretsync_provider_support::CredentialCache) (one login however many
//! callers, a failed login shared with them, renewal by the shared rule), renewed with
//! `renew-self` while Vault allows, replaced by a new login otherwise — the replaced token is
//! revoked — and revoked on close.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use secretsync_model::ProviderError;
use secretsync_provider_support::{Cached, CredentialCache, Issued, Lifetime, SharedClock};
use zeroize::Zeroizing;

use crate::auth::{Login, parse_login};
use crate::http::{Call, Failure, VaultHttp};
use crate::provider::Inner;

/// Tokens closer than this to expiry are not renewed but replaced (at most 1/10 of the TTL).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// A Vault token and what is known about its lease.
pub(crate) struct VaultToken {
    /// The token.
    pub token: SecretString,
    /// Its accessor, if Vault sent one.
    pub accessor: Option<String>,
    /// The TTL granted at login (the renewal increment).
    ttl: Option<Duration>,
    renewable: bool,
    revocable: bool,
}

impl std::fmt::Debug for VaultToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultToken")
            .field("token", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

/// The cached token with its generation and lease times.
pub(crate) type Session = Cached<VaultToken>;

/// Shared token state of a provider instance.
pub(crate) struct Sessions {
    cache: CredentialCache<VaultToken>,
    closed: AtomicBool,
    logins: AtomicU64,
    renewals: AtomicU64,
}

impl Sessions {
    /// Empty state reading `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Sessions {
            cache: CredentialCache::new(clock),
            closed: AtomicBool::new(false),
            logins: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
        }
    }

    /// Number of login calls made so far.
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }

    /// Number of successful renewals so far.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// The accessor of the current token.
    pub fn accessor(&self) -> Option<String> {
        self.cache.current().and_then(|s| s.value.accessor.clone())
    }
}

fn lifetime(now: std::time::SystemTime, ttl: Option<Duration>) -> Lifetime {
    match ttl {
        Some(ttl) => Lifetime::ExpiresAt(now + ttl),
        None => Lifetime::Unlimited,
    }
}

impl Inner {
    /// The current token, logging in (once, whatever the number of callers) when needed.
    pub(crate) async fn session(&self) -> Result<Arc<Session>, ProviderError> {
        if self.sessions.closed.load(Ordering::Acquire) {
            return Err(self.closed_error());
        }
        self.sessions
            .cache
            .get(|previous| self.refresh(previous))
            .await
    }

    fn closed_error(&self) -> ProviderError {
        ProviderError::Unavailable(format!(
            "{}: this provider was closed (its store changed or the operator is stopping)",
            self.what
        ))
    }

    /// Renews `previous` if Vault allows, else logs in again and revokes `previous`.
    async fn refresh(
        &self,
        previous: Option<Arc<Session>>,
    ) -> Result<Issued<VaultToken>, ProviderError> {
        let http = self.http().await?;
        let clock = self.sessions.cache.clock();
        if let Some(current) = &previous
            && current.value.renewable
            && let Some(ttl) = current.value.ttl
            && current.is_valid_at(clock.now() + EXPIRY_MARGIN.min(ttl / 10))
        {
            match self.renew(&http, current).await {
                Ok(renewed) => {
                    self.sessions.renewals.fetch_add(1, Ordering::Relaxed);
                    return Ok(renewed);
                }
                Err(error) => {
                    tracing::debug!(store = %self.what, error = %error, "token renewal failed; logging in again");
                }
            }
        }
        let login = self
            .auth
            .login(
                &http,
                self.login_namespace(),
                self.credentials.as_ref(),
                &self.what,
            )
            .await?;
        if self.auth.logs_in() {
            self.sessions.logins.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(store = %self.what, method = %self.auth.describe(), "logged in to Vault");
        }
        let Login {
            token,
            accessor,
            ttl,
            renewable,
            revocable,
        } = login;
        let fresh = VaultToken {
            token,
            accessor,
            ttl,
            renewable,
            revocable,
        };
        // The token this login replaces is no longer used by anyone: revoke it so it does not
        // stay valid until its TTL runs out.
        if let Some(old) = previous {
            self.revoke_token(&http, &old.value).await;
        }
        if self.sessions.closed.load(Ordering::Acquire) {
            // Closed while logging in: the new token must not outlive the provider.
            self.revoke_token(&http, &fresh).await;
            return Err(self.closed_error());
        }
        Ok(Issued {
            value: fresh,
            lifetime: lifetime(clock.now(), ttl),
        })
    }

    /// Drops the token of `generation` (if it is still current) so the next call logs in.
    pub(crate) fn invalidate(&self, generation: u64) {
        self.sessions.cache.invalidate(generation);
    }

    async fn renew(
        &self,
        http: &VaultHttp,
        current: &Session,
    ) -> Result<Issued<VaultToken>, ProviderError> {
        let token = &current.value;
        let increment = token.ttl.map(|t| t.as_secs()).unwrap_or_default();
        let mut call = Call::new(Method::POST, "auth/token/renew-self");
        call.token = Some(&token.token);
        call.namespace = self.login_namespace();
        call.body = Some(Zeroizing::new(
            format!(r#"{{"increment":"{increment}s"}}"#).into_bytes(),
        ));
        let what = format!("{}: renewing token", self.what);
        let response = http.send(call).await.map_err(|f| auth_error(f, &what))?;
        let renewed = parse_login(&response.body, &what)?;
        // A renewal that grants less than the original TTL hit the max TTL: use the token
        // until the renewal rule says so, then log in again instead of renewing.
        let at_max_ttl = match (renewed.ttl, token.ttl) {
            (Some(new), Some(old)) => new < old,
            _ => false,
        };
        Ok(Issued {
            value: VaultToken {
                token: token.token.clone(),
                accessor: token.accessor.clone(),
                ttl: token.ttl,
                renewable: renewed.renewable && !at_max_ttl,
                revocable: token.revocable,
            },
            lifetime: lifetime(self.sessions.cache.clock().now(), renewed.ttl),
        })
    }

    /// Whether Vault still accepts `session`'s token (`lookup-self`). Distinguishes an
    /// invalid token from a policy denial after a 403.
    pub(crate) async fn token_is_valid(&self, session: &Session) -> Result<bool, ProviderError> {
        let http = self.http().await?;
        let mut call = Call::new(Method::GET, "auth/token/lookup-self");
        call.token = Some(&session.value.token);
        call.namespace = self.login_namespace();
        match http.send(call).await {
            Ok(_) => Ok(true),
            Err(Failure::Status { status, .. }) if matches!(status.as_u16(), 401 | 403) => {
                Ok(false)
            }
            Err(f) => Err(auth_error(f, &format!("{}: looking up token", self.what))),
        }
    }

    /// Revokes `token` if the provider created it; failures are logged, not returned.
    async fn revoke_token(&self, http: &VaultHttp, token: &VaultToken) {
        if !token.revocable {
            return;
        }
        let mut call = Call::new(Method::POST, "auth/token/revoke-self");
        call.token = Some(&token.token);
        call.namespace = self.login_namespace();
        if let Err(f) = http.send(call).await {
            let error = f.into_provider_error(&format!("{}: revoking token", self.what));
            tracing::warn!(store = %self.what, error = %error, "could not revoke Vault token");
        }
    }

    /// Closes the provider: no new logins, and the current token is revoked.
    pub(crate) async fn revoke(&self) {
        self.sessions.closed.store(true, Ordering::Release);
        let Some(session) = self.sessions.cache.take() else {
            return;
        };
        let Ok(http) = self.http().await else {
            return;
        };
        self.revoke_token(&http, &session.value).await;
    }
}

/// Token endpoints never answer "not found" for a secret: a 404 there is misconfiguration.
fn auth_error(failure: Failure, what: &str) -> ProviderError {
    match failure {
        Failure::Status { status, errors, .. } if status.as_u16() == 404 => {
            ProviderError::InvalidStoreConfig(format!("{what}: HTTP 404: {errors}"))
        }
        other => other.into_provider_error(what),
    }
}
