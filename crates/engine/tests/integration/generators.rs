//! `dataFrom[].sourceRef.generatorRef` through the engine: the built-in generators, rewrites,
//! ClusterGenerators, unsupported kinds and missing generators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use common::{MemoryFactory, es};
use secretsync_engine::{Engine, EngineConfig, EngineError, MemoryEnvironment, SyncResult};
use secretsync_model::manifest::parse_documents;

const CANARY: &str = "canary-5d1e2-generated";

fn env_of(yaml: &str) -> MemoryEnvironment {
    let mut env = MemoryEnvironment::new();
    for doc in parse_documents("test.yaml", yaml) {
        let doc = doc.expect("valid manifest");
        assert!(env.insert(doc.resource).is_none(), "not kept");
    }
    env
}

fn engine() -> Engine {
    let f = MemoryFactory::default();
    Engine::new(Arc::new(f.factory()), EngineConfig::default())
}

async fn written(e: &str, env: &MemoryEnvironment) -> secretsync_engine::DesiredSecret {
    match engine().sync(&es(e), env).await.result {
        Ok(SyncResult::Write(d)) => d,
        other => panic!("{other:?}"),
    }
}

async fn failed(e: &str, env: &MemoryEnvironment) -> EngineError {
    engine().sync(&es(e), env).await.result.expect_err("fails")
}

const GENERATORS: &str = r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: ns}
spec: {length: 30, digits: 5, symbols: 0, noUpper: true, secretKeys: [a, b]}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {name: id, namespace: ns}
spec: {}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Fake
metadata: {name: fake, namespace: ns}
spec: {data: {user: admin}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ClusterGenerator
metadata: {name: shared}
spec: {kind: Password, generator: {passwordSpec: {length: 12, symbols: 0}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ClusterGenerator
metadata: {name: ssh}
spec: {kind: SSHKey, generator: {sshKeySpec: {keyType: rsa}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: STSSessionToken
metadata: {name: sts, namespace: ns}
spec: {region: eu-west-1}
"#;

#[tokio::test]
async fn built_in_generators_fill_the_secret_with_rewrites() {
    let env = env_of(GENERATORS);
    let d = written(
        r#"
metadata: {name: app, namespace: ns}
spec:
  refreshInterval: "0"
  dataFrom:
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}
      rewrite: [{regexp: {source: "^(.*)$", target: "pw-$1"}}]
    - sourceRef: {generatorRef: {kind: UUID, name: id}}
    - sourceRef: {generatorRef: {kind: Fake, name: fake}}
    - sourceRef: {generatorRef: {kind: ClusterGenerator, name: shared}}
      rewrite: [{regexp: {source: "password", target: "cluster"}}]
"#,
        &env,
    )
    .await;
    assert_eq!(
        d.data.keys().collect::<Vec<_>>(),
        ["cluster", "pw-a", "pw-b", "user", "uuid"]
    );
    for key in ["pw-a", "pw-b"] {
        let p = d.data[key].expose_str().unwrap();
        assert_eq!(p.len(), 30);
        assert_eq!(p.chars().filter(char::is_ascii_digit).count(), 5);
        assert!(
            p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
    assert_ne!(d.data["pw-a"].expose(), d.data["pw-b"].expose());
    let cluster = d.data["cluster"].expose_str().unwrap();
    assert_eq!(cluster.len(), 12);
    let id = uuid::Uuid::parse_str(d.data["uuid"].expose_str().unwrap()).expect("a UUID");
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(d.data["user"].expose_str(), Some("admin"));
}

#[tokio::test]
async fn every_sync_generates_anew() {
    let env = env_of(GENERATORS);
    let e = r#"
metadata: {name: app, namespace: ns}
spec:
  dataFrom: [{sourceRef: {generatorRef: {kind: UUID, name: id}}}]
"#;
    let first = written(e, &env).await;
    let second = written(e, &env).await;
    assert_ne!(first.data["uuid"].expose(), second.data["uuid"].expose());
}

#[tokio::test]
async fn unsupported_kinds_say_so_by_name() {
    let env = env_of(GENERATORS);
    for (kind, name) in [
        ("STSSessionToken", "sts"),
        ("ClusterGenerator", "ssh"),
        ("Webhook", "hook"),
    ] {
        let err = failed(
            &format!(
                r#"
metadata: {{name: app, namespace: ns}}
spec:
  dataFrom: [{{sourceRef: {{generatorRef: {{kind: {kind}, name: {name}}}}}}}]
"#
            ),
            &env,
        )
        .await;
        let EngineError::Unsupported { message, .. } = &err else {
            panic!("{kind}: {err:?}");
        };
        let shown = if kind == "ClusterGenerator" {
            "SSHKey"
        } else {
            kind
        };
        assert!(
            message.starts_with(&format!("generator kind {shown} is not supported")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_invalid_generator_fails_with_its_location() {
    let env = env_of(GENERATORS);
    let err = failed(
        r#"
metadata: {name: app, namespace: other}
spec:
  dataFrom: [{sourceRef: {generatorRef: {kind: Password, name: pw}}}]
"#,
        &env,
    )
    .await;
    let text = err.to_string();
    assert!(
        text.contains("spec.dataFrom[0].sourceRef.generatorRef") && text.contains("not found"),
        "{text}"
    );
    let env = env_of(&format!(
        r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {{name: pw, namespace: ns}}
spec: {{length: 8, digits: 9, symbolCharacters: "{CANARY}"}}
"#
    ));
    let err = failed(
        r#"
metadata: {name: app, namespace: ns}
spec:
  dataFrom: [{sourceRef: {generatorRef: {kind: Password, name: pw}}}]
"#,
        &env,
    )
    .await;
    let text = err.to_string();
    assert!(text.contains("spec.digits + spec.symbols"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
}

#[test]
fn bad_generator_manifests_name_the_field() {
    let docs = parse_documents(
        "g.yaml",
        r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: ns}
spec: {length: "twelve"}
"#,
    );
    let err = docs[0].as_ref().expect_err("bad length").to_string();
    assert!(
        err.contains("spec.length") && err.contains("Password/pw"),
        "{err}"
    );
    assert!(!err.contains("twelve"), "{err}");
}
