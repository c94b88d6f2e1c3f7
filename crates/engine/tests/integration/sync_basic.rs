//! End-to-end syncs through the engine with an in-memory provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use common::{MemoryFactory, env_for, es, strings};
use secretsync_engine::{Engine, EngineConfig, EngineError, KeyState, SyncResult};

fn engine(factory: &MemoryFactory) -> Engine {
    Engine::new(Arc::new(factory.factory()), EngineConfig::default())
}

#[tokio::test]
async fn data_extract_and_property() {
    let factory = MemoryFactory::with_values([
        (
            "db",
            r#"{"user": "admin", "pass": "s3cret", "port": 5432, "nested": {"a": [1, 2]}, "a.b": "dotted"}"#,
        ),
        ("plain", "just text"),
    ]);
    let engine = engine(&factory);
    let es = es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: team}
spec:
  secretStoreRef: {name: mem}
  target: {name: app-secret}
  dataFrom:
    - extract: {key: db}
  data:
    - secretKey: password
      remoteRef: {key: db, property: pass}
    - secretKey: port
      remoteRef: {key: db, property: port}
    - secretKey: inner
      remoteRef: {key: db, property: nested.a}
    - secretKey: dotted
      remoteRef: {key: db, property: a.b}
    - secretKey: whole
      remoteRef: {key: plain}
"#);
    let outcome = engine.sync(&es, &env_for([&es])).await;
    let SyncResult::Write(desired) = outcome.result.expect("sync succeeds") else {
        panic!("expected a write")
    };
    assert_eq!(desired.name, "app-secret");
    assert_eq!(desired.namespace, "team");
    assert_eq!(desired.type_, "Opaque");
    let data = strings(&desired.data);
    assert_eq!(data["user"], "admin");
    assert_eq!(data["pass"], "s3cret");
    assert_eq!(data["port"], "5432");
    assert_eq!(data["nested"], r#"{"a": [1, 2]}"#);
    assert_eq!(data["password"], "s3cret");
    assert_eq!(data["inner"], "[1, 2]");
    assert_eq!(data["dotted"], "dotted");
    assert_eq!(data["whole"], "just text");
    // One provider call per distinct remote key, even though `db` is read five times.
    assert_eq!(factory.calls(), 2);
    assert_eq!(outcome.keys.len(), 6);
    assert!(outcome.keys.iter().all(|k| k.state == KeyState::Synced));
}

#[tokio::test]
async fn errors_name_object_entry_store_and_key_never_the_value() {
    let factory = MemoryFactory::with_values([("db", r#"{"pass": "canary-value-123"}"#)]);
    let engine = engine(&factory);
    let es = es(r#"
metadata: {name: app, namespace: team}
spec:
  secretStoreRef: {name: mem}
  data:
    - secretKey: a
      remoteRef: {key: db, property: pass}
    - secretKey: b
      remoteRef: {key: db, property: missing}
    - secretKey: c
      remoteRef: {key: gone}
"#);
    let outcome = engine.sync(&es, &env_for([&es])).await;
    let err = outcome.result.expect_err("must fail");
    let text = err.to_string();
    assert!(text.contains("team/app"), "{text}");
    assert!(text.contains("spec.data[1]"), "{text}");
    assert!(text.contains("\"missing\""), "{text}");
    let all = format!("{err:?} {:?}", outcome.keys);
    assert!(!all.contains("canary-value-123"), "{all}");
    assert_eq!(outcome.keys[0].state, KeyState::Synced);
    assert!(matches!(outcome.keys[1].state, KeyState::Failed { .. }));
    match &outcome.keys[2].state {
        KeyState::Missing { reason } => {
            assert!(
                reason.contains("spec.data[2]")
                    && reason.contains("gone")
                    && reason.contains("SecretStore team/mem"),
                "{reason}"
            )
        }
        other => panic!("expected missing, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_spec_is_rejected_with_field() {
    let factory = MemoryFactory::default();
    let engine = engine(&factory);
    let es = es(r#"
metadata: {name: app, namespace: team}
spec:
  secretStoreRef: {name: mem}
  data:
    - secretKey: "bad/key"
      remoteRef: {key: db}
"#);
    let outcome = engine.sync(&es, &env_for([&es])).await;
    match outcome.result {
        Err(EngineError::InvalidSpec { problems, .. }) => {
            assert!(problems[0].to_string().contains("spec.data[0].secretKey"))
        }
        other => panic!("expected InvalidSpec, got {other:?}"),
    }
    assert_eq!(factory.calls(), 0);
}
