use super::*;
use serde_json::json;

fn migration() -> Vec<Migration> {
    let m = |store: &str, key: &str, to: &str| Migration {
        store: store.into(),
        key: key.into(),
        property: None,
        to: to.into(),
    };
    let mut user = m(AWS_STORE, "db", "team/db-user");
    user.property = Some("user".into());
    vec![
        m(AWS_STORE, "db", "team/db"),
        m(AZURE_STORE, "api", "team/api"),
        user,
    ]
}

fn es(spec: Value) -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": "team", "resourceVersion": "7"},
        "spec": spec,
    })
}

fn aws() -> Value {
    json!({"name": AWS_STORE, "kind": "ClusterSecretStore"})
}

fn azure() -> Value {
    json!({"name": AZURE_STORE, "kind": "ClusterSecretStore"})
}

/// (name, spec, the switched spec or the start of the refusal)
#[test]
fn translations() {
    let table: Vec<(&str, Value, Result<Value, &str>)> = vec![
        (
            "top-level store and one key",
            json!({"secretStoreRef": aws(), "data": [{"secretKey": "p", "remoteRef": {"key": "db"}}]}),
            Ok(json!({"secretStoreRef": vault_ref(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "team/db", "property": "value"}}]})),
        ),
        (
            "per-entry storeRef, other remoteRef fields kept",
            json!({"secretStoreRef": aws(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "db", "decodingStrategy": "Base64"}},
                {"secretKey": "a", "remoteRef": {"key": "api", "property": ""},
                 "sourceRef": {"storeRef": azure()}}]}),
            Ok(json!({"secretStoreRef": vault_ref(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "team/db", "property": "value", "decodingStrategy": "Base64"}},
                {"secretKey": "a", "remoteRef": {"key": "team/api", "property": "value"},
                 "sourceRef": {"storeRef": vault_ref()}}]})),
        ),
        (
            "an unused top-level store stays",
            json!({"secretStoreRef": {"name": "elsewhere", "kind": "SecretStore"}, "data": [
                {"secretKey": "a", "remoteRef": {"key": "api"}, "sourceRef": {"storeRef": azure()}}]}),
            Ok(
                json!({"secretStoreRef": {"name": "elsewhere", "kind": "SecretStore"}, "data": [
                {"secretKey": "a", "remoteRef": {"key": "team/api", "property": "value"},
                 "sourceRef": {"storeRef": vault_ref()}}]}),
            ),
        ),
        (
            "already on vault: nothing",
            json!({"secretStoreRef": vault_ref(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "x/y", "property": "value"}}],
                "dataFrom": [{"extract": {"key": "x/z"}}]}),
            Ok(json!({"secretStoreRef": vault_ref(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "x/y", "property": "value"}}],
                "dataFrom": [{"extract": {"key": "x/z"}}]})),
        ),
        (
            "a key not in migration",
            json!({"secretStoreRef": aws(), "data": [
                {"secretKey": "p", "remoteRef": {"key": "db"}},
                {"secretKey": "q", "remoteRef": {"key": "other"}}]}),
            Err(
                "data[1].remoteRef (key \"other\" of ClusterSecretStore aws-secretsmanager) is not in migration",
            ),
        ),
        (
            "the key of the other cloud",
            json!({"secretStoreRef": azure(), "data": [{"secretKey": "p", "remoteRef": {"key": "db"}}]}),
            Err(
                "data[0].remoteRef (key \"db\" of ClusterSecretStore azure-keyvault) is not in migration",
            ),
        ),
        (
            "a namespaced store of the same name",
            json!({"secretStoreRef": {"name": AWS_STORE}, "data": [{"secretKey": "p", "remoteRef": {"key": "db"}}]}),
            Err("data[0] reads SecretStore aws-secretsmanager, which is not a migration source"),
        ),
        (
            "a property migrated on its own",
            json!({"secretStoreRef": aws(), "data": [{"secretKey": "u", "remoteRef": {"key": "db", "property": "user"}}]}),
            Ok(json!({"secretStoreRef": vault_ref(), "data": [
                {"secretKey": "u", "remoteRef": {"key": "team/db-user", "property": "value"}}]})),
        ),
        (
            "a property not migrated",
            json!({"secretStoreRef": aws(), "data": [{"secretKey": "p", "remoteRef": {"key": "db", "property": "password"}}]}),
            Err(
                "data[0].remoteRef (key \"db\" of ClusterSecretStore aws-secretsmanager), property \"password\", is not in migration",
            ),
        ),
        (
            "a version",
            json!({"secretStoreRef": aws(), "data": [{"secretKey": "p", "remoteRef": {"key": "db", "version": "3"}}]}),
            Err(
                "data[0].remoteRef (key \"db\" of ClusterSecretStore aws-secretsmanager) pins a version",
            ),
        ),
        (
            "metadata",
            json!({"secretStoreRef": aws(), "data": [{"secretKey": "p", "remoteRef": {"key": "db", "metadataPolicy": "Fetch"}}]}),
            Err(
                "data[0].remoteRef (key \"db\" of ClusterSecretStore aws-secretsmanager) reads metadata",
            ),
        ),
        (
            "dataFrom on a cloud store",
            json!({"secretStoreRef": aws(), "dataFrom": [{"extract": {"key": "db"}}]}),
            Err("dataFrom[0] (extract or find) is not covered"),
        ),
        (
            "a generator",
            json!({"dataFrom": [{"sourceRef": {"generatorRef": {"kind": "Password", "name": "p"}}}]}),
            Err("dataFrom[0] uses a generator"),
        ),
        (
            "no store at all",
            json!({"data": [{"secretKey": "p", "remoteRef": {"key": "db"}}]}),
            Err("data[0] names no store"),
        ),
    ];
    for (name, spec, want) in table {
        let original = es(spec);
        match (translate(&original, &migration()), want) {
            (Ok(changes), Ok(switched_spec)) => {
                let mut doc = original.clone();
                switch(&mut doc, &changes);
                assert_eq!(doc["spec"], switched_spec, "{name}");
                // the switched form has nothing left to switch
                assert_eq!(translate(&doc, &migration()), Ok(vec![]), "{name}");
                restore(&mut doc, &changes);
                assert_eq!(doc, original, "{name}: restore is exact");
            }
            (Err(e), Err(start)) => assert!(e.0.starts_with(start), "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn records_round_trip_and_refuse_foreign_paths() {
    let original = es(json!({"secretStoreRef": aws(), "data": [
        {"secretKey": "p", "remoteRef": {"key": "db"}}]}));
    let changes = translate(&original, &migration()).expect("covered");
    assert_eq!(parse_record(&record(&changes)), Ok(changes));
    let table = [
        ("[]", None),
        ("{", Some("expected a JSON list")),
        (
            r#"[{"path": "/metadata/ownerReferences", "now": 1}]"#,
            Some("path \"/metadata/ownerReferences\" is not one a cut-over changes"),
        ),
        (
            r#"[{"path": "/spec/data/x/remoteRef/key", "now": 1}]"#,
            Some("is not one a cut-over changes"),
        ),
        (
            r#"[{"path": "/spec/data/0/remoteRef/key", "now": 1, "extra": 2}]"#,
            Some("unknown field"),
        ),
    ];
    for (text, want) in table {
        match (parse_record(text), want) {
            (Ok(_), None) => {}
            (Err(e), Some(w)) => assert!(e.contains(w), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }
    assert!(parse_record(&" ".repeat(MAX_RECORD + 1)).is_err());
}

#[test]
fn rollback_decisions() {
    let original = es(json!({"secretStoreRef": aws(), "data": [
        {"secretKey": "p", "remoteRef": {"key": "db"}}]}));
    let changes = translate(&original, &migration()).expect("covered");
    let mut switched = original.clone();
    switch(&mut switched, &changes);
    let mut edited = switched.clone();
    edited["spec"]["data"][0]["remoteRef"]["key"] = json!("by-hand");
    let mut half = switched.clone();
    half["spec"]["secretStoreRef"] = aws();
    let table = [
        ("switched", &switched, Rollback::SwitchBack),
        ("original", &original, Rollback::AlreadyBack),
        ("half restored", &half, Rollback::SwitchBack),
        (
            "edited since",
            &edited,
            Rollback::Changed("/spec/data/0/remoteRef/key".into()),
        ),
    ];
    for (name, live, want) in table {
        assert_eq!(rollback_of(live, &changes), want, "{name}");
    }
}

#[test]
fn patches_test_what_they_replace_and_round_trip() {
    let original = es(json!({"secretStoreRef": aws(), "data": [
        {"secretKey": "p", "remoteRef": {"key": "db"}}]}));
    let changes = translate(&original, &migration()).expect("covered");
    let patch = switch_patch(&original, &changes);
    let ops = patch.as_array().expect("ops");
    assert_eq!(
        ops[0],
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
    );
    assert!(
        ops.contains(&json!({"op": "test", "path": "/spec/data/0/remoteRef/key", "value": "db"}))
    );
    let last = ops.last().expect("annotation");
    assert_eq!(last["path"], "/metadata/annotations");
    assert_eq!(last["value"][ORIGINAL_ANNOTATION], json!(record(&changes)));
    // With annotations present, only the one member is added.
    let mut annotated = original.clone();
    annotated["metadata"]["annotations"] = json!({"argocd.argoproj.io/tracking-id": "x"});
    let patch = switch_patch(&annotated, &changes);
    assert_eq!(
        patch
            .as_array()
            .and_then(|o| o.last())
            .map(|o| o["path"].clone()),
        Some(json!(
            "/metadata/annotations/secretsync.io~1cutover-original"
        ))
    );
    let mut switched = annotated.clone();
    switch(&mut switched, &changes);
    let back = rollback_patch(&switched, &changes);
    let ops = back.as_array().expect("ops");
    assert!(ops.contains(&json!({"op": "remove", "path": "/spec/data/0/remoteRef/property"})));
    assert!(ops.contains(&json!({"op": "add", "path": "/spec/secretStoreRef", "value": aws()})));
    assert_eq!(
        ops.last(),
        Some(
            &json!({"op": "remove", "path": "/metadata/annotations/secretsync.io~1cutover-original"})
        )
    );
}
