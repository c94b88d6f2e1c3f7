//! Routine events under a mass first sync in one namespace: `Created` events up to that
//! namespace's share of the budget, the rest skipped and counted, every Secret written all the
//! same.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};

use super::support::{config, external_secret, wait_for};
use super::{fake_store_cluster, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_first_sync_publishes_created_events_up_to_the_budget() {
    const COUNT: usize = 8;
    const BURST: u32 = 12;
    // One namespace's share of the burst (`events::NAMESPACE_SHARE`, a quarter).
    const SHARE: u32 = 3;
    let (cluster, ns, factory, syncer) = fake_store_cluster(Duration::ZERO).await;
    let mut cfg = config(&ns);
    cfg.routine_event_burst = BURST;
    // No refill within the test.
    cfg.routine_events_per_second = 0.001;
    let (running, lifecycle, metrics) = start(&cluster, cfg, syncer, Arc::new(factory));
    for i in 0..COUNT {
        cluster
            .apply::<secretsync_model::external_secret::ExternalSecret>(
                Some(&ns),
                external_secret(&format!("mass-{i}"), &ns, "fake", "db", "1h"),
            )
            .await;
    }
    let skipped = COUNT as u64 - u64::from(SHARE);
    wait_for(
        Duration::from_secs(60),
        "the events over the budget counted as skipped",
        || async { (metrics.routine_events_skipped.get() == skipped).then_some(()) },
    )
    .await;
    let events = Api::<Event>::namespaced(cluster.client.clone(), &ns);
    let created = wait_for(
        Duration::from_secs(10),
        "the events within the budget published",
        || async {
            let created: Vec<String> = events
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("Created"))
                .filter_map(|e| e.regarding?.name)
                .collect();
            (created.len() == SHARE as usize).then_some(created)
        },
    )
    .await;
    for i in 0..COUNT {
        assert!(
            cluster.secret(&format!("mass-{i}")).await.is_some(),
            "mass-{i} synced whether or not its event was published ({created:?})"
        );
    }
    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
    assert_eq!(
        metrics.routine_events_skipped.get(),
        skipped,
        "nothing else skipped"
    );
}
