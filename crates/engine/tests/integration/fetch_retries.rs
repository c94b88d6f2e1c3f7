//! Retries under the provider's policy (the engine waits, providers never sleep), provider
//! builds without a global lock, and replaced providers closed (virtual time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{env_with, es};
use secretsync_engine::MemoryEnvironment;
use secretsync_engine::{Engine, EngineConfig, FetchConfig};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::provider::{ProviderFactory, StoreContext};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    Backoff, FetchRequest, ProviderCapabilities, ProviderError, RemoteSecret, RetryPolicy,
    SecretProvider, SharedProvider, Validation,
};
use secretsync_testkit::providers::TestFactory;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Fails the first `failures` calls with `error`, then answers; never sleeps.
struct Flaky {
    failures: AtomicU64,
    error: ProviderError,
    policy: RetryPolicy,
    calls: AtomicUsize,
    closed: AtomicUsize,
}

#[async_trait]
impl SecretProvider for Flaky {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::default()
    }
    fn retry_policy(&self) -> RetryPolicy {
        self.policy
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(self.error.clone());
        }
        Ok(RemoteSecret::new(request.key.as_str()))
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
    async fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

fn flaky(failures: u64, error: ProviderError, policy: RetryPolicy) -> Arc<Flaky> {
    Arc::new(Flaky {
        failures: AtomicU64::new(failures),
        error,
        policy,
        calls: AtomicUsize::new(0),
        closed: AtomicUsize::new(0),
    })
}

/// An engine whose every store is served by `p`.
fn engine_over(p: &Arc<Flaky>) -> Engine {
    Engine::new(
        Arc::new(TestFactory::serving(p.clone())),
        EngineConfig::default(),
    )
}

/// Waits (virtual time) until `p` was closed, panicking with `what` after a minute.
async fn closed(p: &Flaky, what: &str) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while p.closed.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

fn object(name: &str, store: &str) -> ExternalSecret {
    es(&format!(
        "metadata: {{name: {name}, namespace: ns}}\nspec:\n  secretStoreRef: {{name: {store}}}\n  data: [{{secretKey: v, remoteRef: {{key: {name}}}}}]\n"
    ))
}

/// Stores `s`, `slow` and `fast` in namespace `ns` (the test factories ignore their spec).
fn env() -> MemoryEnvironment {
    let objects = ["s", "slow", "fast"].map(|store| object("x", store));
    env_with(&objects, &SecretStoreSpec::default())
}

fn unavailable() -> ProviderError {
    ProviderError::Unavailable("down".into())
}

