//! Exclusive use of a shared real cluster: test processes on the same
//! `SECRETSYNC_TEST_KUBECONFIG` cluster take turns through a lock. On the API double each test
//! has a private server and needs no lock.
//!
//! The lock is a ConfigMap `secretsync-test-lock-<name>` in `default`: creating it takes the
//! lock (the API server answers 409 to the second creator), deleting it releases it. A lock
//! older than [`STALE_AFTER`] is taken to belong to a killed test and is removed.
//!
//! Every Kubernetes test takes [`KUBE_TESTS`] through [`take_turn`] / [`take_turn_blocking`] for
//! as long as it runs: the tests start operators that serve every store without a controller
//! class (ESO's rule), some use ADR-002's fixed names (its ClusterSecretStores,
//! `crossplane-system`), so on one real cluster they run one at a time, whatever the test
//! runner's parallelism.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};

/// Namespace holding the lock objects.
pub const LOCK_NAMESPACE: &str = "default";
/// The lock every Kubernetes test holds while it runs against a real cluster (see the module
/// docs).
pub const KUBE_TESTS: &str = "kube-tests";
/// How long a test waits for its turn among the others on the same real cluster.
pub const TURN_WAIT: Duration = Duration::from_secs(3600);
/// A lock held longer than this is abandoned (its test was killed) and may be broken.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// A held lock; released (deleted) on drop.
#[derive(Debug)]
pub struct ClusterLock {
    config: kube::Config,
    name: String,
}

impl ClusterLock {
    /// Waits up to `wait` for the lock `name` on the cluster `config` names, and takes it.
    pub async fn acquire(config: &kube::Config, name: &str, wait: Duration) -> ClusterLock {
        let client = kube::Client::try_from(config.clone()).expect("kube client");
        let api: Api<ConfigMap> = Api::namespaced(client, LOCK_NAMESPACE);
        let object_name = format!("secretsync-test-lock-{name}");
        let lock: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": object_name},
            "data": {"holder": format!("pid {}", std::process::id())},
        }))
        .expect("lock ConfigMap");
        let deadline = Instant::now() + wait;
        loop {
            match api.create(&PostParams::default(), &lock).await {
                Ok(_) => {
                    return ClusterLock {
                        config: config.clone(),
                        name: object_name,
                    };
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    let stale = api
                        .get_opt(&object_name)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|held| held.metadata.creation_timestamp)
                        .is_some_and(|created| {
                            let age = jiff::Timestamp::now().duration_since(created.0);
                            age.as_secs() >= STALE_AFTER.as_secs() as i64
                        });
                    if stale {
                        let _ = api.delete(&object_name, &DeleteParams::default()).await;
                        continue;
                    }
                }
                Err(e) => panic!("taking the test lock {object_name}: {e}"),
            }
            assert!(
                Instant::now() < deadline,
                "the test lock {LOCK_NAMESPACE}/{object_name} was held by another test for {wait:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let (config, name) = (self.config.clone(), self.name.clone());
        // Drop cannot await: release on a thread with its own runtime and its own client (a
        // client is bound to the runtime that made it), and wait for it.
        let released = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = kube::Client::try_from(config).ok()?;
                Api::<ConfigMap>::namespaced(client, LOCK_NAMESPACE)
                    .delete(&name, &DeleteParams::default())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(released, Ok(Some(_))) {
            eprintln!("the test lock was not released; it expires after {STALE_AFTER:?}");
        }
    }
}

/// This process's turn, shared by every harness of one test (a test may start two).
static TURN: tokio::sync::Mutex<Weak<ClusterLock>> = tokio::sync::Mutex::const_new(Weak::new());

/// On a real cluster (`SECRETSYNC_TEST_KUBECONFIG`), waits for this test's turn ([`KUBE_TESTS`])
/// and holds it until the last clone is dropped; `None` on the API double (a private server
/// per test).
pub async fn take_turn() -> Option<Arc<ClusterLock>> {
    let (_, config) = crate::cluster::real_cluster_config().await?;
    let mut held = TURN.lock().await;
    if let Some(turn) = held.upgrade() {
        return Some(turn);
    }
    let turn = Arc::new(ClusterLock::acquire(&config, KUBE_TESTS, TURN_WAIT).await);
    *held = Arc::downgrade(&turn);
    Some(turn)
}

/// [`take_turn`] for tests without an async runtime (on a thread with its own).
pub fn take_turn_blocking() -> Option<Arc<ClusterLock>> {
    std::env::var_os(crate::cluster::TEST_KUBECONFIG_ENV)?;
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to take the test's turn")
            .block_on(take_turn())
    })
    .join()
    .expect("taking the test's turn")
}
