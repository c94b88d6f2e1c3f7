//! One credential (a token, a key set) per provider instance: loaded once for all concurrent
//! callers, a failed load shared with every caller that waited for it, and renewed by one rule
//! ([`renew_at`]) against an injected clock.

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use secretsync_model::ProviderError;

use crate::clock::SharedClock;
use crate::single_flight::SingleFlight;

/// The longest a credential is renewed before it expires.
pub const MAX_RENEWAL_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How long a loaded credential may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// It expires at this instant (STS credentials, Entra and Vault tokens).
    ExpiresAt(SystemTime),
    /// It does not expire, but is loaded again after this long so rotations are picked up
    /// (static keys read from a Secret).
    ReloadAfter(Duration),
    /// It is used until it is rejected (static Vault tokens).
    Unlimited,
}

/// What a load produced.
#[derive(Debug)]
pub struct Issued<T> {
    /// The credential.
    pub value: T,
    /// How long it may be used.
    pub lifetime: Lifetime,
}

/// A cached credential.
#[derive(Debug)]
pub struct Cached<T> {
    /// The credential.
    pub value: T,
    /// Increases with every load; lets a caller drop exactly the credential it used.
    pub generation: u64,
    /// When it was loaded.
    pub obtained_at: SystemTime,
    /// When it expires, if it does.
    pub expires_at: Option<SystemTime>,
    /// When it is renewed (`None`: never).
    pub renew_at: Option<SystemTime>,
}

impl<T> Cached<T> {
    /// Whether it is still before its expiry at `now`.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    fn is_fresh_at(&self, now: SystemTime) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// The renewal rule, the same for every provider: a credential that expires is renewed a
/// quarter of its lifetime before expiry, but at most [`MAX_RENEWAL_MARGIN`] before (so a one-hour
/// token is renewed after 55 minutes, a one-minute token after 45 seconds); one that is
/// reloaded after a period at the end of it; an unlimited one never.
pub fn renew_at(obtained_at: SystemTime, lifetime: Lifetime) -> Option<SystemTime> {
    match lifetime {
        Lifetime::ExpiresAt(expires) => {
            let life = expires
                .duration_since(obtained_at)
                .unwrap_or(Duration::ZERO);
            Some(expires - (life / 4).min(MAX_RENEWAL_MARGIN))
        }
        Lifetime::ReloadAfter(period) => Some(obtained_at + period),
        Lifetime::Unlimited => None,
    }
}

type LoadResult<T> = Result<Arc<Cached<T>>, ProviderError>;

/// The cache (see the module docs).
pub struct CredentialCache<T> {
    clock: SharedClock,
    current: Mutex<Option<Arc<Cached<T>>>>,
    flight: SingleFlight<(), LoadResult<T>>,
    generation: AtomicU64,
    loads: AtomicU64,
}

impl<T> std::fmt::Debug for CredentialCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync> CredentialCache<T> {
    /// An empty cache reading `clock`.
    pub fn new(clock: SharedClock) -> Self {
        CredentialCache {
            clock,
            current: Mutex::new(None),
            flight: SingleFlight::new(),
            generation: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }

    /// The clock the cache reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Cached<T>>>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached credential, fresh or not.
    pub fn current(&self) -> Option<Arc<Cached<T>>> {
        self.slot().clone()
    }

    fn fresh(&self) -> Option<Arc<Cached<T>>> {
        let now = self.clock.now();
        self.current().filter(|c| c.is_fresh_at(now))
    }

    /// A fresh credential: the cached one, or a new one from `load`, which runs once however
    /// many callers are waiting (they all get its result, a failure too). `load` is given
    /// the credential being replaced, if any (to renew it rather than log in again).
    pub async fn get<F, Fut>(&self, load: F) -> LoadResult<T>
    where
        F: FnOnce(Option<Arc<Cached<T>>>) -> Fut,
        Fut: Future<Output = Result<Issued<T>, ProviderError>>,
    {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        self.flight
            .run((), || async {
                // Another flight may have finished between the check above and this one.
                if let Some(c) = self.fresh() {
                    return Ok(c);
                }
                let issued = load(self.current()).await?;
                self.loads.fetch_add(1, Ordering::Relaxed);
                let obtained_at = self.clock.now();
                let cached = Arc::new(Cached {
                    value: issued.value,
                    generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
                    obtained_at,
                    expires_at: match issued.lifetime {
                        Lifetime::ExpiresAt(at) => Some(at),
                        _ => None,
                    },
                    renew_at: renew_at(obtained_at, issued.lifetime),
                });
                *self.slot() = Some(cached.clone());
                Ok(cached)
            })
            .await
    }

    /// Drops the cached credential if it is still `generation` (it was rejected), so the
    /// next [`get`](Self::get) loads a new one. Returns whether it was dropped.
    pub fn invalidate(&self, generation: u64) -> bool {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|c| c.generation == generation) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// Removes and returns the cached credential (to revoke it on close).
    pub fn take(&self) -> Option<Arc<Cached<T>>> {
        self.slot().take()
    }

    /// Successful loads so far.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use std::sync::atomic::AtomicUsize;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn one_renewal_rule() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let cases = [
            (Lifetime::ExpiresAt(t0 + 60 * MIN), Some(t0 + 55 * MIN)),
            (Lifetime::ExpiresAt(t0 + 8 * MIN), Some(t0 + 6 * MIN)),
            (
                Lifetime::ExpiresAt(t0 + Duration::from_secs(60)),
                Some(t0 + Duration::from_secs(45)),
            ),
            (Lifetime::ExpiresAt(t0 - MIN), Some(t0 - MIN)),
            (Lifetime::ReloadAfter(60 * MIN), Some(t0 + 60 * MIN)),
            (Lifetime::Unlimited, None),
        ];
        for (lifetime, want) in cases {
            assert_eq!(renew_at(t0, lifetime), want, "{lifetime:?}");
        }
    }

