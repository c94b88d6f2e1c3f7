//! The controllers against the Kubernetes API double: graceful shutdown, readiness, ESO's flood
//! gate, first-sync priority, the routine event budget and the reads of a mass first sync.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "controllers/first_sync_reads.rs"]
mod first_sync_reads;
#[path = "controllers/gate.rs"]
mod gate;
#[path = "controllers/routine_events.rs"]
mod routine_events;
mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use secretsync_kube::{Lifecycle, Metrics, SecretSyncer};
use secretsync_model::provider::ProviderFactory;
use secretsync_model::secret_store::SecretStore;
use support::{
    Cluster, CountingFactory, RecordingSyncer, config, crd_dir, crds_without, external_secret,
    fake_store, wait_for,
};
use tokio::task::JoinHandle;

type Running = JoinHandle<Result<(), secretsync_kube::RunError>>;

fn start(
    cluster: &Cluster,
    config: secretsync_kube::Config,
    syncer: Arc<dyn SecretSyncer>,
    factory: Arc<dyn ProviderFactory>,
) -> (Running, Lifecycle, Metrics) {
    let lifecycle = Lifecycle::default();
    let metrics = Metrics::default();
    let handle = tokio::spawn(secretsync_kube::run_with(
        cluster.client.clone(),
        config,
        syncer,
        factory,
        metrics.clone(),
        lifecycle.clone(),
    ));
    (handle, lifecycle, metrics)
}

async fn store_ready(cluster: &Cluster, name: &str) -> Option<String> {
    let store = Api::<SecretStore>::namespaced(cluster.client.clone(), &cluster.namespace)
        .get_opt(name)
        .await
        .unwrap()?;
    let c = store
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some(
        serde_json::to_value(c.status)
            .unwrap()
            .as_str()?
            .to_string(),
    )
}

async fn secret_value(cluster: &Cluster, name: &str) -> Option<String> {
    let s = cluster.secret(name).await?;
    let v = s.data?.get("value")?.0.clone();
    Some(String::from_utf8(v).unwrap())
}