const TWO_FIXED: RetryPolicy = RetryPolicy {
    max_retries: 2,
    backoff: Backoff::Fixed(Duration::from_secs(3)),
};

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_under_the_provider_policy() {
    let p = flaky(2, unavailable(), TWO_FIXED);
    let engine = engine_over(&p);
    let started = Instant::now();
    let outcome = engine.sync(&object("a", "s"), &env()).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result.err());
    assert_eq!(p.calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(6),
        "two fixed waits of 3 s"
    );
    assert_eq!(engine.fetch_stats().retries, 2);

    // One failure more than the policy allows: the error comes back.
    let p = flaky(3, unavailable(), TWO_FIXED);
    let engine = engine_over(&p);
    let outcome = engine.sync(&object("a", "s"), &env()).await;
    assert!(outcome.result.unwrap_err().is_transient());
    assert_eq!(p.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn definitive_errors_and_no_policy_are_not_retried() {
    for (error, policy) in [
        (ProviderError::NotFound("k".into()), TWO_FIXED),
        (ProviderError::PermissionDenied("k".into()), TWO_FIXED),
        (unavailable(), RetryPolicy::NONE),
    ] {
        let p = flaky(1, error.clone(), policy);
        let engine = engine_over(&p);
        let outcome = engine.sync(&object("a", "s"), &env()).await;
        assert!(outcome.result.is_err(), "{error}");
        assert_eq!(p.calls.load(Ordering::SeqCst), 1, "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_waits_for_retry_after_unless_it_is_too_long() {
    let throttled = |secs| ProviderError::Throttled {
        message: "slow down".into(),
        retry_after: Some(Duration::from_secs(secs)),
    };
    let p = flaky(1, throttled(4), TWO_FIXED);
    let engine = engine_over(&p);
    let started = Instant::now();
    let outcome = engine.sync(&object("a", "s"), &env()).await;
    assert!(outcome.result.is_ok());
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(4),
        "Retry-After, not the backoff"
    );

    // Longer than max_retry_wait (10 s): no retry inside the read, the caller backs off.
    let p = flaky(1, throttled(30), TWO_FIXED);
    let engine = engine_over(&p);
    let outcome = engine.sync(&object("a", "s"), &env()).await;
    let err = outcome.result.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(p.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_retry_holds_no_concurrency_slot() {
    let long = RetryPolicy {
        max_retries: 1,
        backoff: Backoff::Fixed(Duration::from_secs(5)),
    };
    let p = flaky(1, unavailable(), long);
    let config = EngineConfig {
        fetch: FetchConfig {
            max_concurrent_per_store: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::new(Arc::new(TestFactory::serving(p.clone())), config);
    let env = env();
    let (a, b) = (object("a", "s"), object("b", "s"));
    let first = engine.sync(&a, &env);
    let second = async {
        // Starts once the first read has failed and is waiting for its retry.
        while p.calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        let outcome = engine.sync(&b, &env).await;
        (outcome, started.elapsed())
    };
    let (first, (second, second_took)) = tokio::join!(first, second);
    assert!(first.result.is_ok() && second.result.is_ok());
    assert_eq!(
        second_took,
        Duration::ZERO,
        "the other read went through while the first waited 5 s for its retry"
    );
}

/// Builds the provider of store `slow` only when released; every other store at once.
struct GatedFactory {
    release: Arc<Notify>,
    provider: Arc<Flaky>,
}

#[async_trait]
impl ProviderFactory for GatedFactory {
    async fn build(
        &self,
        context: &StoreContext,
        _: &SecretStoreSpec,
        _: Arc<dyn CredentialResolver>,
    ) -> Result<SharedProvider, ProviderError> {
        if context.store.name == "slow" {
            self.release.notified().await;
        }
        Ok(self.provider.clone())
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_provider_build_does_not_hold_up_other_stores() {
    let release = Arc::new(Notify::new());
    let factory = GatedFactory {
        release: release.clone(),
        provider: flaky(0, unavailable(), RetryPolicy::NONE),
    };
    let engine = Engine::new(Arc::new(factory), EngineConfig::default());
    let env = env();
    let (slow, fast) = (object("a", "slow"), object("b", "fast"));
    let slow_sync = engine.sync(&slow, &env);
    let fast_then_release = async {
        let outcome = engine.sync(&fast, &env).await;
        release.notify_one();
        outcome
    };
    let (slow, fast) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(slow_sync, fast_then_release)
    })
    .await
    .expect("the fast store's sync must not wait for the slow store's build");
    assert!(
        fast.result.is_ok(),
        "built while the slow build was pending"
    );
    assert!(slow.result.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_replaced_provider_is_closed() {
    let p = flaky(0, unavailable(), RetryPolicy::NONE);
    let engine = engine_over(&p);
    let object = object("a", "s");
    let before = env();
    assert!(engine.sync(&object, &before).await.result.is_ok());
    assert_eq!(p.closed.load(Ordering::SeqCst), 0);
    let changed = env_with(
        [&object],
        &serde_yaml::from_str("provider: {fake: {data: [{key: x, value: y}]}}").unwrap(),
    );
    assert!(engine.sync(&object, &changed).await.result.is_ok());
    assert_eq!(engine.fetch_stats().providers_built, 2);
    // The close runs on its own task.
    closed(&p, "the replaced provider is closed").await;
    assert_eq!(p.closed.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_forgotten_store_is_rebuilt_and_its_provider_closed() {
    let p = flaky(0, unavailable(), RetryPolicy::NONE);
    let engine = engine_over(&p);
    let env = env();
    assert!(engine.sync(&object("a", "s"), &env).await.result.is_ok());
    assert!(engine.sync(&object("b", "fast"), &env).await.result.is_ok());
    assert_eq!(engine.fetch_stats().providers_built, 2);
    let store = secretsync_model::StoreId {
        kind: secretsync_model::external_secret::StoreKind::SecretStore,
        namespace: Some("ns".into()),
        name: "s".into(),
    };
    assert_eq!(engine.fetch_layer().forget_store(&store), 1, "only store s");
    closed(&p, "the forgotten provider is closed").await;
    assert!(engine.sync(&object("c", "s"), &env).await.result.is_ok());
    assert!(engine.sync(&object("d", "fast"), &env).await.result.is_ok());
    assert_eq!(
        engine.fetch_stats().providers_built,
        3,
        "s rebuilt, fast reused"
    );
    assert_eq!(p.closed.load(Ordering::SeqCst), 1);
    assert_eq!(engine.fetch_layer().forget_store(&store), 1);
    let unknown = secretsync_model::StoreId {
        name: "none".into(),
        ..store
    };
    assert_eq!(engine.fetch_layer().forget_store(&unknown), 0);
}

#[tokio::test(start_paused = true)]
async fn a_removed_store_leaves_nothing_behind_and_its_provider_closed() {
    let p = flaky(0, unavailable(), RetryPolicy::NONE);
    let engine = engine_over(&p);
    let cluster_object = |name: &str| {
        es(&format!(
            "metadata: {{name: {name}, namespace: ns}}\nspec:\n  secretStoreRef: {{name: c, kind: ClusterSecretStore}}\n  data: [{{secretKey: v, remoteRef: {{key: {name}}}}}]\n"
        ))
    };
    let env = env().with_cluster_secret_store("c", SecretStoreSpec::default());
    assert!(engine.sync(&object("a", "s"), &env).await.result.is_ok());
    assert!(engine.sync(&cluster_object("b"), &env).await.result.is_ok());
    let layer = engine.fetch_layer();
    assert_eq!(layer.stores_held(), 2, "s and c");
    let cluster = secretsync_model::StoreId {
        kind: secretsync_model::external_secret::StoreKind::ClusterSecretStore,
        namespace: None,
        name: "c".into(),
    };
    assert_eq!(layer.remove_store(&cluster), 1);
    assert_eq!(layer.stores_held(), 1, "only s is left");
    closed(&p, "the removed store's provider is closed").await;
    assert_eq!(layer.remove_store(&cluster), 0, "nothing left to remove");
    // A store of the same name made again is built again.
    assert!(
        engine
            .sync(&cluster_object("c2"), &env)
            .await
            .result
            .is_ok()
    );
    assert_eq!(engine.fetch_stats().providers_built, 3);
    assert_eq!(layer.stores_held(), 2);
}