    fn token(clock: &ManualClock, life: Duration) -> Issued<&'static str> {
        Issued {
            value: "t",
            lifetime: Lifetime::ExpiresAt(clock.now() + life),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_load_and_its_failure() {
        let clock = ManualClock::new();
        let cache = CredentialCache::<&str>::new(clock.shared());
        let calls = AtomicUsize::new(0);
        let failing = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err(ProviderError::Unavailable("issuer down".into()))
        };
        let results = futures::future::join_all((0..20).map(|_| cache.get(|_| failing()))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one load for 20 waiters");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(ProviderError::Unavailable(_))))
        );
        // The next caller after the failure tries again.
        let ok = cache
            .get(|_| async { Ok(token(&clock, 60 * MIN)) })
            .await
            .expect("loaded");
        assert_eq!((ok.generation, cache.loads()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn renewed_at_the_rule_and_given_the_previous_value() {
        let clock = ManualClock::new();
        let cache = CredentialCache::<u32>::new(clock.shared());
        let issue = |n: u32| Issued {
            value: n,
            lifetime: Lifetime::ExpiresAt(clock.now() + 60 * MIN),
        };
        let first = cache.get(|_| async { Ok(issue(1)) }).await.expect("first");
        clock.advance(54 * MIN);
        let same = cache.get(|_| async { Ok(issue(2)) }).await.expect("cached");
        assert_eq!(same.value, 1, "fresh until 55 minutes");
        clock.advance(2 * MIN);
        let renewed = cache
            .get(|previous| {
                let seen = previous.map(|p| p.value);
                async move {
                    assert_eq!(seen, Some(1), "the loader sees what it replaces");
                    Ok(issue(2))
                }
            })
            .await
            .expect("renewed");
        assert_eq!(
            (renewed.value, renewed.generation),
            (2, first.generation + 1)
        );
    }

    #[tokio::test]
    async fn invalidation_drops_only_the_generation_used() {
        let cache = CredentialCache::<u32>::new(ManualClock::new().shared());
        let unlimited = |n| async move {
            Ok(Issued {
                value: n,
                lifetime: Lifetime::Unlimited,
            })
        };
        let a = cache.get(|_| unlimited(1)).await.expect("a");
        assert!(!cache.invalidate(a.generation + 1), "another generation");
        assert!(cache.invalidate(a.generation));
        let b = cache.get(|_| unlimited(2)).await.expect("b");
        assert_eq!(b.value, 2);
        assert_eq!(cache.take().map(|c| c.value), Some(2));
        assert!(cache.current().is_none());
    }
}