/// The API double with SecretStore `fake` (key `db` = `v-1`) in the test namespace, the
/// factory counting its providers' calls and a syncer taking `sync_delay` per sync.
async fn fake_store_cluster(
    sync_delay: Duration,
) -> (Cluster, String, CountingFactory, Arc<RecordingSyncer>) {
    let cluster = Cluster::start(crd_dir()).await;
    let ns = cluster.namespace.clone();
    let factory = CountingFactory::default();
    let syncer = RecordingSyncer::new(Arc::new(factory.clone()), sync_delay);
    cluster
        .apply::<SecretStore>(Some(&ns), fake_store("fake", &ns, &[("db", "v-1")]))
        .await;
    (cluster, ns, factory, syncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_sync_in_flight_and_its_writes() {
    let (cluster, ns, factory, syncer) = fake_store_cluster(Duration::from_millis(1500)).await;
    // One slot: the second ExternalSecret waits at the gate while the first syncs.
    let mut cfg = config(&ns);
    cfg.concurrency = 1;
    let (running, lifecycle, metrics) =
        start(&cluster, cfg, syncer.clone(), Arc::new(factory.clone()));
    wait_for(
        Duration::from_secs(30),
        "the store to turn Ready",
        || async { (store_ready(&cluster, "fake").await.as_deref() == Some("True")).then_some(()) },
    )
    .await;
    for name in ["app-1", "app-2"] {
        cluster
            .apply::<secretsync_model::external_secret::ExternalSecret>(
                Some(&ns),
                external_secret(name, &ns, "fake", "db", "1h"),
            )
            .await;
    }
    let in_flight = wait_for(Duration::from_secs(30), "a sync to start", || async {
        syncer
            .log()
            .iter()
            .find(|r| r.finished.is_none())
            .map(|r| r.name.clone())
    })
    .await;
    let waiting = if in_flight == "app-1" {
        "app-2"
    } else {
        "app-1"
    };
    // The other reconcile waits at the gate.
    wait_for(
        Duration::from_secs(30),
        "a reconcile waiting for the slot",
        || async { (metrics.waiting_for_slot("first") >= 1).then_some(()) },
    )
    .await;
    assert!(
        cluster.secret(&in_flight).await.is_none(),
        "still in flight"
    );

    let cancelled = Instant::now();
    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("run_with returns after the in-flight reconcile")
        .unwrap()
        .unwrap();
    let returned = Instant::now();

    let log = syncer.log();
    let sync = log.iter().find(|r| r.name == in_flight).unwrap();
    let finished = sync.finished.expect("the sync in flight was awaited");
    assert!(
        finished > cancelled && finished <= returned,
        "run_with returned {:?} after cancel, the sync finished {:?} after cancel",
        returned - cancelled,
        finished.saturating_duration_since(cancelled)
    );
    assert_eq!(
        secret_value(&cluster, &in_flight).await.as_deref(),
        Some("v-1"),
        "the Secret write of the in-flight reconcile completed"
    );
    let (status, reason, _) = cluster.ready_of(&in_flight).await.expect("status written");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "SecretSynced"));
    assert!(!lifecycle.ready.is_ready(), "not ready once stopped");
    assert!(
        log.iter().all(|r| r.name != waiting),
        "the reconcile waiting for a slot gave up instead of syncing: {log:?}"
    );

    // Nothing reconciles any more: `run_with` has returned, so no watch is open and no
    // controller task is left to react to a new object.
    cluster
        .apply::<secretsync_model::external_secret::ExternalSecret>(
            Some(&ns),
            external_secret("late", &ns, "fake", "db", "1h"),
        )
        .await;
    let watches_after = cluster
        .server
        .request_log()
        .iter()
        .filter(|r| r.verb == "watch" && r.resource == "externalsecrets")
        .count();
    assert!(syncer.log().iter().all(|r| r.name != "late"));
    assert_eq!(
        cluster.server.request_count("watch", "externalsecrets"),
        watches_after,
        "no watch re-opened after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_once_every_watch_has_listed() {
    // Without the ClusterExternalSecret CRD that controller's watches cannot list.
    let crds = crds_without("clusterexternalsecrets");
    let cluster = Cluster::start(crds.path().to_path_buf()).await;
    let ns = cluster.namespace.clone();
    let factory = CountingFactory::default();
    let syncer = RecordingSyncer::new(Arc::new(factory.clone()), Duration::ZERO);
    cluster
        .apply::<SecretStore>(Some(&ns), fake_store("fake", &ns, &[("db", "v-1")]))
        .await;
    cluster
        .apply::<secretsync_model::external_secret::ExternalSecret>(
            Some(&ns),
            external_secret("app", &ns, "fake", "db", "1h"),
        )
        .await;
    let (running, lifecycle, _) = start(&cluster, config(&ns), syncer, Arc::new(factory));
    assert!(!lifecycle.ready.is_ready());
    // The other controllers work meanwhile: the ExternalSecret gets synced...
    wait_for(Duration::from_secs(30), "the Secret", || async {
        secret_value(&cluster, "app").await
    })
    .await;
    // ...and the ClusterExternalSecret watch has tried to list (and failed) twice...
    wait_for(
        Duration::from_secs(30),
        "the ClusterExternalSecret list to fail twice",
        || async {
            (cluster
                .server
                .request_log()
                .iter()
                .filter(|r| r.path.contains("clusterexternalsecrets") && r.code >= 400)
                .count()
                >= 2)
                .then_some(())
        },
    )
    .await;
    // ...but the controllers are not ready while one watch has never listed.
    assert!(
        !lifecycle.ready.is_ready(),
        "ready although the ClusterExternalSecret watch never listed"
    );

    let text =
        std::fs::read_to_string(crd_dir().join("clusterexternalsecrets.external-secrets.io.yaml"))
            .unwrap();
    let crd: CustomResourceDefinition = serde_yaml::from_str(&text).unwrap();
    Api::<CustomResourceDefinition>::all(cluster.client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), lifecycle.ready.wait())
        .await
        .expect("ready once the ClusterExternalSecret watch lists");
    assert!(lifecycle.ready.is_ready());

    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!lifecycle.ready.is_ready());
}

