#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secretsync_model::external_secret::ExternalSecret;

use super::*;

/// An ExternalSecret using most of the schema: every kind of data source, a template with
/// metadata and `templateFrom`, and a status as the operator writes it.
fn rich() -> ExternalSecret {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {
            "name": "app", "namespace": "team-a", "uid": "9b0c6f7e-1d2a-4e55-8f3b-0a1b2c3d4e5f",
            "generation": 7, "resourceVersion": "123456",
            "labels": {"app": "web", "tier": "backend"},
            "annotations": {"force-sync": "1700000000", "note": "ünïcode ✓ \"quoted\""},
            "finalizers": ["example.com/keep"],
            "ownerReferences": [{"apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
                                 "name": "fleet", "uid": "u-1", "controller": true}]
        },
        "spec": {
            "refreshInterval": "15m",
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
            "target": {
                "name": "app-secret", "creationPolicy": "Merge", "deletionPolicy": "Retain",
                "template": {
                    "type": "kubernetes.io/tls", "engineVersion": "v2", "mergePolicy": "Merge",
                    "metadata": {"labels": {"l": "v"}, "annotations": {"a": "b"}},
                    "data": {"tls.crt": "{{ .cert | b64dec }}", "config": "user={{ .user }}"},
                    "templateFrom": [{"configMap": {"name": "tpl", "items": [{"key": "k", "templateAs": "KeysAndValues"}]}, "target": "Annotations"}]
                }
            },
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "db/creds", "property": "user", "version": "3",
                 "conversionStrategy": "Default", "decodingStrategy": "Base64", "metadataPolicy": "None"}},
                {"secretKey": "cert", "remoteRef": {"key": "tls"},
                 "sourceRef": {"storeRef": {"name": "aws", "kind": "SecretStore"}}}
            ],
            "dataFrom": [
                {"extract": {"key": "shared/app"}, "rewrite": [{"regexp": {"source": "^(.*)$", "target": "app_$1"}}]},
                {"find": {"path": "team-a", "name": {"regexp": "^db-"}, "tags": {"env": "prod"}}},
                {"sourceRef": {"generatorRef": {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "pw"}}}
            ]
        },
        "status": {
            "refreshTime": "2026-12-07T10:00:00Z",
            "syncedResourceVersion": "7-0123456789abcdef0123456789abcdef0123456789abcdef01234567",
            "binding": {"name": "app-secret"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                            "message": "secret synced", "lastTransitionTime": "2026-12-07T09:00:00Z"}]
        }
    }))
    .unwrap()
}

fn named(namespace: &str, name: &str, generation: i64) -> ExternalSecret {
    let mut es = rich();
    es.metadata.namespace = Some(namespace.into());
    es.metadata.name = Some(name.into());
    es.metadata.generation = Some(generation);
    es
}

#[test]
fn an_object_reads_back_exactly_as_it_was_cached() {
    let store = CompactStore::<ExternalSecret>::default();
    let es = rich();
    store.apply(&watcher::Event::Apply(es.clone()));
    assert_eq!(*store.get("team-a", "app").unwrap(), es);
    assert!(store.contains("team-a", "app"));
    assert!(store.get("team-b", "app").is_none());
    assert!(store.get("team-a", "other").is_none());
}

#[test]
fn a_primed_store_reads_back_exactly_too() {
    let store = CompactStore::primed_with(&typical_external_secret());
    let es = rich();
    store.apply(&watcher::Event::Apply(es.clone()));
    assert_eq!(*store.get("team-a", "app").unwrap(), es);
    // As bare as the watch can deliver one (decoded from JSON, like every watched object).
    let bare: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "bare", "namespace": "ns"}, "spec": {}
    }))
    .unwrap();
    store.apply(&watcher::Event::Apply(bare.clone()));
    assert_eq!(*store.get("ns", "bare").unwrap(), bare);
}

