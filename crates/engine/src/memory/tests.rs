use super::*;
use secretsync_model::manifest::parse_documents;

fn spec(conditions: serde_json::Value) -> SecretStoreSpec {
    serde_json::from_value(serde_json::json!({
        "provider": {"fake": {"data": []}},
        "conditions": conditions,
    }))
    .expect("valid spec")
}

fn reference(kind: StoreKind, name: &str) -> SecretStoreRef {
    SecretStoreRef {
        name: name.into(),
        kind,
    }
}

fn env() -> MemoryEnvironment {
    MemoryEnvironment::new()
        .with_secret_store("team-a", "local", spec(serde_json::json!([])))
        .with_cluster_secret_store("open", spec(serde_json::json!([])))
        .with_cluster_secret_store(
            "restricted",
            spec(serde_json::json!([
                {"namespaces": ["prod"]},
                {"namespaceSelector": {"matchLabels": {"tier": "gold"}}}
            ])),
        )
        .with_namespace_labels("labelled", BTreeMap::from([("tier".into(), "gold".into())]))
        .with_secret("team-a", "creds", [("token", "t-a")])
        .with_secret("shared", "creds", [("token", "t-shared")])
        .with_config_map("team-a", "ca", [("ca.crt", "PEM")])
}

#[tokio::test]
async fn stores_follow_eso_namespace_rules() {
    use StoreKind::{ClusterSecretStore as Css, SecretStore as Ss};
    // (reader namespace, kind, name, Ok(resolved id) or Err(part of the message))
    let cases: [(&str, StoreKind, &str, Result<&str, &str>); 8] = [
        ("team-a", Ss, "local", Ok("SecretStore team-a/local")),
        (
            "team-b",
            Ss,
            "local",
            Err("SecretStore team-b/local not found"),
        ),
        ("team-b", Css, "open", Ok("ClusterSecretStore open")),
        (
            "prod",
            Css,
            "restricted",
            Ok("ClusterSecretStore restricted"),
        ),
        (
            "labelled",
            Css,
            "restricted",
            Ok("ClusterSecretStore restricted"),
        ),
        (
            "dev",
            Css,
            "restricted",
            Err("does not admit namespace \"dev\""),
        ),
        (
            "dev",
            Css,
            "restricted",
            Err("labels of the namespace are not known"),
        ),
        (
            "dev",
            Css,
            "missing",
            Err("ClusterSecretStore missing not found"),
        ),
    ];
    let env = env();
    for (namespace, kind, name, expected) in cases {
        let got = env.store(namespace, &reference(kind, name)).await;
        match (got, expected) {
            (Ok(store), Ok(id)) => assert_eq!(store.id.to_string(), id),
            (Err(e), Err(part)) => assert!(e.message.contains(part), "{}", e.message),
            (got, expected) => panic!("{namespace} {name}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[tokio::test]
async fn not_found_store_is_marked_not_found() {
    let err = env()
        .store("x", &reference(StoreKind::SecretStore, "nope"))
        .await
        .expect_err("missing");
    assert!(err.not_found);
}

fn context(kind: StoreKind, reader: &str) -> StoreContext {
    StoreContext {
        store: StoreId {
            kind,
            namespace: (kind == StoreKind::SecretStore).then(|| "team-a".to_string()),
            name: "s".into(),
        },
        reader_namespace: Some(reader.into()),
    }
}

fn selector(name: &str, namespace: Option<&str>, key: Option<&str>) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        namespace: namespace.map(str::to_string),
        key: key.map(str::to_string),
    }
}

/// (store kind, reader, selector namespace, key, Ok(value) or Err(part of the message))
type CredentialCase<'a> = (
    StoreKind,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Result<&'a str, &'a str>,
);

#[tokio::test]
async fn credentials_follow_eso_namespace_rules() {
    use StoreKind::{ClusterSecretStore as Css, SecretStore as Ss};
    let cases: [CredentialCase<'_>; 7] = [
        (Ss, "team-a", None, Some("token"), Ok("t-a")),
        (
            Ss,
            "team-a",
            Some("shared"),
            Some("token"),
            Err("may only read from its own namespace"),
        ),
        (Css, "team-a", None, Some("token"), Ok("t-a")),
        (Css, "team-a", Some("shared"), Some("token"), Ok("t-shared")),
        (
            Css,
            "team-b",
            None,
            Some("token"),
            Err("credential Secret team-b/creds"),
        ),
        (
            Css,
            "team-a",
            None,
            Some("other"),
            Err("key \"other\" in credential Secret team-a/creds"),
        ),
        (Css, "team-a", None, None, Ok("t-a")),
    ];
    let env = env();
    for (kind, reader, namespace, key, expected) in cases {
        let resolver = env.credentials(&context(kind, reader));
        let got = resolver
            .secret_value(&selector("creds", namespace, key), Some("token"))
            .await;
        match (got, expected) {
            (Ok(v), Ok(value)) => assert_eq!(v.expose_str(), Some(value)),
            (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{e}"),
            (got, expected) => {
                panic!("{kind} {reader} {namespace:?}: got {got:?}, expected {expected:?}")
            }
        }
    }
}

#[tokio::test]
async fn config_maps_and_service_accounts() {
    let env = env();
    let resolver = env.credentials(&context(StoreKind::SecretStore, "team-a"));
    assert_eq!(
        resolver
            .config_map_value("ca", None, "ca.crt")
            .await
            .expect("ConfigMap key"),
        "PEM"
    );
    let account = ServiceAccountSelector {
        name: "robot".into(),
        ..Default::default()
    };
    let err = resolver
        .service_account_token(&account, &[], None)
        .await
        .expect_err("no cluster");
    assert!(
        err.to_string()
            .contains("a token of ServiceAccount team-a/robot: needs a Kubernetes cluster"),
        "{err}"
    );
}

#[tokio::test]
async fn template_sources_are_exact() {
    let env = env();
    let data = env
        .template_source(TemplateSourceKind::Secret, "shared", "creds")
        .await
        .expect("Secret");
    assert_eq!(data["token"].expose_str(), Some("t-shared"));
    let err = env
        .template_source(TemplateSourceKind::ConfigMap, "team-b", "ca")
        .await
        .expect_err("other namespace");
    assert!(
        err.not_found && err.message.contains("ConfigMap team-b/ca"),
        "{err:?}"
    );
}

#[tokio::test]
async fn fallback_answers_what_is_not_held() {
    let cluster = MemoryEnvironment::new()
        .with_secret_store("team-a", "remote", spec(serde_json::json!([])))
        .with_secret("team-a", "remote-creds", [("token", "from-cluster")]);
    let env = env().with_fallback(Arc::new(cluster));
    let store = env
        .store("team-a", &reference(StoreKind::SecretStore, "remote"))
        .await
        .expect("from the fallback");
    assert_eq!(store.id.to_string(), "SecretStore team-a/remote");
    let resolver = env.credentials(&context(StoreKind::SecretStore, "team-a"));
    let v = resolver
        .secret_value(&selector("remote-creds", None, Some("token")), None)
        .await
        .expect("from the fallback");
    assert_eq!(v.expose_str(), Some("from-cluster"));
    // An object held here wins, even when it lacks the key.
    let err = resolver
        .secret_value(&selector("creds", None, Some("missing")), None)
        .await
        .expect_err("held object without the key");
    assert!(err.to_string().contains("key \"missing\""), "{err}");
}

#[test]
fn insert_keeps_environment_objects_and_returns_the_rest() {
    let yaml = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: s}
spec: {provider: {fake: {data: []}}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: "x"}
data: {raw: "AP8="}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: es}
spec:
  secretStoreRef: {name: s}
  data: [{secretKey: a, remoteRef: {key: k}}]
"#;
    let mut env = MemoryEnvironment::new();
    let mut rest = Vec::new();
    for doc in parse_documents("input.yaml", yaml) {
        if let Some(r) = env.insert(doc.expect("valid document").resource) {
            rest.push(r.describe());
        }
    }
    assert_eq!(rest, ["ExternalSecret/es"]);
    let ids: Vec<String> = env.stores().map(|(id, _)| id.to_string()).collect();
    assert_eq!(ids, ["SecretStore default/s"]);
    let creds = env.objects.secret("default", "creds").expect("Secret");
    assert_eq!(creds["token"].expose_str(), Some("x"));
    assert_eq!(creds["raw"].expose(), [0x00, 0xff]);
}
