//! Per-store limits: token bucket, concurrency cap and Retry-After pauses (virtual time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{env_for, es};
use futures::future::join_all;
use secretsync_engine::{Engine, EngineConfig, FetchConfig, RateLimit};
use secretsync_model::{
    FetchRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretProvider, Validation,
};
use secretsync_testkit::providers::TestFactory;
use tokio::time::Instant;

/// Records call times; throttles the first `throttle_first` calls with a Retry-After.
struct Recorder {
    start: Instant,
    calls: Mutex<Vec<Duration>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    throttle_first: AtomicU64,
    retry_after: Duration,
    work: Duration,
}

#[async_trait]
impl SecretProvider for Recorder {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::default()
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.calls.lock().unwrap().push(self.start.elapsed());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.work).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self
            .throttle_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ProviderError::Throttled {
                message: "slow down".into(),
                retry_after: Some(self.retry_after),
            });
        }
        Ok(RemoteSecret::new(request.key.as_str()))
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
}

fn recorder(throttle_first: u64, work: Duration) -> Arc<Recorder> {
    Arc::new(Recorder {
        start: Instant::now(),
        calls: Mutex::new(Vec::new()),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        throttle_first: AtomicU64::new(throttle_first),
        retry_after: Duration::from_secs(7),
        work,
    })
}

fn objects(n: usize) -> Vec<secretsync_model::external_secret::ExternalSecret> {
    (0..n)
        .map(|i| es(&format!("metadata: {{name: e{i}, namespace: ns}}\nspec:\n  secretStoreRef: {{name: s}}\n  data: [{{secretKey: v, remoteRef: {{key: k{i}}}}}]\n")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn token_bucket_spaces_calls() {
    let rec = recorder(0, Duration::ZERO);
    let config = EngineConfig {
        fetch: FetchConfig {
            rate_limit: Some(RateLimit {
                per_second: 10.0,
                burst: 2,
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::new(Arc::new(TestFactory::serving(rec.clone())), config);
    let objs = objects(12);
    let env = env_for(&objs);
    join_all(objs.iter().map(|o| engine.sync(o, &env))).await;
    let calls = rec.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 12);
    // burst of 2, then 10 more at 10/s: the last call is about 1 s after the first.
    let last = *calls.iter().max().unwrap();
    assert!(
        last >= Duration::from_millis(950) && last <= Duration::from_millis(1100),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrency_cap_per_store() {
    let rec = recorder(0, Duration::from_millis(100));
    let config = EngineConfig {
        fetch: FetchConfig {
            max_concurrent_per_store: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::new(Arc::new(TestFactory::serving(rec.clone())), config);
    let objs = objects(20);
    let env = env_for(&objs);
    join_all(objs.iter().map(|o| engine.sync(o, &env))).await;
    assert_eq!(rec.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_pauses_the_store() {
    let rec = recorder(1, Duration::ZERO);
    let engine = Engine::new(
        Arc::new(TestFactory::serving(rec.clone())),
        EngineConfig::default(),
    );
    let objs = objects(2);
    let env = env_for(&objs);
    let first = engine.sync(&objs[0], &env).await;
    let err = first.result.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(engine.fetch_stats().throttled, 1);
    // The next read of the same store waits for the pause.
    let second = engine.sync(&objs[1], &env).await;
    assert!(second.result.is_ok());
    let calls = rec.calls.lock().unwrap().clone();
    assert!(calls[1] >= Duration::from_secs(7), "{calls:?}");
}
