//! The API server's flow control, honoured: a request answered `429 Too Many Requests` (API
//! Priority and Fairness rejected it before doing anything), `503` or `504` is retried after
//! the server's `Retry-After` or an exponential backoff, whichever is longer — never hot — and a
//! `429` also pauses every other request of the client for that long (the shared
//! [`TokenBucket`](crate::rate_limit::TokenBucket)), so the whole operator slows down, not just
//! the request that was refused. After [`RetrySettings::max_retries`] the answer is returned
//! (the reconcile fails and is retried with its own backoff).

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Request, Response, StatusCode};
use kube::client::Body;
use tower::BoxError;
use tower::retry::Policy;

use crate::rate_limit::TokenBucket;

/// How refused requests are retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetrySettings {
    /// Retries of one request (default 6).
    pub max_retries: u32,
    /// First backoff (default 250 ms); doubles per retry.
    pub base: Duration,
    /// Longest backoff (default 8 s).
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured (default 60 s); longer values are capped.
    pub max_retry_after: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 6,
            base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Whether an answer with `status` is retried.
pub fn is_retried(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The wait before retry number `attempt` (1-based): the server's `Retry-After` (capped) or the
/// backoff `base·2^(attempt-1)` (capped), whichever is longer; `jitter` (0..1) stretches the
/// backoff by up to 20 % so that refused clients do not return in step.
pub fn retry_delay(
    settings: &RetrySettings,
    attempt: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let backoff = settings
        .base
        .saturating_mul(1u32 << exponent)
        .min(settings.max_backoff)
        .mul_f64(1.0 + 0.2 * jitter.clamp(0.0, 1.0));
    let server = retry_after
        .map(|d| d.min(settings.max_retry_after))
        .unwrap_or_default();
    backoff.max(server)
}

/// `Retry-After` as delay-seconds (what the API server sends); other forms are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Requests that may wait for the rate limiter at once (more wait for a place in the queue).
const QUEUE: usize = 1024;

/// The layer stack of [`client_layer`]: retry, outside a buffer (the retry needs a cloneable
/// service), outside the QPS/burst token bucket.
pub type ClientLayer = tower::ServiceBuilder<
    tower::layer::util::Stack<
        crate::rate_limit::RateLimitLayer,
        tower::layer::util::Stack<
            tower::buffer::BufferLayer<Request<Body>>,
            tower::layer::util::Stack<
                tower::retry::RetryLayer<FlowControlPolicy>,
                tower::layer::util::Identity,
            >,
        >,
    >,
>;

/// The client-side limits of the operator's Kubernetes client, for
/// `ClientBuilder::with_layer`: the QPS/burst token bucket and, outside it, the retry of
/// refused requests, which pauses that same bucket on `429` (every retry draws a token again).
pub fn client_layer(qps: f64, burst: u32, settings: RetrySettings) -> ClientLayer {
    let bucket = Arc::new(TokenBucket::new(qps, burst));
    tower::ServiceBuilder::new()
        .layer(tower::retry::RetryLayer::new(FlowControlPolicy::new(
            settings,
            bucket.clone(),
        )))
        .layer(tower::buffer::BufferLayer::new(QUEUE))
        .layer(crate::rate_limit::RateLimitLayer::with_bucket(bucket))
}

/// The tower retry policy of the client (see the module docs).
#[derive(Clone)]
pub struct FlowControlPolicy {
    settings: RetrySettings,
    bucket: Arc<TokenBucket>,
    attempt: u32,
}

impl FlowControlPolicy {
    /// A policy pausing `bucket` on `429`.
    pub fn new(settings: RetrySettings, bucket: Arc<TokenBucket>) -> Self {
        FlowControlPolicy {
            settings,
            bucket,
            attempt: 0,
        }
    }
}

impl<B> Policy<Request<Body>, Response<B>, BoxError> for FlowControlPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Body>,
        result: &mut Result<Response<B>, BoxError>,
    ) -> Option<Self::Future> {
        let Ok(response) = result else {
            return None;
        };
        let status = response.status();
        if !is_retried(status) || self.attempt >= self.settings.max_retries {
            return None;
        }
        self.attempt += 1;
        let delay = retry_delay(
            &self.settings,
            self.attempt,
            retry_after(response.headers()),
            rand::random::<f64>(),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.bucket.pause_for(delay);
        }
        tracing::debug!(method = %request.method(), path = request.uri().path(), %status,
            attempt = self.attempt, ?delay, "the API server refused a request; retrying");
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        let body = request.body().try_clone()?;
        let mut clone = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version())
            .body(body)
            .ok()?;
        *clone.headers_mut() = request.headers().clone();
        *clone.extensions_mut() = request.extensions().clone();
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_table() {
        let s = RetrySettings::default();
        let ms = Duration::from_millis;
        // (attempt, Retry-After, jitter, expected)
        let cases = [
            (1, None, 0.0, ms(250)),
            (2, None, 0.0, ms(500)),
            (3, None, 1.0, ms(1200)),
            (6, None, 0.0, ms(8000)),
            (30, None, 0.0, ms(8000)),
            (1, Some(Duration::from_secs(1)), 0.0, ms(1000)),
            (6, Some(Duration::from_secs(1)), 0.0, ms(8000)),
            (1, Some(Duration::from_secs(3600)), 0.0, ms(60_000)),
            (1, Some(Duration::ZERO), 0.5, ms(275)),
        ];
        for (attempt, after, jitter, expected) in cases {
            assert_eq!(
                retry_delay(&s, attempt, after, jitter),
                expected,
                "attempt {attempt}, Retry-After {after:?}"
            );
        }
        assert!(retry_delay(&s, 1, None, 0.0) >= ms(250), "never hot");
    }

    #[test]
    fn retry_after_is_read_as_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, " 3 ".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
        assert!(is_retried(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_retried(StatusCode::CONFLICT));
        assert!(!is_retried(StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_pauses_the_whole_client_and_retries_are_bounded() {
        let bucket = Arc::new(TokenBucket::new(1000.0, 10));
        let mut policy = FlowControlPolicy::new(RetrySettings::default(), bucket.clone());
        let mut request = Request::new(Body::empty());
        let refused = || -> Result<Response<()>, BoxError> {
            Ok(Response::builder()
                .status(429)
                .header("Retry-After", "2")
                .body(())
                .expect("response"))
        };
        let start = tokio::time::Instant::now();
        let sleep = policy.retry(&mut request, &mut refused()).expect("retried");
        assert!(sleep.deadline() - start >= Duration::from_secs(2));
        assert!(
            bucket.try_take().expect_err("paused") >= Duration::from_millis(1900),
            "every request of the client waits"
        );
        for _ in 1..RetrySettings::default().max_retries {
            assert!(policy.retry(&mut request, &mut refused()).is_some());
        }
        assert!(
            policy.retry(&mut request, &mut refused()).is_none(),
            "bounded"
        );
        let mut ok: Result<Response<()>, BoxError> =
            Ok(Response::builder().status(200).body(()).expect("response"));
        assert!(
            FlowControlPolicy::new(RetrySettings::default(), bucket)
                .retry(&mut request, &mut ok)
                .is_none()
        );
    }
}
