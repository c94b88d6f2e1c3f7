//! Test environment for the Kubernetes controller tests.
//!
//! [`TestEnv::start`] returns the in-process API server double, or a real cluster when env
//! `SECRETSYNC_TEST_KUBECONFIG` names a kubeconfig. Either way it installs the CRDs from
//! `deploy/crds/` when absent, creates unique namespaces and deletes them on [`TestEnv::cleanup`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::events::v1::Event as CoreEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use secretsync_engine::{Engine, EngineConfig};
use secretsync_model::provider::ProviderFactory;
use secretsync_testkit::cluster_lock::ClusterLock;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

/// Captured tracing output of the whole test binary.
pub use secretsync_testkit::logs::capture as logs;

/// Where the tests run.
pub struct TestEnv {
    /// Client with admin rights.
    pub client: kube::Client,
    /// The double, when not on a real cluster.
    pub server: Option<KubeApiServer>,
    /// The main namespace of this test.
    pub namespace: String,
    /// Suffix making names unique.
    pub suffix: String,
    created: Vec<String>,
    /// Cluster-scoped objects applied by the test: (collection URL, name), deleted on cleanup.
    cluster_objects: Mutex<Vec<(String, String)>>,
    /// This test's turn on a real cluster (one Kubernetes test at a time), held until dropped.
    _turn: Option<Arc<ClusterLock>>,
}

fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds")
}

/// The CRD manifests of `deploy/crds/` (the directory also holds a kustomization.yaml).
fn crd_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(crd_dir())
        .expect("deploy/crds")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".external-secrets.io.yaml"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no CRDs in deploy/crds");
    files
}

impl TestEnv {
    /// Starts the double (or connects to `SECRETSYNC_TEST_KUBECONFIG`) and creates a namespace.
    pub async fn start(test: &str) -> TestEnv {
        logs();
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let turn = secretsync_testkit::cluster_lock::take_turn().await;
        let (client, server) = match secretsync_testkit::cluster::real_cluster_config().await {
            Some((_, config)) => {
                let client = kube::Client::try_from(config).expect("kube client");
                install_crds(&client).await;
                (client, None)
            }
            None => {
                let server = KubeApiServer::start(KubeApiOptions {
                    crd_dir: Some(crd_dir()),
                    ..Default::default()
                })
                .await
                .expect("start the Kubernetes API double");
                (server.client().expect("client"), Some(server))
            }
        };
        let mut env = TestEnv {
            client,
            server,
            namespace: String::new(),
            suffix,
            created: Vec::new(),
            cluster_objects: Mutex::default(),
            _turn: turn,
        };
        env.namespace = env.create_namespace(test, BTreeMap::new()).await;
        env
    }

    /// Creates a namespace `<prefix>-<suffix>` with labels and returns its name.
    pub async fn create_namespace(
        &mut self,
        prefix: &str,
        labels: BTreeMap<String, String>,
    ) -> String {
        let name = format!("{prefix}-{}", self.suffix);
        self.create_namespace_named(&name, labels).await;
        name
    }

