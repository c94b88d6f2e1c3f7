//! Token lifecycle: one token per provider instance, obtained by a single-flight login,
//! renewed at 2/3 of its TTL, replaced after expiry or rejection, revoked on close.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::SecretString;
use secretsync_model::ProviderError;
use zeroize::Zeroizing;

use crate::auth::{Login, parse_login};
use crate::http::{Call, Failure, VaultHttp};
use crate::provider::Inner;

/// Tokens closer than this to expiry are not renewed but replaced (at most 1/10 of the TTL).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// The token in use and what is known about its lease.
pub(crate) struct Session {
    /// The token.
    pub token: SecretString,
    /// Increases with every new token; lets callers invalidate only the token they used.
    pub generation: u64,
    ttl: Option<Duration>,
    renew_at: Option<Instant>,
    expires_at: Option<Instant>,
    renewable: bool,
    revocable: bool,
}

impl Session {
    fn new(login: Login, generation: u64) -> Self {
        let now = Instant::now();
        Session {
            token: login.token,
            generation,
            ttl: login.ttl,
            renew_at: login.ttl.map(|ttl| now + ttl * 2 / 3),
            expires_at: login.ttl.map(|ttl| now + ttl),
            renewable: login.renewable,
            revocable: login.revocable,
        }
    }

    fn is_fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"[REDACTED]")
            .field("generation", &self.generation)
            .field("ttl", &self.ttl)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

/// Shared token state of a provider instance.
#[derive(Default)]
pub(crate) struct Sessions {
    current: Mutex<Option<Arc<Session>>>,
    gate: tokio::sync::Mutex<()>,
    /// The last failed refresh, shared with callers that waited for it (single flight for
    /// failures too: during an outage N waiting callers cost one login attempt, not N).
    last_failure: Mutex<Option<(Instant, ProviderError)>>,
    generation: AtomicU64,
    logins: AtomicU64,
    renewals: AtomicU64,
}

impl Sessions {
    fn current(&self) -> Option<Arc<Session>> {
        self.current.lock().ok().and_then(|g| g.clone())
    }

    fn fresh(&self) -> Option<Arc<Session>> {
        self.current().filter(|s| s.is_fresh())
    }

    fn store(&self, session: Option<Arc<Session>>) {
        if let Ok(mut guard) = self.current.lock() {
            *guard = session;
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
}

impl Inner {
    /// The current token, logging in (once, whatever the number of callers) when needed.
    pub(crate) async fn session(&self) -> Result<Arc<Session>, ProviderError> {
        if let Some(s) = self.sessions.fresh() {
            return Ok(s);
        }
        let arrived = Instant::now();
        let _gate = self.sessions.gate.lock().await;
        if let Some(s) = self.sessions.fresh() {
            return Ok(s);
        }
        if let Some((at, error)) = self
            .sessions
            .last_failure
            .lock()
            .ok()
            .and_then(|g| g.clone())
            && at >= arrived
        {
            return Err(error);
        }
        let result = self.refresh().await;
        if let Err(error) = &result
            && let Ok(mut guard) = self.sessions.last_failure.lock()
        {
            *guard = Some((Instant::now(), error.clone()));
        }
        result
    }

    /// Renews or replaces the token; called under the gate.
    async fn refresh(&self) -> Result<Arc<Session>, ProviderError> {
        let http = self.http().await?;
        if let Some(current) = self.sessions.current()
            && current.renewable
            && let (Some(expires_at), Some(ttl)) = (current.expires_at, current.ttl)
            && Instant::now() + EXPIRY_MARGIN.min(ttl / 10) < expires_at
        {
            match self.renew(&http, &current).await {
                Ok(session) => {
                    self.sessions.renewals.fetch_add(1, Ordering::Relaxed);
                    let session = Arc::new(session);
                    self.sessions.store(Some(session.clone()));
                    return Ok(session);
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
        let generation = self.sessions.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let session = Arc::new(Session::new(login, generation));
        self.sessions.store(Some(session.clone()));
        Ok(session)
    }

    /// Drops the token of `generation` (if it is still current) so the next call logs in.
    pub(crate) fn invalidate(&self, generation: u64) {
        if let Ok(mut guard) = self.sessions.current.lock()
            && guard.as_ref().is_some_and(|s| s.generation == generation)
        {
            *guard = None;
        }
    }

    async fn renew(&self, http: &VaultHttp, current: &Session) -> Result<Session, ProviderError> {
        let increment = current.ttl.map(|t| t.as_secs()).unwrap_or_default();
        let mut call = Call::new(Method::POST, "auth/token/renew-self");
        call.token = Some(&current.token);
        call.namespace = self.login_namespace();
        call.body = Some(Zeroizing::new(
            format!(r#"{{"increment":"{increment}s"}}"#).into_bytes(),
        ));
        let what = format!("{}: renewing token", self.what);
        let response = http
            .send(call)
            .await
            .map_err(|f| f.into_provider_error(&what))?;
        let renewed = parse_login(&response.body, &what)?;
        let now = Instant::now();
        // A renewal that grants less than the original TTL hit the max TTL: use the token
        // until 2/3 of what is left, then log in again instead of renewing.
        let at_max_ttl = match (renewed.ttl, current.ttl) {
            (Some(new), Some(old)) => new < old,
            _ => false,
        };
        Ok(Session {
            token: current.token.clone(),
            generation: current.generation,
            ttl: current.ttl,
            renew_at: renewed.ttl.map(|ttl| now + ttl * 2 / 3),
            expires_at: renewed.ttl.map(|ttl| now + ttl),
            renewable: renewed.renewable && !at_max_ttl,
            revocable: current.revocable,
        })
    }

    /// Whether Vault still accepts `session`'s token (`lookup-self`). Distinguishes an
    /// invalid token from a policy denial after a 403.
    pub(crate) async fn token_is_valid(&self, session: &Session) -> Result<bool, ProviderError> {
        let http = self.http().await?;
        let mut call = Call::new(Method::GET, "auth/token/lookup-self");
        call.token = Some(&session.token);
        call.namespace = self.login_namespace();
        match http.send(call).await {
            Ok(_) => Ok(true),
            Err(Failure::Status { status, .. }) if matches!(status.as_u16(), 401 | 403) => {
                Ok(false)
            }
            Err(f) => Err(f.into_provider_error(&format!("{}: looking up token", self.what))),
        }
    }

    /// Revokes the token if the provider created it.
    pub(crate) async fn revoke(&self) {
        let _gate = self.sessions.gate.lock().await;
        let Some(session) = self.sessions.current() else {
            return;
        };
        self.sessions.store(None);
        if !session.revocable {
            return;
        }
        let Ok(http) = self.http().await else {
            return;
        };
        let mut call = Call::new(Method::POST, "auth/token/revoke-self");
        call.token = Some(&session.token);
        call.namespace = self.login_namespace();
        if let Err(f) = http.send(call).await {
            let error = f.into_provider_error(&format!("{}: revoking token", self.what));
            tracing::warn!(store = %self.what, error = %error, "could not revoke Vault token");
        }
    }
}
