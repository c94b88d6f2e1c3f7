//! Store validation status, ClusterExternalSecret fan-out, and the credential resolver's
//! namespace rules and ServiceAccount tokens.

use crate::kube_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_support::*;
use secretsync_kube::credentials::{CredentialIndex, KubeCredentials};
use secretsync_model::StoreId;
use secretsync_model::cluster_external_secret::ClusterExternalSecret;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::{ExternalSecret, StoreKind};
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

async fn store_ready(
    env: &TestEnv,
    ns: &str,
    name: &str,
) -> Option<(String, String, Option<String>)> {
    let s = Api::<SecretStore>::namespaced(env.client.clone(), ns)
        .get_opt(name)
        .await
        .ok()??;
    let status = s.status?;
    let c = status.conditions.into_iter().find(|c| c.type_ == "Ready")?;
    Some((
        serde_json::to_value(c.status).ok()?.as_str()?.to_string(),
        c.reason.unwrap_or_default(),
        status.capabilities.map(|c| format!("{c:?}")),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_validation_reports_eso_reasons() {
    let env = TestEnv::start("stores").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let _operator = start_operator(&env, config);
    let store = |name: &str, provider: serde_json::Value| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": name},
               "spec": {"controller": class, "provider": provider}})
    };
    let _: SecretStore = env
        .apply(Some(&ns), store("valid", json!({"fake": {"data": []}})))
        .await;
    let _: SecretStore = env.apply(Some(&ns), store("empty", json!({}))).await;
    let _: SecretStore = env
        .apply(Some(&ns), json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "other-class"},
               "spec": {"controller": "someone-else", "provider": {"fake": {"data": []}}}}))
        .await;
    let valid = wait_for(Duration::from_secs(10), "valid store status", || async {
        store_ready(&env, &ns, "valid").await
    })
    .await;
    assert_eq!(
        (valid.0.as_str(), valid.1.as_str(), valid.2.as_deref()),
        ("True", "Valid", Some("ReadOnly"))
    );
    let empty = wait_for(Duration::from_secs(10), "empty store status", || async {
        store_ready(&env, &ns, "empty").await
    })
    .await;
    assert_eq!(
        (empty.0.as_str(), empty.1.as_str()),
        ("False", "InvalidStoreConfiguration")
    );
    // A store of ours applied after it gets its status: the store controller has handled the
    // watch events up to and including the other-class store's.
    let _: SecretStore = env
        .apply(Some(&ns), store("probe", json!({"fake": {"data": []}})))
        .await;
    wait_for(
        Duration::from_secs(10),
        "the probe store's status",
        || async { store_ready(&env, &ns, "probe").await },
    )
    .await;
    assert!(
        store_ready(&env, &ns, "other-class").await.is_none(),
        "a store of another controller class is left alone"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_external_secret_fans_out() {
    let mut env = TestEnv::start("ces").await;
    let label = BTreeMap::from([("ces-test".to_string(), env.suffix.clone())]);
    let a = env.create_namespace("ces-a", label.clone()).await;
    let b = env.create_namespace("ces-b", label.clone()).await;
    let conflict = env.create_namespace("ces-conflict", label).await;
    let unselected = env.create_namespace("ces-other", BTreeMap::new()).await;
    let mut config = test_config(&env);
    config.cluster_external_secrets = true;
    let _: ExternalSecret = env
        .apply(Some(&conflict), json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "shared"}, "spec": {"data": [{"secretKey": "k", "remoteRef": {"key": "k"}}]}}))
        .await;
    let _operator = start_operator(&env, config);
    let name = format!("ces-{}", env.suffix);
    let _: ClusterExternalSecret = env
        .apply(None, json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": name},
            "spec": {
                "externalSecretName": "shared",
                "namespaceSelectors": [{"matchLabels": {"ces-test": env.suffix}}],
                "externalSecretSpec": {"secretStoreRef": {"name": "nowhere", "kind": "ClusterSecretStore"},
                                       "data": [{"secretKey": "k", "remoteRef": {"key": "k"}}]}
            }}))
        .await;
    let status = wait_for(
        Duration::from_secs(10),
        "ClusterExternalSecret status",
        || async {
            let c = Api::<ClusterExternalSecret>::all(env.client.clone())
                .get_opt(&name)
                .await
                .ok()??;
            c.status.filter(|s| !s.provisioned_namespaces.is_empty())
        },
    )
    .await;
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(status.provisioned_namespaces, expected);
    assert_eq!(status.failed_namespaces.len(), 1);
    assert_eq!(status.failed_namespaces[0].namespace, conflict);
    for ns in [&a, &b] {
        let es = Api::<ExternalSecret>::namespaced(env.client.clone(), ns)
            .get("shared")
            .await
            .expect("child");
        assert_eq!(
            es.metadata.owner_references.unwrap_or_default()[0].kind,
            "ClusterExternalSecret"
        );
    }

    // Relabelling namespaces moves the children: the pass reads the namespaces from its watch,
    // which also triggers it, so it sees the change that woke it.
    let relabel = |ns: String, value: Option<String>| {
        let client = env.client.clone();
        async move {
            Api::<Namespace>::all(client)
                .patch(
                    &ns,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {"ces-test": value}}})),
                )
                .await
                .expect("relabel namespace");
        }
    };
    relabel(unselected.clone(), Some(env.suffix.clone())).await;
    relabel(b.clone(), None).await;
    let mut expected = vec![a.clone(), unselected.clone()];
    expected.sort();
    wait_for(
        Duration::from_secs(10),
        "the children to follow the namespace labels",
        || async {
            let c = Api::<ClusterExternalSecret>::all(env.client.clone())
                .get_opt(&name)
                .await
                .ok()??;
            let gone = Api::<ExternalSecret>::namespaced(env.client.clone(), &b)
                .get_opt("shared")
                .await
                .ok()?
                .is_none();
            (c.status?.provisioned_namespaces == expected && gone).then_some(())
        },
    )
    .await;
    assert!(
        Api::<ExternalSecret>::namespaced(env.client.clone(), &unselected)
            .get_opt("shared")
            .await
            .expect("get")
            .is_some(),
        "a child in the newly selected namespace"
    );
    // No pass LISTs the namespaces: only the operator's namespace watches do, each once before
    // it watches, against one pass per namespace change above. (Counted on the double, which
    // logs requests.)
    if let Some(server) = &env.server {
        let lists = server.request_count("list", "namespaces");
        let watches = server.request_count("watch", "namespaces");
        assert!(
            (1..=watches).contains(&lists),
            "{lists} LISTs of namespaces for {watches} watches"
        );
    }
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_follow_eso_namespace_rules() {
    let mut env = TestEnv::start("creds").await;
    let ns = env.namespace.clone();
    let other = env.create_namespace("creds-other", BTreeMap::new()).await;
    for namespace in [&ns, &other] {
        let mut s = Secret::default();
        s.metadata.name = Some("token".into());
        s.data = Some(BTreeMap::from([(
            "value".into(),
            ByteString(namespace.as_bytes().to_vec()),
        )]));
        Api::<Secret>::namespaced(env.client.clone(), namespace)
            .create(&PostParams::default(), &s)
            .await
            .expect("secret");
    }
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some("reader".into());
    sa.metadata.annotations = Some(BTreeMap::from([(
        "eks.amazonaws.com/role-arn".into(),
        "arn:aws:iam::1:role/r".into(),
    )]));
    Api::<ServiceAccount>::namespaced(env.client.clone(), &ns)
        .create(&PostParams::default(), &sa)
        .await
        .expect("sa");

    let index = Arc::new(CredentialIndex::default());
    let store = StoreId {
        kind: StoreKind::SecretStore,
        namespace: Some(ns.clone()),
        name: "s".into(),
    };
    let namespaced = KubeCredentials::new(
        env.client.clone(),
        StoreContext {
            store: store.clone(),
            reader_namespace: Some(ns.clone()),
        },
        index.clone(),
    );
    let own = SecretKeySelector {
        name: "token".into(),
        namespace: None,
        key: Some("value".into()),
    };
    assert_eq!(
        namespaced
            .secret_value(&own, None)
            .await
            .expect("own namespace")
            .expose(),
        ns.as_bytes()
    );
    let foreign = SecretKeySelector {
        namespace: Some(other.clone()),
        ..own.clone()
    };
    let err = namespaced
        .secret_value(&foreign, None)
        .await
        .expect_err("a SecretStore may not leave its namespace");
    assert!(
        err.to_string()
            .contains("may only read from its own namespace"),
        "{err}"
    );
    assert_eq!(index.stores_using(&ns, "token"), vec![store]);

    let cluster = StoreId {
        kind: StoreKind::ClusterSecretStore,
        namespace: None,
        name: "c".into(),
    };
    let referent = KubeCredentials::new(
        env.client.clone(),
        StoreContext {
            store: cluster.clone(),
            reader_namespace: Some(other.clone()),
        },
        index.clone(),
    );
    assert_eq!(
        referent
            .secret_value(&own, None)
            .await
            .expect("reader namespace")
            .expose(),
        other.as_bytes()
    );
    assert_eq!(
        referent
            .secret_value(&foreign, None)
            .await
            .expect("named namespace")
            .expose(),
        other.as_bytes()
    );
    let validating = KubeCredentials::new(
        env.client.clone(),
        StoreContext {
            store: cluster,
            reader_namespace: None,
        },
        index,
    );
    assert!(
        validating.secret_value(&own, None).await.is_err(),
        "no namespace to resolve without a reader"
    );

    let account = ServiceAccountSelector {
        name: "reader".into(),
        namespace: None,
        audiences: vec!["extra".into()],
    };
    let token = namespaced
        .service_account_token(
            &account,
            &["vault".to_string()],
            Some(Duration::from_secs(600)),
        )
        .await
        .expect("TokenRequest");
    assert_eq!(token.expose().split(|b| *b == b'.').count(), 3, "a JWT");
    let annotations = namespaced
        .service_account_annotations(&account)
        .await
        .expect("annotations");
    assert_eq!(
        annotations
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some("arn:aws:iam::1:role/r")
    );
    env.cleanup().await;
}
