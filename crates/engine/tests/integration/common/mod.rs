//! Test doubles: a counting in-memory provider and its factory; hosts are the engine's
//! `MemoryEnvironment` holding the stores the ExternalSecrets reference.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secretsync_engine::MemoryEnvironment;
use secretsync_model::external_secret::{ExternalSecret, StoreKind};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    FetchRequest, FindRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretProvider,
    SecretValue, Validation,
};
use secretsync_testkit::providers::TestFactory;

/// Remote data: (key, version) -> value; metadata: key -> JSON.
#[derive(Default)]
pub struct Remote {
    pub values: BTreeMap<(String, Option<String>), String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

pub struct MemoryProvider {
    pub remote: Arc<Mutex<Remote>>,
    pub calls: Arc<AtomicU64>,
    pub delay: Option<Duration>,
}

#[async_trait]
impl SecretProvider for MemoryProvider {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            find: true,
            versions: true,
            metadata: true,
            ..Default::default()
        }
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        let remote = self.remote.lock().unwrap();
        if request.metadata {
            return remote
                .metadata
                .get(&request.key)
                .map(|v| RemoteSecret::new(v.as_str()))
                .ok_or_else(|| ProviderError::NotFound(format!("metadata of {:?}", request.key)));
        }
        remote
            .values
            .get(&(request.key.clone(), request.version.clone()))
            .map(|v| RemoteSecret::new(v.as_str()))
            .ok_or_else(|| ProviderError::NotFound(format!("key {:?}", request.key)))
    }

    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let remote = self.remote.lock().unwrap();
        let re = request
            .name_regexp
            .as_deref()
            .map(|r| {
                regex::Regex::new(r).map_err(|e| ProviderError::InvalidStoreConfig(e.to_string()))
            })
            .transpose()?;
        let mut out = BTreeMap::new();
        for ((key, version), value) in &remote.values {
            if version.is_some() {
                continue;
            }
            if let Some(p) = &request.path
                && !key.starts_with(p.as_str())
            {
                continue;
            }
            if let Some(re) = &re
                && !re.is_match(key)
            {
                continue;
            }
            if !request.tags.is_empty() {
                let tags = remote.tags.get(key);
                if !request
                    .tags
                    .iter()
                    .all(|(k, v)| tags.and_then(|t| t.get(k)) == Some(v))
                {
                    continue;
                }
            }
            out.insert(key.clone(), RemoteSecret::new(value.as_str()));
        }
        Ok(out)
    }

    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
}

/// An in-memory remote shared by every store: its [`MemoryProvider`] served through the shared
/// test factory (`secretsync_testkit::providers::TestFactory`, which counts builds).
#[derive(Clone, Default)]
pub struct MemoryFactory {
    pub remote: Arc<Mutex<Remote>>,
    pub calls: Arc<AtomicU64>,
    pub builds: Arc<AtomicU64>,
    pub delay: Option<Duration>,
}
impl MemoryFactory {
    pub fn with_values<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let f = MemoryFactory::default();
        for (k, v) in values {
            f.set(k, v);
        }
        f
    }

    pub fn set(&self, key: &str, value: &str) {
        self.remote
            .lock()
            .unwrap()
            .values
            .insert((key.to_string(), None), value.to_string());
    }

    pub fn set_version(&self, key: &str, version: &str, value: &str) {
        self.remote.lock().unwrap().values.insert(
            (key.to_string(), Some(version.to_string())),
            value.to_string(),
        );
    }

    pub fn set_metadata(&self, key: &str, json: &str) {
        self.remote
            .lock()
            .unwrap()
            .metadata
            .insert(key.to_string(), json.to_string());
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// The provider factory: every store gets a [`MemoryProvider`] over this remote.
    pub fn factory(&self) -> TestFactory {
        let mut factory = TestFactory::serving(Arc::new(MemoryProvider {
            remote: self.remote.clone(),
            calls: self.calls.clone(),
            delay: self.delay,
        }));
        factory.builds = self.builds.clone();
        factory
    }
}

/// A [`MemoryEnvironment`] holding every store the given ExternalSecrets reference, each with
/// `spec` (the test factories ignore it).
pub fn env_with<'a>(
    objects: impl IntoIterator<Item = &'a ExternalSecret>,
    spec: &SecretStoreSpec,
) -> MemoryEnvironment {
    let mut env = MemoryEnvironment::new();
    for es in objects {
        let namespace = es
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        for r in es.spec.store_refs() {
            env = match r.kind {
                StoreKind::SecretStore => {
                    env.with_secret_store(namespace.clone(), r.name.clone(), spec.clone())
                }
                StoreKind::ClusterSecretStore => {
                    env.with_cluster_secret_store(r.name.clone(), spec.clone())
                }
            };
        }
    }
    env
}

/// [`env_with`] a default spec.
pub fn env_for<'a>(objects: impl IntoIterator<Item = &'a ExternalSecret>) -> MemoryEnvironment {
    env_with(objects, &SecretStoreSpec::default())
}

/// Parses an ExternalSecret from YAML.
pub fn es(yaml: &str) -> ExternalSecret {
    serde_yaml::from_str(yaml).expect("valid ExternalSecret YAML")
}

/// The data of a desired Secret as UTF-8 strings.
pub fn strings(data: &BTreeMap<String, SecretValue>) -> BTreeMap<String, String> {
    data.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v.expose()).into_owned()))
        .collect()
}
