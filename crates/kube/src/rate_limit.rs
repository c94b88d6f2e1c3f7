//! Client-side rate limit for the Kubernetes client: a token bucket as a tower layer.
//!
//! kube-rs has no client-side limiter (client-go has one: QPS + burst). Every request takes a
//! token before it is sent; tokens refill at `qps` per second up to `burst`. The limiter acts in
//! `poll_ready`, and kube's `Client` drives its service through a buffer, so waiting requests
//! queue in order. Watches take one token when they (re)connect, like in client-go.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::time::Sleep;
use tower::{Layer, Service};

/// The shared bucket: the engine's [`secretsync_engine::TokenBucket`] (one implementation for
/// every client-side limit). It can be paused: the API server's `429` stops every request of
/// the client for its `Retry-After` ([`crate::flow_control`]).
pub use secretsync_engine::TokenBucket;

/// Layer adding [`RateLimited`].
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    bucket: Arc<TokenBucket>,
}

impl RateLimitLayer {
    /// `qps` requests per second sustained, `burst` at once.
    pub fn new(qps: f64, burst: u32) -> Self {
        Self::with_bucket(Arc::new(TokenBucket::new(qps, burst)))
    }

    /// A layer drawing from `bucket` (shared with the flow control, which pauses it).
    pub fn with_bucket(bucket: Arc<TokenBucket>) -> Self {
        RateLimitLayer { bucket }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            bucket: self.bucket.clone(),
            holding_token: false,
            sleep: None,
        }
    }
}

/// A service whose requests each wait for a token.
pub struct RateLimited<S> {
    inner: S,
    bucket: Arc<TokenBucket>,
    holding_token: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<S, R> Service<R> for RateLimited<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        while !self.holding_token {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            match self.bucket.try_take() {
                Ok(()) => self.holding_token = true,
                Err(wait) => self.sleep = Some(Box::pin(tokio::time::sleep(wait))),
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.holding_token = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn burst_passes_then_requests_are_spaced_by_qps() {
        let svc = tower::service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n) });
        let mut svc = RateLimitLayer::new(10.0, 3).layer(svc);
        let start = Instant::now();
        for n in 0..3 {
            svc.ready()
                .await
                .expect("ready")
                .call(n)
                .await
                .expect("call");
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "burst of 3 must not wait"
        );
        for n in 0..5 {
            svc.ready()
                .await
                .expect("ready")
                .call(n)
                .await
                .expect("call");
        }
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(490) && waited <= Duration::from_millis(520),
            "5 requests past the burst at 10 qps take ~500 ms, took {waited:?}"
        );
    }
}
