//! `Engine::prefetch`: the plain reads of many ExternalSecrets go to a batching provider in one
//! `fetch_many`, and the syncs that follow make no further call except for failed reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{env_for, es, strings};
use futures::future::join_all;
use secretsync_engine::{Engine, EngineConfig, FetchConfig, SyncResult};
use secretsync_model::external_secret::ExternalSecret;
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
    // A ClusterSecretStore's provider is per reader namespace (three here): per namespace,
    // its 15 keys + `shared`; `absent` goes with team-0.
    assert_eq!(sent, 3 * (15 + 1) + 1);
    let mut batches = provider.batches.lock().unwrap().clone();
    batches.sort_unstable();
    assert_eq!(batches, vec![16, 16, 17]);
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
    assert_eq!(provider.batches.lock().unwrap().len(), 3);

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
        3 * 15 + 3 + 1,
        "each distinct read once per reader namespace"
    );
}