    /// Creates (or reuses) a namespace with exactly this name.
    pub async fn create_namespace_named(&mut self, name: &str, labels: BTreeMap<String, String>) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": labels}
        }))
        .expect("namespace");
        // On a real cluster an earlier test's namespace of this name may still be terminating
        // (its contents are deleted asynchronously): wait until it is gone, then create it.
        let terminating = || async {
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .is_some_and(|n| n.metadata.deletion_timestamp.is_some())
        };
        if terminating().await {
            wait_for(
                Duration::from_secs(120),
                &format!("the terminating namespace {name} gone"),
                || async { (!terminating().await).then_some(()) },
            )
            .await;
        }
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => self.created.push(name.to_string()),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("creating namespace {name}: {e}"),
        }
    }

    /// Deletes the namespaces this test created.
    pub async fn cleanup(self) {
        let objects = self
            .cluster_objects
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        for (url, name) in objects {
            if let Ok(req) = kube::core::Request::new(url).delete(&name, &DeleteParams::default()) {
                let _ = self.client.request_text(req).await;
            }
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        for ns in &self.created {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        // On a real cluster the namespace controller deletes the contents asynchronously; the
        // next test (it holds the cluster lock after this one) must not find them: an operator
        // serving stores without a controller class would reconcile them, and its counts would
        // include them. Wait up to a minute for the namespaces to be gone (the double deletes
        // them at once).
        if self.server.is_none() {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            for ns in &self.created {
                while api.get_opt(ns).await.ok().flatten().is_some()
                    && std::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Secret writes counted by the double (None on a real cluster).
    pub fn secret_writes(&self) -> Option<usize> {
        self.server.as_ref().map(|s| {
            s.request_log()
                .iter()
                .filter(|r| {
                    r.resource == "secrets"
                        && matches!(r.verb.as_str(), "create" | "update" | "patch" | "delete")
                })
                .count()
        })
    }

    /// Events of a namespace.
    pub async fn events(&self, namespace: &str) -> Vec<CoreEvent> {
        Api::<CoreEvent>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
    }

    /// Applies a namespaced object given as JSON (server-side apply, manager `test`); a cluster
    /// object when `namespace` is None.
    pub async fn apply<K>(&self, namespace: Option<&str>, value: serde_json::Value) -> K
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let name = value["metadata"]["name"]
            .as_str()
            .expect("metadata.name")
            .to_string();
        let url = match namespace {
            Some(ns) => K::url_path(&(), Some(ns)),
            None => {
                let url = K::url_path(&(), None);
                if let Ok(mut objects) = self.cluster_objects.lock() {
                    objects.push((url.clone(), name.clone()));
                }
                url
            }
        };
        let request = kube::core::Request::new(url);
        let req = request
            .patch(
                &name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(value),
            )
            .expect("build patch");
        self.client
            .request::<K>(req)
            .await
            .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    /// Applies any manifest given as JSON (server-side apply, manager `test`) at the URL of its
    /// own `apiVersion` (e.g. `external-secrets.io/v1beta1` as written in a manifest) and kind
    /// (plural: lowercase kind + `s`); cluster objects are deleted on cleanup.
    pub async fn apply_manifest(&self, value: serde_json::Value) -> serde_json::Value {
        let api_version = value["apiVersion"]
            .as_str()
            .expect("apiVersion")
            .to_string();
        let kind = value["kind"].as_str().expect("kind").to_string();
        let name = value["metadata"]["name"]
            .as_str()
            .expect("metadata.name")
            .to_string();
        let base = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let plural = format!("{}s", kind.to_ascii_lowercase());
        let url = match value["metadata"]["namespace"].as_str() {
            Some(ns) => format!("{base}/namespaces/{ns}/{plural}"),
            None => {
                let url = format!("{base}/{plural}");
                if let Ok(mut objects) = self.cluster_objects.lock() {
                    objects.push((url.clone(), name.clone()));
                }
                url
            }
        };
        let req = kube::core::Request::new(url)
            .patch(
                &name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(value),
            )
            .expect("build patch");
        self.client
            .request::<serde_json::Value>(req)
            .await
            .unwrap_or_else(|e| panic!("applying {kind}/{name}: {e}"))
    }

    /// True once the ExternalSecret `namespace/name` no longer exists.
    pub async fn external_secret_gone(&self, namespace: &str, name: &str) -> bool {
        Api::<secretsync_model::external_secret::ExternalSecret>::namespaced(
            self.client.clone(),
            namespace,
        )
        .get_opt(name)
        .await
        .is_ok_and(|o| o.is_none())
    }

    /// A Secret, if present.
    pub async fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .expect("get secret")
    }
}

async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for path in crd_files() {
        let text = std::fs::read_to_string(&path).expect("crd file");
        let crd: CustomResourceDefinition = serde_yaml::from_str(&text).expect("crd yaml");
        let name = crd.metadata.name.clone().unwrap_or_default();
        if api.get_opt(&name).await.expect("get crd").is_none() {
            api.create(&PostParams::default(), &crd)
                .await
                .expect("create crd");
            wait_for(
                Duration::from_secs(60),
                "the CRD to be established",
                || async {
                    let crd = api.get_opt(&name).await.ok()??;
                    crd.status?
                        .conditions?
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                        .then_some(())
                },
            )
            .await;
        }
    }
}

/// On a real cluster, ADR-002's fixed names without what an earlier run left there (kube_adr,
/// kube_adr_stores and the bootstrapper's tests share `crossplane-system/azure-credentials`;
/// the test's turn on the cluster keeps the others away meanwhile). Nothing to do on the
/// double (a private server per test).
pub async fn clear_adr_names(env: &TestEnv) {
    if env.server.is_none() {
        clear_adr_leftovers(env).await;
    }
}

/// Deletes the ExternalSecret and the Secret `crossplane-system/azure-credentials` and waits
/// until both are gone: an unowned Secret of that name is, rightly, never overwritten.
async fn clear_adr_leftovers(env: &TestEnv) {
    const NS: &str = "crossplane-system";
    const NAME: &str = "azure-credentials";
    let external_secrets: Api<secretsync_model::external_secret::ExternalSecret> =
        Api::namespaced(env.client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let _ = external_secrets
        .delete(NAME, &DeleteParams::default())
        .await;
    let _ = secrets.delete(NAME, &DeleteParams::default()).await;
    wait_for(
        Duration::from_secs(30),
        "an earlier run's crossplane-system/azure-credentials gone",
        || async {
            (external_secrets.get_opt(NAME).await.ok()?.is_none()
                && env.secret(NS, NAME).await.is_none())
            .then_some(())
        },
    )
    .await;
}

/// Polls `check` every 20 ms until it returns Some or `timeout` passes.
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
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub use secretsync_testkit::providers::TestFactory;

/// A running operator with the fake-provider [`TestFactory`]; aborted on drop.
pub struct Operator {
    _controllers: Controllers,
    /// The provider factory (outage switch, call counter).
    pub factory: TestFactory,
    /// The controllers' metrics (reconcile counts prove a reconcile happened).
    pub metrics: secretsync_kube::Metrics,
}

impl Operator {
    /// Completed reconciles of ExternalSecret `namespace/name`.
    pub fn reconciles(&self, namespace: &str, name: &str) -> u64 {
        self.metrics.external_secret_reconciles(namespace, name)
    }
}

/// The controllers of [`secretsync_kube::run`] running as a task; aborted on drop.
pub struct Controllers(tokio::task::JoinHandle<()>, pub secretsync_kube::Metrics);

impl Drop for Controllers {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Controller settings for tests: compressed time scale, controller class of this test.
pub fn test_config(env: &TestEnv) -> secretsync_kube::Config {
    secretsync_kube::Config {
        namespace: None,
        controller_class: Some(format!("test-{}", env.suffix)),
        operator_namespace: env.namespace.clone(),
        error_backoff_base: Duration::from_millis(100),
        error_backoff_max: Duration::from_millis(800),
        refresh_jitter: 0.0,
        cluster_external_secrets: false,
        ..Default::default()
    }
}

/// Starts the controllers with `config` and the fake-provider [`TestFactory`].
pub fn start_operator(env: &TestEnv, config: secretsync_kube::Config) -> Operator {
    let factory = TestFactory::default();
    let controllers = start_controllers(env, config, Arc::new(factory.clone()));
    Operator {
        metrics: controllers.1.clone(),
        _controllers: controllers,
        factory,
    }
}

/// Starts the controllers with `config` and any provider factory (e.g. every real provider).
pub fn start_controllers(
    env: &TestEnv,
    config: secretsync_kube::Config,
    factory: Arc<dyn ProviderFactory>,
) -> Controllers {
    let engine = Engine::new(factory.clone(), EngineConfig::default());
    start_controllers_with(env, config, factory, engine)
}

/// Starts the controllers with `config`, a provider factory and an engine (e.g. one serving
/// the backend generators).
pub fn start_controllers_with(
    env: &TestEnv,
    config: secretsync_kube::Config,
    factory: Arc<dyn ProviderFactory>,
    engine: Engine,
) -> Controllers {
    let engine = Arc::new(engine);
    let client = env.client.clone();
    let metrics = secretsync_kube::Metrics::default();
    let running = metrics.clone();
    Controllers(
        tokio::spawn(async move {
            if let Err(e) = secretsync_kube::run(client, config, engine, factory, running).await {
                panic!("operator failed: {e}");
            }
        }),
        metrics,
    )
}

/// The Ready condition (status, reason, message) of an ExternalSecret.
pub async fn ready_of(
    env: &TestEnv,
    namespace: &str,
    name: &str,
) -> Option<(String, String, String)> {
    let es = Api::<secretsync_model::external_secret::ExternalSecret>::namespaced(
        env.client.clone(),
        namespace,
    )
    .get_opt(name)
    .await
    .ok()??;
    let c = es
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    let status = serde_json::to_value(c.status).ok()?.as_str()?.to_string();
    Some((
        status,
        c.reason.unwrap_or_default(),
        c.message.unwrap_or_default(),
    ))
}

/// The value of one key of a Secret, as text.
pub fn value_of(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
}
