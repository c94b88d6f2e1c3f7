//! Harness for the controller tests: the Kubernetes API double with the project's CRDs, a
//! counting fake-provider factory and a syncer that records (and can slow down) every sync.
#![allow(dead_code, unused_imports, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use secretsync_engine::{Engine, EngineConfig, SyncEnvironment, SyncOutcome};
use secretsync_kube::SecretSyncer;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::provider::ProviderFactory;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

pub mod push;

pub fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

/// A directory with the project's CRDs except those whose file name contains `except`.
pub fn crds_without(except: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(crd_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".external-secrets.io.yaml") && !name.contains(except) {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// The double plus an admin client and a namespace for the test.
pub struct Cluster {
    pub server: KubeApiServer,
    pub client: kube::Client,
    pub namespace: String,
}

impl Cluster {
    pub async fn start(crds: PathBuf) -> Cluster {
        let server = KubeApiServer::start(KubeApiOptions {
            crd_dir: Some(crds),
            ..Default::default()
        })
        .await
        .expect("starting the Kubernetes API double");
        let client = server.client().unwrap();
        let namespace = "apps".to_string();
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        Cluster {
            server,
            client,
            namespace,
        }
    }

    /// Server-side applies a namespaced object (`namespace` must be `Some`).
    pub async fn apply<K>(&self, namespace: Option<&str>, value: serde_json::Value) -> K
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let name = value["metadata"]["name"].as_str().unwrap().to_string();
        let api: Api<K> =
            Api::namespaced(self.client.clone(), namespace.expect("a namespaced object"));
        api.patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(value),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    pub async fn secret(&self, name: &str) -> Option<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
            .get_opt(name)
            .await
            .unwrap()
    }

    pub async fn external_secret(&self, name: &str) -> Option<ExternalSecret> {
        Api::<ExternalSecret>::namespaced(self.client.clone(), &self.namespace)
            .get_opt(name)
            .await
            .unwrap()
    }

    /// (status, reason, message) of an ExternalSecret's Ready condition.
    pub async fn ready_of(&self, name: &str) -> Option<(String, String, String)> {
        let es = self.external_secret(name).await?;
        let c = es
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        Some(condition_triple(c.status, c.reason, c.message))
    }
}

/// (status, reason, message) of a condition, as plain strings.
pub fn condition_triple(
    status: impl serde::Serialize,
    reason: Option<String>,
    message: Option<String>,
) -> (String, String, String) {
    (
        serde_json::to_value(status)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
        reason.unwrap_or_default(),
        message.unwrap_or_default(),
    )
}

/// A fake store `name` in the test namespace serving `data` (key → value).
pub fn fake_store(name: &str, namespace: &str, data: &[(&str, &str)]) -> serde_json::Value {
    let data: Vec<serde_json::Value> = data
        .iter()
        .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
        .collect();
    serde_json::json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"refreshInterval": 1, "provider": {"fake": {"data": data}}}
    })
}

/// An ExternalSecret reading remote `key` into `value` of Secret `name`.
pub fn external_secret(
    name: &str,
    namespace: &str,
    store: &str,
    key: &str,
    interval: &str,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": interval,
            "secretStoreRef": {"name": store, "kind": "SecretStore"},
            "target": {"name": name},
            "data": [{"secretKey": "value", "remoteRef": {"key": key}}]
        }
    })
}

/// The shared test factory (fake providers from the store spec, counted, switchable).
pub use secretsync_testkit::providers::TestFactory as CountingFactory;

/// One engine sync as seen by [`RecordingSyncer`].
#[derive(Clone, Debug)]
pub struct SyncRecord {
    pub name: String,
    pub started: Instant,
    /// The wall-clock start.
    pub started_at: SystemTime,
    pub finished: Option<Instant>,
    /// A first sync (never synced, or spec, labels or annotations changed since).
    pub first_sync: bool,
    /// For a sync served by reads started since an instant ([`SecretSyncer::sync_fresh_since`]:
    /// a periodic refresh, a first sync): that instant.
    pub fresh_since: Option<SystemTime>,
}

/// The engine, behind a configurable delay, logging every sync in start order.
pub struct RecordingSyncer {
    engine: Engine,
    delay_ms: AtomicU64,
    log: Mutex<Vec<SyncRecord>>,
}

impl RecordingSyncer {
    pub fn new(factory: Arc<dyn ProviderFactory>, delay: Duration) -> Arc<Self> {
        Arc::new(RecordingSyncer {
            engine: Engine::new(factory, EngineConfig::default()),
            delay_ms: AtomicU64::new(delay.as_millis() as u64),
            log: Mutex::default(),
        })
    }

    pub fn log(&self) -> Vec<SyncRecord> {
        self.log.lock().unwrap().clone()
    }
}

impl RecordingSyncer {
    async fn run(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        fresh_since: Option<SystemTime>,
    ) -> SyncOutcome {
        use secretsync_kube::controller::external_secret::sync_class;
        use secretsync_kube::controller::priority::SyncClass;
        let name = es.metadata.name.clone().unwrap_or_default();
        let index = {
            let mut log = self.log.lock().unwrap();
            log.push(SyncRecord {
                name,
                started: Instant::now(),
                started_at: SystemTime::now(),
                finished: None,
                first_sync: sync_class(es) == SyncClass::First,
                fresh_since,
            });
            log.len() - 1
        };
        tokio::time::sleep(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))).await;
        let outcome = match fresh_since {
            Some(since) => self.engine.sync_fresh_since(es, env, since).await,
            None => self.engine.sync(es, env).await,
        };
        self.log.lock().unwrap()[index].finished = Some(Instant::now());
        outcome
    }
}

#[async_trait]
impl SecretSyncer for RecordingSyncer {
    async fn sync(&self, es: &ExternalSecret, env: &dyn SyncEnvironment) -> SyncOutcome {
        self.run(es, env, None).await
    }

    async fn sync_fresh_since(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        since: SystemTime,
    ) -> SyncOutcome {
        self.run(es, env, Some(since)).await
    }
}

/// Controller settings for tests: compressed backoff, no jitter, flood gate on (as the
/// operator runs by default).
pub fn config(namespace: &str) -> secretsync_kube::Config {
    secretsync_kube::Config {
        flood_gate: true,
        operator_namespace: namespace.to_string(),
        error_backoff_base: Duration::from_millis(200),
        error_backoff_max: Duration::from_secs(1),
        store_requeue_interval: Duration::from_secs(1),
        refresh_jitter: 0.0,
        ..Default::default()
    }
}

/// Polls `check` every 50 ms until it returns `Some`, panicking with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