/// A SecretStore whose validation fails (its data is fine) and an ExternalSecret using it.
async fn store_failing_validation() -> (Cluster, String, CountingFactory, Arc<RecordingSyncer>) {
    let (cluster, ns, factory, syncer) = fake_store_cluster(Duration::ZERO).await;
    factory.invalid.store(true, Ordering::SeqCst);
    cluster
        .apply::<secretsync_model::external_secret::ExternalSecret>(
            Some(&ns),
            external_secret("app", &ns, "fake", "db", "1h"),
        )
        .await;
    (cluster, ns, factory, syncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_gate_holds_external_secrets_until_their_store_is_ready() {
    let (cluster, ns, factory, syncer) = store_failing_validation().await;
    let mut cfg = config(&ns);
    cfg.flood_gate = true;
    let (running, lifecycle, _) = start(&cluster, cfg, syncer.clone(), Arc::new(factory.clone()));

    let (status, reason, message) = wait_for(
        Duration::from_secs(30),
        "the flood gate to show in the status",
        || async {
            cluster
                .ready_of("app")
                .await
                .filter(|(_, _, m)| m.contains("is not ready") && m.contains("ValidationFailed"))
        },
    )
    .await;
    assert_eq!(status, "False");
    assert_eq!(reason, "SecretSyncedError");
    assert!(
        message
            .contains(r#"SecretStore "fake" is not ready (Ready=False, reason ValidationFailed)"#)
            && message.contains("flood gate"),
        "{message}"
    );
    assert_eq!(
        store_ready(&cluster, "fake").await.as_deref(),
        Some("False")
    );
    // Retried (backoff 200 ms .. 1 s) without ever reaching the provider.
    wait_for(
        Duration::from_secs(30),
        "the refused sync retried twice",
        || async { (syncer.log().len() >= 3).then_some(()) },
    )
    .await;
    assert_eq!(
        factory.reads(),
        0,
        "no provider call for a store that is not ready"
    );
    assert!(cluster.secret("app").await.is_none());

    // The store recovers (re-validated every second): the ExternalSecret syncs.
    factory.invalid.store(false, Ordering::SeqCst);
    assert_eq!(
        wait_for(
            Duration::from_secs(30),
            "the Secret after the store turned Ready",
            || async { secret_value(&cluster, "app").await }
        )
        .await,
        "v-1"
    );
    assert!(factory.reads() >= 1);
    wait_for(Duration::from_secs(10), "Ready=True", || async {
        cluster
            .ready_of("app")
            .await
            .filter(|(s, _, _)| s == "True")
    })
    .await;

    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flood_gate_a_store_that_is_not_ready_is_used() {
    let (cluster, ns, factory, syncer) = store_failing_validation().await;
    let mut cfg = config(&ns);
    cfg.flood_gate = false;
    let (running, lifecycle, _) = start(&cluster, cfg, syncer, Arc::new(factory.clone()));
    assert_eq!(
        wait_for(Duration::from_secs(30), "the Secret", || async {
            secret_value(&cluster, "app").await
        })
        .await,
        "v-1"
    );
    // The store controller writes the store's status on its own schedule: wait for it.
    assert_eq!(
        wait_for(
            Duration::from_secs(30),
            "the store's Ready condition",
            || async { store_ready(&cluster, "fake").await }
        )
        .await,
        "False"
    );
    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// Panics for ExternalSecret `panics`, never returns for `hangs`, syncs the others.
struct Misbehaving(Arc<RecordingSyncer>);

#[async_trait::async_trait]
impl SecretSyncer for Misbehaving {
    async fn sync(
        &self,
        es: &secretsync_model::external_secret::ExternalSecret,
        env: &dyn secretsync_engine::SyncEnvironment,
    ) -> secretsync_engine::SyncOutcome {
        match es.metadata.name.as_deref() {
            Some("panics") => panic!("injected panic inside a reconcile"),
            Some("hangs") => std::future::pending().await,
            _ => self.0.sync(es, env).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_or_a_hung_reconcile_is_that_objects_sync_error() {
    let (cluster, ns, factory, syncer) = fake_store_cluster(Duration::ZERO).await;
    let mut cfg = config(&ns);
    cfg.concurrency = 2;
    cfg.reconcile_timeout = Duration::from_millis(500);
    let (running, lifecycle, metrics) = start(
        &cluster,
        cfg,
        Arc::new(Misbehaving(syncer)),
        Arc::new(factory.clone()),
    );
    for name in ["panics", "hangs", "healthy"] {
        cluster
            .apply::<secretsync_model::external_secret::ExternalSecret>(
                Some(&ns),
                external_secret(name, &ns, "fake", "db", "1h"),
            )
            .await;
    }
    let (_, reason, message) = wait_for(Duration::from_secs(30), "the panic reported", || async {
        cluster
            .ready_of("panics")
            .await
            .filter(|(s, _, m)| s == "False" && m.contains("panicked"))
    })
    .await;
    assert_eq!(reason, "SecretSyncedError");
    assert!(message.contains("retrying with backoff"), "{message}");
    let (_, _, message) = wait_for(Duration::from_secs(30), "the deadline reported", || async {
        cluster
            .ready_of("hangs")
            .await
            .filter(|(s, _, m)| s == "False" && m.contains("deadline"))
    })
    .await;
    assert!(
        message.contains("500ms") && message.contains("--reconcile-timeout"),
        "{message}"
    );
    // Both are retried (backoff), the process stays up, and the others keep syncing.
    wait_for(Duration::from_secs(30), "retries of both", || async {
        (metrics.external_secret_reconciles(&ns, "panics") >= 2
            && metrics.external_secret_reconciles(&ns, "hangs") >= 2)
            .then_some(())
    })
    .await;
    assert_eq!(
        wait_for(Duration::from_secs(30), "the healthy Secret", || async {
            secret_value(&cluster, "healthy").await
        })
        .await,
        "v-1"
    );
    assert!(!running.is_finished(), "the controllers still run");
    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_reach_the_engine_with_the_instant_their_reads_must_follow() {
    use kube::api::{Patch, PatchParams};
    use secretsync_model::external_secret::ExternalSecret;

    let (cluster, ns, factory, syncer) = fake_store_cluster(Duration::ZERO).await;
    cluster
        .apply::<ExternalSecret>(Some(&ns), external_secret("app", &ns, "fake", "db", "2s"))
        .await;
    let operator_started = SystemTime::now();
    let (running, lifecycle, _) = start(&cluster, config(&ns), syncer.clone(), Arc::new(factory));
    let app_log = || -> Vec<support::SyncRecord> {
        syncer
            .log()
            .into_iter()
            .filter(|r| r.name == "app")
            .collect()
    };
    // Each sync's instant lies between `after` and the sync's own start.
    let since = |r: &support::SyncRecord, after: SystemTime| -> SystemTime {
        let since = r.fresh_since.unwrap_or_else(|| panic!("no instant: {r:?}"));
        assert!(
            since >= after,
            "{r:?} is served by reads from before {after:?}"
        );
        assert!(
            since <= r.started_at,
            "{r:?}: its instant is after it started"
        );
        since
    };
    let log = wait_for(
        Duration::from_secs(60),
        "two periodic refreshes of app",
        || async {
            let log = app_log();
            (log.iter().filter(|r| !r.first_sync).count() >= 2).then_some(log)
        },
    )
    .await;
    // The first sync: served by reads started since the operator first saw the object.
    assert!(log[0].first_sync, "{log:?}");
    let first_seen = since(&log[0], operator_started);
    for r in &log[1..] {
        // Every later sync was a periodic refresh (the Secret stayed intact), handed to the
        // engine with the instant it fell due: after the first sync, late by less than the
        // test's patience.
        assert!(!r.first_sync, "{r:?}");
        let due = since(r, first_seen);
        let late = r.started_at.duration_since(due).expect("due before it ran");
        assert!(late < Duration::from_secs(30), "{late:?} late");
    }

    // A changed annotation makes the next sync a first sync again, served only by reads
    // started after the change.
    let synced_before = app_log().len();
    let patched_at = SystemTime::now();
    Api::<ExternalSecret>::namespaced(cluster.client.clone(), &ns)
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"force-sync": "1"}}})),
        )
        .await
        .unwrap();
    let first = wait_for(
        Duration::from_secs(30),
        "a first sync after the annotation change",
        || async {
            app_log()[synced_before..]
                .iter()
                .find(|r| r.first_sync)
                .cloned()
        },
    )
    .await;
    since(&first, patched_at);

    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_store_leaves_no_provider_and_no_metric_series_behind() {
    let (cluster, ns, factory, _) = fake_store_cluster(Duration::ZERO).await;
    cluster
        .apply::<secretsync_model::external_secret::ExternalSecret>(
            Some(&ns),
            external_secret("app", &ns, "fake", "db", "1h"),
        )
        .await;
    let engine = Arc::new(secretsync_engine::Engine::new(
        Arc::new(factory.clone()),
        secretsync_engine::EngineConfig::default(),
    ));
    let (running, lifecycle, metrics) = start(
        &cluster,
        config(&ns),
        engine.clone(),
        Arc::new(factory.clone()),
    );
    let series = r#"secretstore_status_condition{name="fake""#;
    let scrape = || {
        let mut text = String::new();
        metrics.encode_eso(&mut text);
        text
    };
    wait_for(
        Duration::from_secs(30),
        "the Secret and the store's series",
        || async {
            let synced = secret_value(&cluster, "app").await.as_deref() == Some("v-1");
            (synced && scrape().contains(series)).then_some(())
        },
    )
    .await;
    assert_eq!(engine.fetch_layer().stores_held(), 1);

    Api::<SecretStore>::namespaced(cluster.client.clone(), &ns)
        .delete("fake", &Default::default())
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(60),
        "the deleted store forgotten",
        || async {
            (engine.fetch_layer().stores_held() == 0 && !scrape().contains(series)).then_some(())
        },
    )
    .await;
    assert_eq!(
        secret_value(&cluster, "app").await.as_deref(),
        Some("v-1"),
        "the Secret stays"
    );

    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}
