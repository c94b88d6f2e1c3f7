//! Provider hooks the engine honours: a provider's own naming of `dataFrom[].extract` with
//! `metadataPolicy: Fetch`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{env_for, es};
use secretsync_engine::{Engine, EngineConfig, SyncResult};
use secretsync_model::{
    FetchRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretData, SecretProvider,
    Validation,
};
use secretsync_testkit::providers::TestFactory;

/// Metadata `{"env":"prod"}` for every key; names extracted metadata `<key>_<tag>`.
struct Prefixing;

#[async_trait]
impl SecretProvider for Prefixing {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::default()
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        Ok(RemoteSecret::new(if request.metadata {
            r#"{"env":"prod"}"#
        } else {
            r#"{"user":"u"}"#
        }))
    }
    fn extract_metadata(
        &self,
        key: &str,
        _property: Option<&str>,
        metadata: &RemoteSecret,
    ) -> Option<Result<SecretData, ProviderError>> {
        assert_eq!(metadata.value.expose_str(), Some(r#"{"env":"prod"}"#));
        Some(Ok(SecretData::from([(
            format!("{key}_env"),
            "prod".into(),
        )])))
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
}

async fn keys(policy: &str) -> Vec<String> {
    let engine = Engine::new(
        Arc::new(TestFactory::serving(Arc::new(Prefixing))),
        EngineConfig::default(),
    );
    let object = es(&format!(
        "metadata: {{name: e, namespace: ns}}\nspec:\n  secretStoreRef: {{name: s}}\n  dataFrom: [{{extract: {{key: db, metadataPolicy: {policy}}}}}]\n"
    ));
    match engine.sync(&object, &env_for([&object])).await.result {
        Ok(SyncResult::Write(desired)) => desired.data.keys().cloned().collect(),
        other => panic!("expected a write, got {other:?}"),
    }
}

#[tokio::test]
async fn extract_of_metadata_uses_the_provider_naming() {
    assert_eq!(keys("Fetch").await, ["db_env"]);
    assert_eq!(
        keys("None").await,
        ["user"],
        "values are extracted as always"
    );
}