#[test]
fn the_typical_sample_is_what_its_json_says() {
    // The sample decodes (a mismatch with the model would fall back to an empty object and
    // silently weaken the compression).
    let typical = typical_external_secret();
    assert_eq!(typical.spec.data.len(), 1);
    assert_eq!(typical.spec.data_from.len(), 1);
    assert!(typical.status.is_some());
}

#[test]
fn a_typical_object_is_held_in_a_third_of_its_json() {
    let store = CompactStore::primed_with(&typical_external_secret());
    // An ExternalSecret as the scale harness writes it, after its first sync.
    let es: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "es-01234", "namespace": "scale-ns-07", "generation": 1,
            "uid": "5f1c8a2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b", "resourceVersion": "123456",
            "creationTimestamp": "2026-12-07T11:31:10Z", "labels": {"secretsync.io/scale-run": "r1"}},
        "spec": {"refreshInterval": "120s",
            "secretStoreRef": {"name": "scale-vault", "kind": "ClusterSecretStore"},
            "target": {"name": "es-01234"},
            "data": [{"secretKey": "value", "remoteRef": {"key": "scale-00234", "property": "value"}}]},
        "status": {"refreshTime": "2026-12-07T11:33:40Z", "binding": {"name": "es-01234"},
            "syncedResourceVersion": "1-0123456789abcdef0123456789abcdef0123456789abcdef01234567",
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                "message": "secret synced", "lastTransitionTime": "2026-12-07T11:31:40Z"}]}
    }))
    .unwrap();
    let json = serde_json::to_vec(&es).unwrap().len();
    let (_, _, held) = encode(&es, &store.dictionary).unwrap();
    assert!(
        held.len() * 3 < json,
        "{} bytes held for {json} of JSON",
        held.len()
    );
    store.apply(&watcher::Event::Apply(es.clone()));
    assert_eq!(*store.get("scale-ns-07", "es-01234").unwrap(), es);
}

#[test]
fn applies_and_deletes_replace_and_remove() {
    let store = CompactStore::<ExternalSecret>::default();
    store.apply(&watcher::Event::Apply(named("ns", "a", 1)));
    store.apply(&watcher::Event::Apply(named("ns", "a", 2)));
    store.apply(&watcher::Event::Apply(named("ns", "b", 1)));
    assert_eq!(store.get("ns", "a").unwrap().metadata.generation, Some(2));
    assert_eq!(store.len(), 2);
    store.apply(&watcher::Event::Delete(named("ns", "a", 2)));
    assert!(store.get("ns", "a").is_none());
    let names: Vec<_> = store
        .all()
        .iter()
        .map(|es| es.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["b"]);
}

#[test]
fn a_relist_replaces_the_contents_at_its_end() {
    let store = CompactStore::<ExternalSecret>::default();
    store.apply(&watcher::Event::Apply(named("ns", "old", 1)));
    store.apply(&watcher::Event::Init);
    store.apply(&watcher::Event::InitApply(named("ns", "new", 1)));
    // Until the re-list ends, the previous contents are served.
    assert!(store.contains("ns", "old"));
    assert!(!store.contains("ns", "new"));
    store.apply(&watcher::Event::InitDone);
    assert!(
        !store.contains("ns", "old"),
        "gone while the watch was down"
    );
    assert!(store.contains("ns", "new"));
    assert_eq!(store.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn it_is_ready_once_the_first_list_completed() {
    let store = CompactStore::<ExternalSecret>::default();
    let waiting = store.clone();
    let ready = tokio::spawn(async move { waiting.wait_until_ready().await });
    store.apply(&watcher::Event::Init);
    store.apply(&watcher::Event::InitApply(named("ns", "a", 1)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!ready.is_finished(), "not before the list completed");
    store.apply(&watcher::Event::InitDone);
    tokio::time::timeout(Duration::from_secs(1), ready)
        .await
        .expect("ready after InitDone")
        .unwrap();
}
