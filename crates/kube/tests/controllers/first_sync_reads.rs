//! A mass first sync that takes longer than the coalescing window reads each remote key once:
//! the ExternalSecrets the operator found at start share the reads made since it saw them.

use std::sync::Arc;
use std::time::Duration;

use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;

use super::start;
use super::support::{
    Cluster, CountingFactory, RecordingSyncer, config, crd_dir, external_secret, fake_store,
    wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_first_sync_reads_each_key_once_however_long_it_takes() {
    const KEYS: usize = 4;
    const OBJECTS: usize = 48;
    let cluster = Cluster::start(crd_dir()).await;
    let ns = cluster.namespace.clone();
    let factory = CountingFactory::default();
    // Two slots, 100 ms per sync: the first sync takes about 2.4 s, past the 1 s window in
    // which any identical read is shared.
    let syncer = RecordingSyncer::new(Arc::new(factory.clone()), Duration::from_millis(100));
    let data: Vec<(String, String)> = (0..KEYS)
        .map(|k| (format!("key-{k}"), format!("value-{k}")))
        .collect();
    let data: Vec<(&str, &str)> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    cluster
        .apply::<SecretStore>(Some(&ns), fake_store("fake", &ns, &data))
        .await;
    for i in 0..OBJECTS {
        cluster
            .apply::<ExternalSecret>(
                Some(&ns),
                external_secret(
                    &format!("app-{i}"),
                    &ns,
                    "fake",
                    &format!("key-{}", i % KEYS),
                    "1h",
                ),
            )
            .await;
    }
    let mut cfg = config(&ns);
    cfg.concurrency = 2;
    let (running, lifecycle, _) = start(&cluster, cfg, syncer.clone(), Arc::new(factory.clone()));
    wait_for(Duration::from_secs(60), "every first sync", || async {
        let done = syncer.log().iter().filter(|r| r.finished.is_some()).count();
        (done >= OBJECTS).then_some(())
    })
    .await;
    let log = syncer.log();
    let took = log
        .iter()
        .filter_map(|r| r.finished)
        .max()
        .expect("finished")
        .duration_since(log.iter().map(|r| r.started).min().expect("started"));
    assert!(
        took > Duration::from_millis(1500),
        "the first sync took {took:?}: shorter than needed to outlast the coalescing window"
    );
    for i in 0..OBJECTS {
        let secret = cluster.secret(&format!("app-{i}")).await;
        let value = secret
            .and_then(|s| s.data)
            .and_then(|d| d.get("value").cloned())
            .map(|v| String::from_utf8(v.0).expect("utf-8"));
        assert_eq!(value, Some(format!("value-{}", i % KEYS)), "app-{i}");
    }
    assert_eq!(
        factory.reads_of_stores_in(&ns),
        KEYS as u64,
        "one read per key for {OBJECTS} first syncs over {took:?}"
    );
    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}
