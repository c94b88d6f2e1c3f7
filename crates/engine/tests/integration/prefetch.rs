//! `Engine::prefetch`: the plain reads of many ExternalSecrets go to a batching provider in one
//! `fetch_many`, and the syncs that follow make no further call except for failed reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{env_for, env_with, es, strings};
use futures::future::join_all;
use secretsync_engine::{Engine, EngineConfig, FetchConfig, SyncResult};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    FetchRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretProvider, Validation,
};
use secretsync_testkit::providers::TestFactory;

/// Serves `key-N` as `{"user": "user-N", "password": "pw-N"}` and `shared` as `{"region": "eu"}`;
/// records the size of every `fetch_many` and counts single fetches.
#[derive(Default)]
struct Batching {
    batch: bool,
    batches: Mutex<Vec<usize>>,
    singles: Mutex<Vec<String>>,
}

impl Batching {
    fn value(key: &str) -> Result<RemoteSecret, ProviderError> {
        if key == "shared" {
            return Ok(RemoteSecret::new(r#"{"region": "eu"}"#));
        }
        match key.strip_prefix("key-") {
            Some(n) => Ok(RemoteSecret::new(
                format!(r#"{{"user": "user-{n}", "password": "pw-{n}"}}"#).as_str(),
            )),
            None => Err(ProviderError::NotFound(format!("key {key:?}"))),
        }
    }
}

#[async_trait]
impl SecretProvider for Batching {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            batch: self.batch,
            ..Default::default()
        }
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.singles.lock().unwrap().push(request.key.clone());
        Self::value(&request.key)
    }
    async fn fetch_many(
        &self,
        requests: &[FetchRequest],
    ) -> Vec<Result<RemoteSecret, ProviderError>> {
        self.batches.lock().unwrap().push(requests.len());
        requests.iter().map(|r| Self::value(&r.key)).collect()
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
}

const OBJECTS: usize = 45;

/// ExternalSecret `i` reads two properties of `key-i` and extracts `shared`; one more reads a
/// key that does not exist.
fn objects() -> Vec<ExternalSecret> {
    let mut objects: Vec<ExternalSecret> = (0..OBJECTS)
        .map(|i| {
            es(&format!(
                r#"
metadata: {{name: es-{i}, namespace: team-{ns}}}
spec:
  secretStoreRef: {{name: aws, kind: ClusterSecretStore}}
  data:
    - {{secretKey: user, remoteRef: {{key: key-{i}, property: user}}}}
    - {{secretKey: password, remoteRef: {{key: key-{i}, property: password}}}}
  dataFrom:
    - extract: {{key: shared}}
"#,
                ns = i % 3
            ))
        })
        .collect();
    objects.push(es(r#"
metadata: {name: missing, namespace: team-0}
spec:
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  data:
    - {secretKey: user, remoteRef: {key: absent, property: user}}
"#));
    objects
}

fn engine(provider: Arc<Batching>) -> Engine {
    Engine::new(
        Arc::new(TestFactory::serving(provider)),
        EngineConfig {
            fetch: FetchConfig {
                coalesce_window: Duration::from_secs(3600),
                ..FetchConfig::default()
            },
            ..EngineConfig::default()
        },
    )
}

#[tokio::test]
async fn planned_reads_go_out_in_one_batch_per_store_context_and_syncs_reuse_them() {
    let provider = Arc::new(Batching {
        batch: true,
        ..Batching::default()
    });
    let engine = engine(provider.clone());
    let objects = objects();
    let env = env_for(&objects);

    let sent = engine.prefetch(&objects, &env).await;
    // The ClusterSecretStore's reads do not depend on the reader's namespace: one provider
    // for the three namespaces, its 45 keys + `shared` + `absent` in one call.
    assert_eq!(sent, 45 + 1 + 1);
    assert_eq!(*provider.batches.lock().unwrap(), vec![47]);
    assert!(provider.singles.lock().unwrap().is_empty());

    let outcomes = join_all(objects.iter().map(|o| engine.sync(o, &env))).await;
    for (i, outcome) in outcomes.iter().take(OBJECTS).enumerate() {
        let Ok(SyncResult::Write(desired)) = &outcome.result else {
            panic!("es-{i}: {:?}", outcome.result);
        };
        assert_eq!(
            strings(&desired.data),
            BTreeMap::from([
                ("user".to_string(), format!("user-{i}")),
                ("password".to_string(), format!("pw-{i}")),
                ("region".to_string(), "eu".to_string()),
            ])
        );
    }
    assert!(
        outcomes[OBJECTS].result.is_err(),
        "the missing key is reported by its sync"
    );
    // Only the failed read was made again, by the sync that needs it.
    assert_eq!(
        *provider.singles.lock().unwrap(),
        vec!["absent".to_string()]
    );
    assert_eq!(provider.batches.lock().unwrap().len(), 1);

    // A second prefetch of the same objects sends only the read that failed.
    assert_eq!(engine.prefetch(&objects, &env).await, 1);
}

#[tokio::test]
async fn providers_without_a_batch_api_are_not_read_ahead() {
    let provider = Arc::new(Batching::default());
    let engine = engine(provider.clone());
    let objects = objects();
    let env = env_for(&objects);
    assert_eq!(engine.prefetch(&objects, &env).await, 0);
    assert!(provider.batches.lock().unwrap().is_empty());
    assert!(provider.singles.lock().unwrap().is_empty());
    let outcomes = join_all(objects.iter().map(|o| engine.sync(o, &env))).await;
    assert!(outcomes[0].result.is_ok());
    assert_eq!(
        provider.singles.lock().unwrap().len(),
        45 + 1 + 1,
        "each distinct read once, whatever the reader namespaces"
    );
}

/// ExternalSecret `i` (namespace `team-{i % 3}`) reads `key-{i % keys}` from ClusterSecretStore
/// `aws`.
fn one_key_each(n: usize, keys: usize) -> Vec<ExternalSecret> {
    (0..n)
        .map(|i| {
            es(&format!(
                r#"
metadata: {{name: es-{i}, namespace: team-{ns}}}
spec:
  secretStoreRef: {{name: aws, kind: ClusterSecretStore}}
  data:
    - {{secretKey: user, remoteRef: {{key: key-{k}, property: user}}}}
"#,
                ns = i % 3,
                k = i % keys
            ))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_refresh_of_a_batching_store_reads_each_slot_of_twenty_keys_in_one_call() {
    let provider = Arc::new(Batching {
        batch: true,
        ..Batching::default()
    });
    let engine = Engine::new(
        Arc::new(TestFactory::serving(provider.clone())),
        EngineConfig::default(),
    );
    // 150 ExternalSecrets in three namespaces over 50 keys of one shared ClusterSecretStore.
    let objects = one_key_each(150, 50);
    let env = env_for(&objects);
    let sync_all = || join_all(objects.iter().map(|o| engine.sync(o, &env)));
    // The first sync registers the keys: each read once, whatever the namespaces.
    for outcome in sync_all().await {
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
    let first_singles = provider.singles.lock().unwrap().len();
    let first_batched: usize = provider.batches.lock().unwrap().iter().sum();
    assert_eq!(first_singles + first_batched, 50, "one read per key");

    // A refresh cycle later (past the coalescing window and the slot gap): whole slots.
    tokio::time::advance(Duration::from_secs(60)).await;
    provider.singles.lock().unwrap().clear();
    provider.batches.lock().unwrap().clear();
    for outcome in sync_all().await {
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
    let mut batches = provider.batches.lock().unwrap().clone();
    batches.sort_unstable();
    assert_eq!(batches, vec![10, 20, 20], "⌈50/20⌉ calls");
    assert!(provider.singles.lock().unwrap().is_empty());
    let layer = engine.fetch_layer();
    let store = secretsync_model::StoreId {
        kind: secretsync_model::external_secret::StoreKind::ClusterSecretStore,
        namespace: None,
        name: "aws".into(),
    };
    let slot = |key: &str| {
        layer
            .batch_slot(&store, "team-0", key)
            .map(|s| (s.index, s.count))
    };
    assert_eq!(slot("key-0"), Some((0, 3)));
    assert_eq!(slot("key-49"), Some((2, 3)));
    assert_eq!(slot("absent"), None);
}

#[tokio::test]
async fn cluster_store_reads_are_shared_by_namespaces_unless_a_reference_resolves_in_them() {
    let objects = one_key_each(9, 1);
    // (store spec, providers built for three reader namespaces)
    let cases = [
        (
            serde_json::json!({"provider": {"vault": {"server": "https://v", "path": "secret",
            "auth": {"tokenSecretRef": {"name": "t", "namespace": "ops", "key": "token"}}}}}),
            1,
        ),
        (
            serde_json::json!({"provider": {"vault": {"server": "https://v", "path": "secret",
            "auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}}}),
            3,
        ),
    ];
    for (spec, builds) in cases {
        let spec: SecretStoreSpec = serde_json::from_value(spec).unwrap();
        let provider = Arc::new(Batching::default());
        let factory = TestFactory::serving(provider.clone());
        let engine = Engine::new(Arc::new(factory.clone()), EngineConfig::default());
        let env = env_with(&objects, &spec);
        for outcome in join_all(objects.iter().map(|o| engine.sync(o, &env))).await {
            assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        }
        assert_eq!(
            factory.builds.load(std::sync::atomic::Ordering::SeqCst),
            builds,
            "{spec:?}"
        );
        assert_eq!(
            provider.singles.lock().unwrap().len() as u64,
            builds,
            "one read of the key per provider: {spec:?}"
        );
    }
}
