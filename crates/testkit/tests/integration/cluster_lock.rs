//! The cluster lock tests take on a shared real cluster, exercised against the API double.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use secretsync_testkit::cluster_lock::{ClusterLock, LOCK_NAMESPACE};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

async fn config_of(server: &KubeApiServer) -> kube::Config {
    let kubeconfig: kube::config::Kubeconfig =
        serde_yaml::from_str(&server.kubeconfig_yaml()).expect("kubeconfig");
    kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_holder_waits_until_the_first_drops_the_lock() {
    let server = KubeApiServer::start(KubeApiOptions::default())
        .await
        .expect("API double");
    let config = config_of(&server).await;
    let locks: Api<ConfigMap> = Api::namespaced(server.client().expect("client"), LOCK_NAMESPACE);
    let first = ClusterLock::acquire(&config, "t", Duration::from_secs(5)).await;
    assert!(
        locks
            .get_opt("secretsync-test-lock-t")
            .await
            .expect("get")
            .is_some()
    );
    let (taken_tx, mut taken_rx) = tokio::sync::oneshot::channel();
    let waiter = {
        let config = config.clone();
        tokio::spawn(async move {
            let second = ClusterLock::acquire(&config, "t", Duration::from_secs(20)).await;
            let _ = taken_tx.send(());
            second
        })
    };
    // The waiter polls every 250 ms: after several polls it still has not got the lock.
    let polls_before = server.request_count("create", "configmaps");
    tokio::time::timeout(Duration::from_secs(10), async {
        while server.request_count("create", "configmaps") < polls_before + 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the waiter kept trying");
    assert!(taken_rx.try_recv().is_err(), "taken while held");
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter got the lock after the drop")
        .expect("waiter");
    drop(second);
    assert!(
        locks
            .get_opt("secretsync-test-lock-t")
            .await
            .expect("get")
            .is_none(),
        "released on drop"
    );
}
