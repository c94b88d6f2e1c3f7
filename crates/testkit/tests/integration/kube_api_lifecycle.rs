//! Tests of the Kubernetes API double: CRD structural schemas (pruning, defaulting, strict field
//! validation) and the watch events of finalizer-driven deletion.

use crate::kube_common;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube_common::{TestResult, server};
use serde_json::json;

#[tokio::test]
async fn custom_resources_are_pruned_and_defaulted() -> TestResult {
    let (s, client) = server().await?;
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "interval": {"type": "string", "default": "1h"},
                        "name": {"type": "string"}}}}}}}]}
    }))?;
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Gadget"),
        "gadgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let obj: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Gadget",
        "metadata": {"name": "g"}, "spec": {"name": "x", "bogus": true}, "extra": 1}))?;
    let created = api.create(&PostParams::default(), &obj).await?;
    assert_eq!(created.data["spec"], json!({"name": "x", "interval": "1h"}));
    assert!(created.data.get("extra").is_none());
    let wrong_type: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Gadget",
        "metadata": {"name": "bad"}, "spec": {"name": 5}}))?;
    let err = api
        .create(&PostParams::default(), &wrong_type)
        .await
        .expect_err("type");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("unexpected {err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "Gadget.example.com \"bad\" is invalid: spec.name: Invalid value: \"integer\": spec.name in body must be of type string: \"integer\""
    );
    // fieldValidation=Strict (kubectl's default) turns unknown fields into 400 BadRequest.
    let url = format!(
        "{}/apis/example.com/v1/namespaces/default/gadgets?fieldValidation=Strict",
        s.url()
    );
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(
            &json!({"apiVersion": "example.com/v1", "kind": "Gadget",
            "metadata": {"name": "h"}, "spec": {"bogus": 1}}),
        )?)?;
    let err = client
        .request::<DynamicObject>(req)
        .await
        .expect_err("strict");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("unexpected {err}")
    };
    assert_eq!(status.code, 400);
    assert!(
        status
            .message
            .contains("strict decoding error: unknown field \"spec.bogus\""),
        "{}",
        status.message
    );
    Ok(())
}

#[tokio::test]
async fn removing_the_last_finalizer_emits_only_deleted() -> TestResult {
    let (_s, client) = server().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "f", "finalizers": ["x/y"]}}))?,
        )
        .await?;
    cms.delete("f", &DeleteParams::default()).await?;
    let pending = cms.get("f").await?;
    assert!(pending.metadata.deletion_timestamp.is_some());
    let rv = pending
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let mut events = cms
        .watch(&WatchParams::default().timeout(5), &rv)
        .await?
        .boxed();
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    match events.try_next().await? {
        Some(WatchEvent::Deleted(gone)) => {
            assert_eq!(gone.metadata.uid, cm.metadata.uid);
            assert!(gone.metadata.finalizers.unwrap_or_default().is_empty());
        }
        other => anyhow::bail!("expected DELETED, got {other:?}"),
    }
    assert!(cms.get_opt("f").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn oidc_discovery_validates_issued_tokens_and_plain_http_works() -> TestResult {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::ServiceAccount;
    use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

    let s = KubeApiServer::start(KubeApiOptions {
        serve_http: true,
        ..Default::default()
    })
    .await?;
    let client = s.client()?;
    let discovery: serde_json::Value = client
        .request(
            http::Request::get(format!("{}/.well-known/openid-configuration", s.url()))
                .body(Vec::new())?,
        )
        .await?;
    assert_eq!(discovery["issuer"], s.service_account_issuer());
    assert_eq!(discovery["jwks_uri"], format!("{}/openid/v1/jwks", s.url()));
    let jwks: serde_json::Value = client
        .request(http::Request::get(format!("{}/openid/v1/jwks", s.url())).body(Vec::new())?)
        .await?;
    let key = &jwks["keys"][0];
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec!["sts.example".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let token = sas
        .create_token_request("default", &PostParams::default(), &tr)
        .await?
        .status
        .expect("status")
        .token;
    let parts: Vec<&str> = token.split('.').collect();
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0])?)?;
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), key["kid"].as_str())
    );
    let public = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap_or_default())?,
        e: URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap_or_default())?,
    };
    public
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2])?,
        )
        .map_err(|_| anyhow::anyhow!("JWKS does not verify the issued token"))?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    assert_eq!(claims["iss"], s.service_account_issuer());
    assert_eq!(claims["sub"], "system:serviceaccount:default:default");
    assert_eq!(claims["aud"], json!(["sts.example"]));
    assert_eq!(
        claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
        3600
    );
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "default");
    // Plain HTTP, same API and authentication.
    let mut config = kube::Config::new(s.http_url().expect("http url").parse()?);
    config.auth_info.token = Some(s.admin_token().to_string().into());
    let plain = kube::Client::try_from(config)?;
    assert_eq!(
        Api::<ConfigMap>::namespaced(plain, "default")
            .get("kube-root-ca.crt")
            .await?
            .data
            .unwrap_or_default()
            .get("ca.crt")
            .map(String::as_str),
        Some(s.ca_pem())
    );
    Ok(())
}
