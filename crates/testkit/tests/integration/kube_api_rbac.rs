//! RBAC in the Kubernetes API double through `kube::Client`: service-account tokens are
//! authorized by Roles/ClusterRoles and their bindings, the admin token is not.

use crate::kube_common;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchParams};
use kube_common::{TestResult, api_code, secret, server};
use serde_json::json;

async fn apply(client: &kube::Client, manifest: serde_json::Value) -> TestResult {
    let gvk = kube::core::GroupVersionKind::try_from(&kube::core::TypeMeta {
        api_version: manifest["apiVersion"].as_str().unwrap_or_default().into(),
        kind: manifest["kind"].as_str().unwrap_or_default().into(),
    })?;
    let ar = kube::core::ApiResource::from_gvk(&gvk);
    let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<kube::core::DynamicObject> = match manifest["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("test"),
        &Patch::Apply(serde_json::from_value::<kube::core::DynamicObject>(
            manifest.clone(),
        )?),
    )
    .await?;
    Ok(())
}

fn forbidden_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 && s.reason == "Forbidden" => s.message.clone(),
        other => panic!("expected 403 Forbidden, got {other}"),
    }
}

#[tokio::test]
async fn service_accounts_get_what_their_roles_grant_and_nothing_else() -> TestResult {
    let (server, admin) = server().await?;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "default");
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "app"}}))?,
    )
    .await?;
    Api::<Secret>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &secret("db", &[("k", "v")]))
        .await?;
    let token = server
        .service_account_token("default", "app")
        .expect("token");
    let app = server.client_with_token(&token)?;
    let secrets: Api<Secret> = Api::namespaced(app.clone(), "default");

    // Nothing is granted yet: 403 with the API server's message.
    let e = secrets.list(&ListParams::default()).await.expect_err("403");
    assert_eq!(
        forbidden_message(&e),
        "secrets is forbidden: User \"system:serviceaccount:default:app\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\""
    );
    let Err(e) = Api::<Secret>::all(app.clone())
        .watch(&WatchParams::default(), "0")
        .await
    else {
        panic!("a cluster-wide watch without a ClusterRole must fail");
    };
    assert!(
        forbidden_message(&e)
            .contains("cannot watch resource \"secrets\" in API group \"\" at the cluster scope"),
        "{e}"
    );

    // A Role with resourceNames: get of that one Secret only.
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "read-db", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}]}),
    )
    .await?;
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "read-db", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-db"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "default"}]}),
    )
    .await?;
    assert!(secrets.get("db").await?.data.is_some());
    let e = secrets.get("other").await.expect_err("403 before 404");
    assert!(
        forbidden_message(&e).starts_with("secrets \"other\" is forbidden: "),
        "{e}"
    );
    secrets.list(&ListParams::default()).await.expect_err("403");

    // kubectl auth can-i's question, answered by the same policy.
    let reviews: Api<SelfSubjectAccessReview> = Api::all(app.clone());
    let can = |verb: &str, name: Option<&str>| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some("secrets".into()),
                namespace: Some("default".into()),
                name: name.map(String::from),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let yes = reviews
        .create(&PostParams::default(), &can("get", Some("db")))
        .await?;
    assert_eq!(yes.status.map(|s| s.allowed), Some(true));
    let no = reviews
        .create(&PostParams::default(), &can("delete", Some("db")))
        .await?;
    assert_eq!(no.status.map(|s| s.allowed), Some(false));

    // A ClusterRole through a ClusterRoleBinding to the SA's group: every namespace.
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "cm-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await?;
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cm-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cm-reader"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:default"}]}),
    )
    .await?;
    let all = Api::<ConfigMap>::all(app.clone())
        .list(&ListParams::default())
        .await?;
    assert!(
        all.items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("kube-root-ca.crt")),
        "each namespace's root CA ConfigMap is listed"
    );
    let e = Api::<ConfigMap>::namespaced(app.clone(), "default")
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}}))?,
        )
        .await
        .expect_err("403");
    assert!(
        forbidden_message(&e).starts_with("configmaps is forbidden: User \"system:serviceaccount:default:app\" cannot create resource \"configmaps\""),
        "{e}"
    );
    // The admin stays unrestricted.
    Api::<ConfigMap>::namespaced(admin.clone(), "default")
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}}))?,
        )
        .await?;
    assert_eq!(api_code(&e), Some((403, "Forbidden".into())));
    Ok(())
}

#[tokio::test]
async fn token_review_needs_auth_delegator() -> TestResult {
    use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
    let (server, admin) = server().await?;
    Api::<ServiceAccount>::namespaced(admin.clone(), "default")
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "vault"}}))?,
        )
        .await?;
    let token = server
        .service_account_token("default", "vault")
        .expect("token");
    let vault = server.client_with_token(&token)?;
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.clone()),
            audiences: None,
        },
        ..Default::default()
    };
    let reviews: Api<TokenReview> = Api::all(vault.clone());
    let e = reviews
        .create(&PostParams::default(), &review)
        .await
        .expect_err("403");
    assert!(
        forbidden_message(&e).starts_with("tokenreviews.authentication.k8s.io is forbidden"),
        "{e}"
    );
    // The built-in system:auth-delegator ClusterRole, bound as Vault's docs say.
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "vault-auth-delegator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": [{"kind": "ServiceAccount", "name": "vault", "namespace": "default"}]}),
    )
    .await?;
    let ok = reviews.create(&PostParams::default(), &review).await?;
    assert_eq!(ok.status.and_then(|s| s.authenticated), Some(true));
    Ok(())
}
