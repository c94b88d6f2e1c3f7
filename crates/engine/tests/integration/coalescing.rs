//! Fetch coalescing, measured with a counting provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{MemoryFactory, env_for, env_with, es};
use futures::future::join_all;
use secretsync_engine::MemoryEnvironment;
use secretsync_engine::fetch::{CallLabels, CallStatus, ProviderCall};
use secretsync_engine::{Engine, EngineConfig, FetchConfig, FetchObserver, SyncResult};
use secretsync_model::external_secret::ExternalSecret;

const OBJECTS: usize = 10_000;
const KEYS: usize = 1_000;

fn objects() -> Vec<ExternalSecret> {
    (0..OBJECTS)
        .map(|i| {
            es(&format!(
                r#"
metadata: {{name: es-{i}, namespace: ns-{ns}}}
spec:
  secretStoreRef: {{name: shared, kind: ClusterSecretStore}}
  data:
    - secretKey: value
      remoteRef: {{key: key-{k}, property: v}}
"#,
                ns = 0,
                k = i % KEYS
            ))
        })
        .collect()
}

fn factory() -> MemoryFactory {
    let f = MemoryFactory::default();
    for k in 0..KEYS {
        f.set(&format!("key-{k}"), &format!(r#"{{"v": "value-{k}"}}"#));
    }
    f
}

async fn cycle(engine: &Engine, env: &MemoryEnvironment, objects: &[ExternalSecret]) {
    let outcomes = join_all(objects.iter().map(|o| engine.sync(o, env))).await;
    for (i, o) in outcomes.iter().enumerate() {
        match &o.result {
            Ok(SyncResult::Write(d)) => {
                assert_eq!(
                    d.data["value"].expose(),
                    format!("value-{}", i % KEYS).as_bytes()
                )
            }
            other => panic!("object {i}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_objects_one_thousand_keys_one_thousand_reads_per_cycle() {
    let factory = factory();
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    let objects = objects();
    let env = env_for(&objects);

    cycle(&engine, &env, &objects).await;
    assert_eq!(factory.calls(), KEYS as u64, "first cycle");
    let stats = engine.fetch_stats();
    assert_eq!(stats.reads_requested, OBJECTS as u64);
    assert_eq!(stats.provider_calls, KEYS as u64);
    assert_eq!(stats.coalesced, (OBJECTS - KEYS) as u64);

    // The next refresh cycle, after the coalescing window: again one read per key.
    tokio::time::advance(Duration::from_secs(2)).await;
    cycle(&engine, &env, &objects).await;
    assert_eq!(factory.calls(), 2 * KEYS as u64, "second cycle");
}

#[tokio::test(start_paused = true)]
async fn in_flight_reads_coalesce_without_a_window() {
    let mut factory = factory();
    factory.delay = Some(Duration::from_millis(50));
    let config = EngineConfig {
        fetch: FetchConfig {
            coalesce_window: Duration::ZERO,
            max_concurrent_per_store: 10_000,
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::new(Arc::new(factory.factory()), config);
    let objects = objects();
    let env = env_for(&objects);
    cycle(&engine, &env, &objects).await;
    assert_eq!(factory.calls(), KEYS as u64);
    // Without a window, the next cycle reads again.
    cycle(&engine, &env, &objects[..KEYS]).await;
    assert_eq!(factory.calls(), 2 * KEYS as u64);
}

#[tokio::test(start_paused = true)]
async fn provider_is_built_once_and_rebuilt_on_spec_change() {
    let factory = factory();
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    let objects = objects();
    let env = env_for(&objects);
    cycle(&engine, &env, &objects[..100]).await;
    assert_eq!(factory.builds.load(std::sync::atomic::Ordering::SeqCst), 1);
    let spec = secretsync_model::secret_store::SecretStoreSpec {
        controller: Some("other".into()),
        ..Default::default()
    };
    let env = env_with(&objects, &spec);
    cycle(&engine, &env, &objects[..100]).await;
    assert_eq!(factory.builds.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn purge_forgets_values_after_the_window() {
    let factory = factory();
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    let objects = objects();
    let env = env_for(&objects);
    cycle(&engine, &env, &objects[..10]).await;
    assert_eq!(engine.fetch_layer().cached_reads(), 10);
    engine.fetch_layer().purge();
    assert_eq!(
        engine.fetch_layer().cached_reads(),
        10,
        "still inside the window"
    );
    tokio::time::advance(Duration::from_millis(1500)).await;
    engine.fetch_layer().purge();
    assert_eq!(engine.fetch_layer().cached_reads(), 0);

    // Reads periodic refreshes made are kept past the window, for the refreshes of their
    // group that fell due before they started (`FetchConfig::refresh_reuse`, 60 s), and no
    // longer.
    wave(
        &engine,
        &env,
        &objects[..10],
        Some(tokio::time::Instant::now()),
    )
    .await;
    engine.fetch_layer().purge();
    assert_eq!(
        engine.fetch_layer().cached_reads(),
        10,
        "kept for refreshes"
    );
    tokio::time::advance(FetchConfig::default().refresh_reuse).await;
    engine.fetch_layer().purge();
    assert_eq!(engine.fetch_layer().cached_reads(), 0);
}

#[tokio::test(start_paused = true)]
async fn reads_kept_for_refreshes_are_bounded_oldest_first() {
    let factory = factory();
    let config = EngineConfig {
        fetch: FetchConfig {
            max_refresh_reads: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::new(Arc::new(factory.factory()), config);
    let objects = objects();
    let env = env_for(&objects);
    // Ten refreshes of distinct keys, one second apart: past the window only four are kept.
    for o in &objects[..10] {
        wave(
            &engine,
            &env,
            std::slice::from_ref(o),
            Some(tokio::time::Instant::now()),
        )
        .await;
    }
    engine.fetch_layer().purge();
    assert_eq!(engine.fetch_layer().cached_reads(), 4);
    assert_eq!(factory.calls(), 10);
    // The newest are the ones kept: a refresh of the last key, due at its read, reads nothing.
    let last_read_at = tokio::time::Instant::now() - Duration::from_secs(1);
    wave(&engine, &env, &objects[9..10], Some(last_read_at)).await;
    assert_eq!(factory.calls(), 10, "the newest read was kept");
    let first_read_at = tokio::time::Instant::now() - Duration::from_secs(11);
    wave(&engine, &env, &objects[..1], Some(first_read_at)).await;
    assert_eq!(factory.calls(), 11, "the oldest read was dropped");
}

/// Syncs `objects` as periodic refreshes that fell due at `due` (tokio's clock), 100 at a
/// time, one second (longer than the coalescing window) between the batches: a refresh wave
/// that takes longer than the window to get through the sync slots.
async fn wave(
    engine: &Engine,
    env: &MemoryEnvironment,
    objects: &[ExternalSecret],
    due: Option<tokio::time::Instant>,
) {
    for chunk in objects.chunks(100) {
        // The wall-clock instant `due` stands for (the refresh decision works on wall time).
        let due_wall = |due: tokio::time::Instant| std::time::SystemTime::now() - due.elapsed();
        let outcomes = join_all(chunk.iter().map(|o| async move {
            match due {
                Some(due) => engine.sync_fresh_since(o, env, due_wall(due)).await,
                None => engine.sync(o, env).await,
            }
        }))
        .await;
        for o in outcomes {
            assert!(
                matches!(o.result, Ok(SyncResult::Write(_))),
                "{:?}",
                o.result
            );
        }
        tokio::time::advance(Duration::from_secs(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn an_aligned_refresh_wave_reads_each_key_once_however_long_it_takes() {
    let objects = &objects()[..3 * KEYS]; // three readers per key, 10 s apart in the wave
    let env = env_for(objects);

    // Plain syncs: every reader after the window reads again.
    let factory = factory();
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    wave(&engine, &env, objects, None).await;
    assert_eq!(factory.calls(), 3 * KEYS as u64, "plain syncs");

    // Refreshes due at the wave's start share the first read of each key (30 s of wave).
    let factory = self::factory();
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default());
    let cycle_start = tokio::time::Instant::now();
    wave(&engine, &env, objects, Some(cycle_start)).await;
    assert_eq!(factory.calls(), KEYS as u64, "one read per key and cycle");

    // A first sync is not a refresh: past the window it reads afresh.
    let first = engine.sync(&objects[0], &env).await;
    assert!(first.result.is_ok());
    assert_eq!(factory.calls(), KEYS as u64 + 1, "a first sync reads");

    // The next cycle fell due after every read above started: nothing is reused from them.
    tokio::time::advance(Duration::from_secs(1)).await;
    let next_cycle = tokio::time::Instant::now();
    wave(&engine, &env, objects, Some(next_cycle)).await;
    assert_eq!(
        factory.calls(),
        2 * KEYS as u64 + 1,
        "the next cycle reads again"
    );

    // A refresh that fell due after its group's read started reads again.
    let later = tokio::time::Instant::now();
    wave(&engine, &env, &objects[..1], Some(later)).await;
    assert_eq!(
        factory.calls(),
        2 * KEYS as u64 + 2,
        "due after the read started"
    );
}

/// Counts what the fetch layer reports to its observer.
#[derive(Default)]
struct CountingObserver {
    calls: std::sync::Mutex<Vec<(CallLabels, CallStatus)>>,
    coalesced: std::sync::atomic::AtomicU64,
}

impl FetchObserver for CountingObserver {
    fn provider_call(&self, call: &ProviderCall) {
        self.calls.lock().unwrap().push((call.labels, call.status));
    }
    fn read_coalesced(&self, _labels: CallLabels) {
        self.coalesced
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn observer_sees_each_provider_call_and_each_coalesced_read() {
    let factory = factory();
    let observer = Arc::new(CountingObserver::default());
    let engine = Engine::new(Arc::new(factory.factory()), EngineConfig::default())
        .with_observer(observer.clone());
    let objects = objects();
    let env = env_for(&objects);
    cycle(&engine, &env, &objects).await;
    let calls = observer.calls.lock().unwrap().clone();
    assert_eq!(calls.len() as u64, factory.calls());
    assert_eq!(calls.len(), KEYS);
    assert!(
        calls
            .iter()
            .all(|(labels, status)| *status == CallStatus::Success && labels.call == "GetSecret")
    );
    assert_eq!(
        observer.coalesced.load(std::sync::atomic::Ordering::SeqCst),
        (OBJECTS - KEYS) as u64
    );

    // A missing key is one provider call with status error.
    let missing = es(r#"
metadata: {name: missing, namespace: ns-0}
spec:
  secretStoreRef: {name: shared, kind: ClusterSecretStore}
  data:
    - secretKey: value
      remoteRef: {key: no-such-key}
"#);
    let _ = engine.sync(&missing, &env).await;
    let calls = observer.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), KEYS + 1);
    assert_eq!(calls.last().unwrap().1, CallStatus::Error);
}
