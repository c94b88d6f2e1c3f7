//! Per-store limits: a concurrency cap, an optional token bucket and throttling pauses.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::token_bucket::TokenBucket;

/// A provider quota: sustained requests per second and burst size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size (the largest burst).
    pub burst: u32,
}

/// The gate every provider call of one store passes.
pub(crate) struct StoreGate {
    semaphore: Semaphore,
    bucket: Option<TokenBucket>,
    paused_until: Mutex<Option<Instant>>,
}

impl StoreGate {
    pub(crate) fn new(max_concurrent: usize, rate: Option<RateLimit>) -> Self {
        StoreGate {
            semaphore: Semaphore::new(max_concurrent.max(1)),
            bucket: rate.map(|r| TokenBucket::new(r.per_second, r.burst)),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits for a pause to end, a token and a concurrency slot.
    pub(crate) async fn enter(&self) -> SemaphorePermit<'_> {
        loop {
            let pause = *lock(&self.paused_until);
            match pause {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        if let Some(bucket) = &self.bucket {
            bucket.take().await;
        }
        // The semaphore is never closed.
        match self.semaphore.acquire().await {
            Ok(p) => p,
            Err(_) => unreachable!("store semaphore closed"),
        }
    }

    /// Pauses all calls to this store for `delay` (the provider throttled us).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut p = lock(&self.paused_until);
        if p.is_none_or(|current| current < until) {
            *p = Some(until);
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
