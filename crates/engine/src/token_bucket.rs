//! A token bucket: `per_second` tokens refill up to `burst`. One implementation for every
//! client-side rate limit (per-store provider quotas here, the Kubernetes client in
//! `secretsync-kube`). Time is tokio's clock, so paused-clock tests drive it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket, full when created.
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    /// (tokens, when they were counted).
    state: Mutex<(f64, Instant)>,
    /// No token is handed out before this instant (the server asked us to back off).
    paused_until: Mutex<Option<Instant>>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens (at least one) refilled at `per_second`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_second,
            burst,
            state: Mutex::new((burst, Instant::now())),
            paused_until: Mutex::new(None),
        }
    }

    /// Holds every token back for `delay` from now (or longer, if already paused longer): a
    /// server's `Retry-After` slows every caller sharing the bucket, not just the one told.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = lock(&self.paused_until);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Takes a token, or says how long to wait until one is available.
    pub fn try_take(&self) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(until) = *lock(&self.paused_until)
            && until > now
        {
            return Err(until - now);
        }
        let mut state = lock(&self.state);
        let (tokens, last) = *state;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(Duration::from_secs_f64(
                (1.0 - tokens) / self.per_second.max(1e-9),
            ))
        }
    }

    /// Waits until a token is taken.
    pub async fn take(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill_at_the_rate() {
        let bucket = TokenBucket::new(2.0, 3);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(), Ok(()));
        }
        assert_eq!(bucket.try_take(), Err(Duration::from_millis(500)));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(bucket.try_take(), Err(Duration::from_millis(250)));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(bucket.try_take(), Ok(()));
        // Never more than the burst, however long it idles.
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..3 {
            assert_eq!(bucket.try_take(), Ok(()));
        }
        assert!(bucket.try_take().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn take_waits_for_the_next_token() {
        let bucket = TokenBucket::new(10.0, 1);
        bucket.take().await;
        let start = Instant::now();
        bucket.take().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_tokens_back_and_only_lengthens() {
        let bucket = TokenBucket::new(100.0, 10);
        bucket.pause_for(Duration::from_secs(2));
        bucket.pause_for(Duration::from_secs(1));
        assert_eq!(bucket.try_take(), Err(Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(bucket.try_take(), Ok(()));
    }

    #[test]
    fn a_zero_burst_still_holds_one_token() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let bucket = TokenBucket::new(1.0, 0);
            assert_eq!(bucket.try_take(), Ok(()));
            assert!(bucket.try_take().is_err());
        });
    }
}
