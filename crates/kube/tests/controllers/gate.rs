//! The sync slots: first syncs overtake queued refreshes, and the runner holds at most
//! `reconciles_in_flight` reconciles (the rest wait in its queue).

use std::sync::Arc;
use std::time::{Duration, Instant};

use secretsync_kube::{Lifecycle, Metrics};

use super::support::{Cluster, RecordingSyncer, config, external_secret, wait_for};
use super::{Running, fake_store_cluster, start, store_ready};

/// An operator with one sync slot (and at most `in_flight` reconciles, if given) over a fake
/// store whose syncs take `sync`, started and its store Ready.
async fn one_slot(
    sync: Duration,
    in_flight: Option<u16>,
) -> (
    Cluster,
    String,
    Arc<RecordingSyncer>,
    Running,
    Lifecycle,
    Metrics,
) {
    let (cluster, ns, factory, syncer) = fake_store_cluster(sync).await;
    let mut cfg = config(&ns);
    cfg.concurrency = 1;
    if let Some(in_flight) = in_flight {
        cfg.reconciles_in_flight = in_flight;
    }
    let (running, lifecycle, metrics) = start(&cluster, cfg, syncer.clone(), Arc::new(factory));
    wait_for(
        Duration::from_secs(30),
        "the store to turn Ready",
        || async { (store_ready(&cluster, "fake").await.as_deref() == Some("True")).then_some(()) },
    )
    .await;
    (cluster, ns, syncer, running, lifecycle, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_external_secret_overtakes_queued_refreshes() {
    let (cluster, ns, syncer, running, lifecycle, metrics) =
        one_slot(Duration::from_millis(300), None).await;
    // Eight ExternalSecrets refreshing every second, 300 ms per sync, one slot: 2.4 s of work
    // per second, so refreshes pile up at the gate.
    for i in 0..8 {
        cluster
            .apply::<secretsync_model::external_secret::ExternalSecret>(
                Some(&ns),
                external_secret(&format!("busy-{i}"), &ns, "fake", "db", "1s"),
            )
            .await;
    }
    for i in 0..8 {
        wait_for(Duration::from_secs(30), "the busy Secrets", || async {
            cluster.secret(&format!("busy-{i}")).await
        })
        .await;
    }
    wait_for(
        Duration::from_secs(30),
        "refreshes queued at the gate",
        || async { (metrics.waiting_for_slot("refresh") >= 3).then_some(()) },
    )
    .await;
    let before = syncer.log();
    cluster
        .apply::<secretsync_model::external_secret::ExternalSecret>(
            Some(&ns),
            external_secret("newcomer", &ns, "fake", "db", "1h"),
        )
        .await;
    // Count from the moment the newcomer reaches the gate (watch latency on a loaded machine is
    // not what this test measures): it is waiting there, or has already been let through.
    let deadline = Instant::now() + Duration::from_secs(30);
    let at_gate = loop {
        assert!(
            Instant::now() < deadline,
            "the newcomer never reached the gate"
        );
        let started = syncer.log().iter().any(|r| r.name == "newcomer");
        if metrics.waiting_for_slot("first") >= 1 || started {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    wait_for(Duration::from_secs(30), "the newcomer's Secret", || async {
        cluster.secret("newcomer").await
    })
    .await;
    let log = syncer.log();
    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();

    // The gate was saturated when the newcomer arrived: the last syncs ran back to back.
    let recent: Vec<_> = before.iter().rev().take(4).collect();
    for pair in recent.windows(2) {
        let (later, earlier) = (pair[0], pair[1]);
        let gap = later
            .started
            .saturating_duration_since(earlier.finished.unwrap_or(earlier.started));
        assert!(
            gap < Duration::from_millis(150),
            "refreshes were not queued before the newcomer: gap {gap:?} in {before:?}"
        );
    }
    let after: Vec<&str> = log
        .iter()
        .filter(|r| r.started >= at_gate || r.name == "newcomer")
        .map(|r| r.name.as_str())
        .collect();
    let position = after
        .iter()
        .position(|n| *n == "newcomer")
        .expect("the newcomer synced");
    assert!(
        position <= 1,
        "the newcomer waited behind {position} queued refreshes: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciles_in_flight_are_capped_and_the_rest_wait_their_turn() {
    let (cluster, ns, _syncer, running, lifecycle, metrics) =
        one_slot(Duration::from_millis(150), Some(2)).await;
    const COUNT: usize = 6;
    for i in 0..COUNT {
        cluster
            .apply::<secretsync_model::external_secret::ExternalSecret>(
                Some(&ns),
                external_secret(&format!("capped-{i}"), &ns, "fake", "db", "1h"),
            )
            .await;
    }
    // Two in flight: one holds the slot, one waits at the gate; the others wait in the
    // scheduler, where the gate's gauge does not count them. Unbounded, five would wait.
    let mut most_waiting = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        most_waiting = most_waiting.max(metrics.waiting_for_slot("first"));
        let mut synced = 0;
        for i in 0..COUNT {
            if cluster.secret(&format!("capped-{i}")).await.is_some() {
                synced += 1;
            }
        }
        if synced == COUNT {
            break;
        }
        assert!(Instant::now() < deadline, "{synced} of {COUNT} synced");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
    assert!(
        most_waiting <= 1,
        "{most_waiting} reconciles waited at the gate with two in flight"
    );
}
