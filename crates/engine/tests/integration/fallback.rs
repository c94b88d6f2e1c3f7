//! Fallback stores: `secretsync.io/fallback-store` (on the ExternalSecret or on the store)
//! serves entries whose store is unavailable, never those the store answered "not found" for;
//! the primary is tried first every time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use secretsync_engine::{
    Engine, EngineConfig, EnvironmentError, MemoryEnvironment, ResolvedStore, SyncEnvironment,
    SyncResult, TemplateSourceKind,
};
use secretsync_model::SecretValue;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{ExternalSecret, GeneratorRef, SecretStoreRef};
use secretsync_model::generator::GeneratorSpec;
use secretsync_model::manifest::parse_documents;
use secretsync_model::provider::StoreContext;
use secretsync_testkit::providers::TestFactory;

/// A [`MemoryEnvironment`] whose store `primary` can be switched unreachable.
struct Flaky {
    inner: MemoryEnvironment,
    primary_down: AtomicBool,
}

#[async_trait]
impl SyncEnvironment for Flaky {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        if reference.name.starts_with("primary") && self.primary_down.load(Ordering::SeqCst) {
            return Err(EnvironmentError::unavailable("connection refused"));
        }
        self.inner.store(namespace, reference).await
    }

    async fn store_fallback(&self, namespace: &str, reference: &SecretStoreRef) -> Option<String> {
        self.inner.store_fallback(namespace, reference).await
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        self.inner.credentials(context)
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        self.inner.template_source(kind, namespace, name).await
    }

    async fn generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
    ) -> Result<GeneratorSpec, EnvironmentError> {
        self.inner.generator(namespace, reference).await
    }
}

const STORES: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: primary, namespace: ns}
spec: {provider: {fake: {data: [{key: db, value: from-primary}]}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: backup, namespace: ns}
spec: {provider: {fake: {data: [{key: db, value: from-backup}, {key: only-backup, value: b}]}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: primary-annotated, namespace: ns, annotations: {secretsync.io/fallback-store: backup}}
spec: {provider: {fake: {data: [{key: db, value: from-primary}]}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: other, namespace: ns}
spec: {provider: {fake: {data: [{key: db, value: from-other}]}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: primary-bad, namespace: ns, annotations: {secretsync.io/fallback-store: Pod/x}}
spec: {provider: {fake: {data: [{key: db, value: from-primary}]}}}
"#;

fn flaky() -> Flaky {
    let mut inner = MemoryEnvironment::new();
    for doc in parse_documents("stores.yaml", STORES) {
        inner.insert(doc.expect("valid").resource);
    }
    Flaky {
        inner,
        primary_down: AtomicBool::new(false),
    }
}

fn es(key: &str, annotated: bool) -> ExternalSecret {
    let annotation = if annotated {
        "annotations: {secretsync.io/fallback-store: SecretStore/backup}"
    } else {
        ""
    };
    serde_yaml::from_str(&format!(
        r#"
metadata: {{name: app, namespace: ns, {annotation}}}
spec:
  secretStoreRef: {{name: primary}}
  data: [{{secretKey: password, remoteRef: {{key: {key}}}}}]
"#
    ))
    .expect("valid ExternalSecret")
}

#[tokio::test]
async fn unavailable_primary_falls_back_and_recovers() {
    let engine = Engine::new(Arc::new(TestFactory::default()), EngineConfig::default());
    let env = flaky();
    let value = |outcome: &secretsync_engine::SyncOutcome| match &outcome.result {
        Ok(SyncResult::Write(d)) => d.data["password"].expose_str().unwrap().to_string(),
        other => panic!("{other:?}"),
    };

    let up = engine.sync(&es("db", true), &env).await;
    assert_eq!(value(&up), "from-primary");
    assert!(up.fallbacks.is_empty());

    env.primary_down.store(true, Ordering::SeqCst);
    let down = engine.sync(&es("db", true), &env).await;
    assert_eq!(value(&down), "from-backup");
    assert_eq!(down.fallbacks, ["spec.data[0] from SecretStore ns/backup"]);
    let unannotated = engine.sync(&es("db", false), &env).await;
    assert!(
        unannotated.result.is_err(),
        "no fallback without the annotation"
    );

    env.primary_down.store(false, Ordering::SeqCst);
    let back = engine.sync(&es("db", true), &env).await;
    assert_eq!(
        value(&back),
        "from-primary",
        "the primary is tried first again"
    );
    assert!(back.fallbacks.is_empty());
}

#[tokio::test]
async fn not_found_never_falls_back() {
    let engine = Engine::new(Arc::new(TestFactory::default()), EngineConfig::default());
    let env = flaky();
    let outcome = engine.sync(&es("only-backup", true), &env).await;
    assert!(outcome.fallbacks.is_empty(), "{:?}", outcome.fallbacks);
    assert!(
        !matches!(&outcome.result, Ok(SyncResult::Write(d)) if d.data.contains_key("password")),
        "{:?}",
        outcome.result
    );
}

#[tokio::test]
async fn a_bad_annotation_is_named() {
    let engine = Engine::new(Arc::new(TestFactory::default()), EngineConfig::default());
    let mut bad = es("db", false);
    bad.metadata.annotations = Some(
        [(
            secretsync_engine::FALLBACK_STORE_ANNOTATION.to_string(),
            "Pod/x".to_string(),
        )]
        .into(),
    );
    let err = engine
        .sync(&bad, &flaky())
        .await
        .result
        .expect_err("refused");
    assert!(
        err.to_string().contains("secretsync.io/fallback-store"),
        "{err}"
    );
}

fn reading(store: &str, annotation: Option<&str>) -> ExternalSecret {
    let mut es = es("db", false);
    es.spec.secret_store_ref = Some(SecretStoreRef {
        name: store.into(),
        kind: Default::default(),
    });
    if let Some(value) = annotation {
        es.metadata.annotations = Some(
            [(
                secretsync_engine::FALLBACK_STORE_ANNOTATION.to_string(),
                value.to_string(),
            )]
            .into(),
        );
    }
    es
}

#[tokio::test]
async fn a_store_names_its_fallback_and_the_external_secret_wins() {
    let engine = Engine::new(Arc::new(TestFactory::default()), EngineConfig::default());
    let env = flaky();
    env.primary_down.store(true, Ordering::SeqCst);
    let password = |outcome: &secretsync_engine::SyncOutcome| match &outcome.result {
        Ok(SyncResult::Write(d)) => d.data["password"].expose_str().unwrap().to_string(),
        other => panic!("{other:?}"),
    };
    let by_store = engine.sync(&reading("primary-annotated", None), &env).await;
    assert_eq!(password(&by_store), "from-backup");
    assert_eq!(
        by_store.fallbacks,
        ["spec.data[0] from SecretStore ns/backup"]
    );

    let own = engine
        .sync(&reading("primary-annotated", Some("other")), &env)
        .await;
    assert_eq!(
        password(&own),
        "from-other",
        "the ExternalSecret's annotation wins"
    );
    assert_eq!(own.fallbacks, ["spec.data[0] from SecretStore ns/other"]);

    let bad = engine.sync(&reading("primary-bad", None), &env).await;
    let err = bad.result.expect_err("a bad store annotation is an error");
    assert!(
        err.to_string().contains("SecretStore primary-bad")
            && err.to_string().contains("secretsync.io/fallback-store"),
        "{err}"
    );

    env.primary_down.store(false, Ordering::SeqCst);
    let back = engine.sync(&reading("primary-annotated", None), &env).await;
    assert_eq!(password(&back), "from-primary");
    assert!(back.fallbacks.is_empty());
}
