//! ESO semantics through the engine: precedence, deletion policies, per-entry stores,
//! metadata, versions, NUL bytes, unsupported features, secret hygiene.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use common::{MemoryFactory, env_for, es, strings};
use secretsync_engine::{Engine, EngineConfig, EngineError, KeyState, SyncResult};

fn engine(factory: &MemoryFactory) -> Engine {
    Engine::new(Arc::new(factory.factory()), EngineConfig::default())
}

const CANARY: &str = "canary-7f3a9-secret";

#[tokio::test]
async fn data_from_in_order_later_wins_then_data_wins() {
    let f = MemoryFactory::with_values([
        ("first", r#"{"a": "1", "b": "1", "c": "1"}"#),
        ("second", r#"{"b": "2", "c": "2"}"#),
        ("third", "3"),
    ]);
    let e = es(r#"
metadata: {name: p, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data:
    - {secretKey: c, remoteRef: {key: third}}
  dataFrom:
    - extract: {key: first}
    - extract: {key: second}
"#);
    let out = engine(&f).sync(&e, &env_for([&e])).await;
    let SyncResult::Write(d) = out.result.unwrap() else {
        panic!()
    };
    assert_eq!(
        strings(&d.data),
        [("a", "1"), ("b", "2"), ("c", "3")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );
}

fn missing_es(
    policy: &str,
    with_present: bool,
) -> secretsync_model::external_secret::ExternalSecret {
    let present = if with_present {
        "\n    - {secretKey: here, remoteRef: {key: present}}"
    } else {
        ""
    };
    es(&format!(
        r#"
metadata: {{name: m, namespace: ns}}
spec:
  secretStoreRef: {{name: s}}
  target: {{deletionPolicy: {policy}}}
  data:
    - {{secretKey: gone, remoteRef: {{key: absent}}}}{present}
"#
    ))
}

#[tokio::test]
async fn retain_with_a_missing_key_is_an_error_reported_per_key() {
    let f = MemoryFactory::with_values([("present", "v")]);
    let out = engine(&f)
        .sync(
            &missing_es("Retain", true),
            &env_for([&missing_es("Retain", true)]),
        )
        .await;
    let err = out.result.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(matches!(out.keys[0].state, KeyState::Missing { .. }));
    assert_eq!(out.keys[1].state, KeyState::Synced);
}

#[tokio::test]
async fn merge_policy_skips_missing_keys_and_says_so() {
    let f = MemoryFactory::with_values([("present", "v")]);
    let out = engine(&f)
        .sync(
            &missing_es("Merge", true),
            &env_for([&missing_es("Merge", true)]),
        )
        .await;
    assert!(out.is_partial());
    let SyncResult::Write(d) = out.result.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(strings(&d.data).len(), 1);
    assert_eq!(out.key_statuses()[0].state, "Missing");
    assert!(
        out.key_statuses()[0]
            .reason
            .as_ref()
            .unwrap()
            .contains("absent")
    );
}

#[tokio::test]
async fn no_data_outcomes_follow_deletion_policy() {
    let f = MemoryFactory::default();
    let e = engine(&f);
    let env = env_for([&missing_es("Delete", false)]);
    let out = e.sync(&missing_es("Delete", false), &env).await;
    assert_eq!(
        out.result.unwrap(),
        SyncResult::Delete {
            name: "m".into(),
            namespace: "ns".into()
        }
    );
    assert!(matches!(out.keys[0].state, KeyState::Missing { .. }));
    let out = e.sync(&missing_es("Merge", false), &env).await;
    match out.result.unwrap() {
        SyncResult::Write(d) => assert!(d.data.is_empty()),
        other => panic!("{other:?}"),
    }
    // Retain with an empty find (nothing missing, just no data): keep the Secret.
    let find = es(r#"
metadata: {name: m, namespace: ns}
spec:
  secretStoreRef: {name: s}
  dataFrom: [{find: {path: nothing-here/}}]
"#);
    assert_eq!(
        e.sync(&find, &env).await.result.unwrap(),
        SyncResult::Retain {
            name: "m".into(),
            namespace: "ns".into()
        }
    );
}

#[tokio::test]
async fn per_entry_store_refs_and_missing_stores() {
    let f = MemoryFactory::with_values([("k", "v")]);
    let spec = secretsync_model::secret_store::SecretStoreSpec::default();
    // "broken" is not held: only the other two stores are.
    let env = secretsync_engine::MemoryEnvironment::new()
        .with_secret_store("ns", "default-store", spec.clone())
        .with_cluster_secret_store("other", spec);
    let e = es(r#"
metadata: {name: st, namespace: ns}
spec:
  secretStoreRef: {name: default-store}
  data:
    - {secretKey: a, remoteRef: {key: k}}
    - secretKey: b
      remoteRef: {key: k}
      sourceRef: {storeRef: {name: other, kind: ClusterSecretStore}}
    - secretKey: c
      remoteRef: {key: k}
      sourceRef: {storeRef: {name: broken}}
"#);
    let out = engine(&f).sync(&e, &env_for([&e])).await;
    assert!(out.result.is_ok());
    // Two stores, two providers; the same key is read once per store.
    assert_eq!(f.builds.load(std::sync::atomic::Ordering::SeqCst), 3);
    let out = engine(&f).sync(&e, &env).await;
    match out.result.unwrap_err() {
        EngineError::Store {
            location,
            store,
            cause,
            ..
        } => {
            assert_eq!(location, "spec.data[2]");
            assert_eq!(store, "SecretStore broken");
            assert_eq!(cause, secretsync_engine::StoreFailure::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn metadata_policy_version_and_null_bytes() {
    let f = MemoryFactory::with_values([("k", "latest"), ("nul", "a\u{0}b")]);
    f.set_version("k", "3", "third");
    f.set_metadata("k", r#"{"owner": "team-a"}"#);
    let e = es(r#"
metadata: {name: mv, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data:
    - {secretKey: latest, remoteRef: {key: k}}
    - {secretKey: v3, remoteRef: {key: k, version: "3"}}
    - {secretKey: owner, remoteRef: {key: k, metadataPolicy: Fetch, property: owner}}
    - {secretKey: nul, remoteRef: {key: nul}}
"#);
    let out = engine(&f).sync(&e, &env_for([&e])).await;
    let SyncResult::Write(d) = out.result.unwrap() else {
        panic!()
    };
    let data = strings(&d.data);
    assert_eq!(
        (
            data["latest"].as_str(),
            data["v3"].as_str(),
            data["owner"].as_str()
        ),
        ("latest", "third", "team-a")
    );
    assert_eq!(d.data["nul"].expose(), b"a\0b");
    let fail = es(r#"
metadata: {name: mv, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data:
    - {secretKey: nul, remoteRef: {key: nul, nullBytePolicy: Fail}}
"#);
    let err = engine(&f)
        .sync(&fail, &env_for([&fail]))
        .await
        .result
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[tokio::test]
async fn generators_and_manifest_targets_are_reported_unsupported() {
    let f = MemoryFactory::default();
    let e = es(r#"
metadata: {name: g, namespace: ns}
spec:
  dataFrom:
    - sourceRef: {generatorRef: {kind: Webhook, name: hook}}
"#);
    match engine(&f)
        .sync(&e, &env_for([&e]))
        .await
        .result
        .unwrap_err()
    {
        EngineError::Unsupported {
            location, message, ..
        } => {
            assert_eq!(location, "spec.dataFrom[0].sourceRef.generatorRef");
            assert!(
                message.starts_with("generator kind Webhook is not supported"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let e = es(r#"
metadata: {name: g, namespace: ns}
spec:
  secretStoreRef: {name: s}
  target: {manifest: {apiVersion: v1, kind: ConfigMap}}
  data: [{secretKey: a, remoteRef: {key: k}}]
"#);
    let err = engine(&f)
        .sync(&e, &env_for([&e]))
        .await
        .result
        .unwrap_err();
    assert!(err.to_string().contains("spec.target.manifest"), "{err}");
}

#[tokio::test]
async fn values_never_reach_errors_or_debug_output() {
    let f = MemoryFactory::with_values([(
        "k",
        &*format!(r#"{{"p": "{CANARY}", "bad/key": "{CANARY}"}}"#),
    )]);
    // A template error, a property error, a decode error and an invalid key, all with the canary around.
    let e = es(r#"
metadata: {name: h, namespace: ns}
spec:
  secretStoreRef: {name: s}
  target:
    template:
      data: {x: "{{ .p | nosuchfunc }}"}
  data:
    - {secretKey: p, remoteRef: {key: k, property: p}}
"#);
    let env = env_for([&e]);
    let out = engine(&f).sync(&e, &env).await;
    let text = format!(
        "{:?} {}",
        out,
        out.result
            .as_ref()
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string())
    );
    assert!(!text.contains(CANARY), "{text}");
    for e in [
        es(r#"
metadata: {name: h, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data: [{secretKey: p, remoteRef: {key: k, property: p.q}}]
"#),
        es(r#"
metadata: {name: h, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data: [{secretKey: p, remoteRef: {key: k, property: p, decodingStrategy: Base64}}]
"#),
        es(r#"
metadata: {name: h, namespace: ns}
spec:
  secretStoreRef: {name: s}
  dataFrom: [{extract: {key: k}, rewrite: [{regexp: {source: "x", target: "y"}}]}]
"#),
    ] {
        let out = engine(&f).sync(&e, &env).await;
        let err = out.result.as_ref().expect_err("must fail");
        let text = format!("{err} {err:?} {:?}", out.keys);
        assert!(!text.contains(CANARY), "{text}");
    }
    // A successful sync: Debug of the whole outcome is redacted.
    let ok = es(r#"
metadata: {name: h, namespace: ns}
spec:
  secretStoreRef: {name: s}
  data: [{secretKey: p, remoteRef: {key: k, property: p}}]
"#);
    let out = engine(&f).sync(&ok, &env).await;
    assert!(out.result.is_ok());
    assert!(!format!("{out:?}").contains(CANARY));
}

#[tokio::test]
async fn identical_inputs_give_identical_outputs() {
    let f = MemoryFactory::with_values([("k", r#"{"z": "1", "a": "2", "m": {"x": 1}}"#)]);
    let e = es(r#"
metadata: {name: d, namespace: ns}
spec:
  secretStoreRef: {name: s}
  dataFrom: [{extract: {key: k}}]
"#);
    let a = engine(&f).sync(&e, &env_for([&e])).await.result.unwrap();
    let b = engine(&f).sync(&e, &env_for([&e])).await.result.unwrap();
    assert_eq!(a, b);
}
