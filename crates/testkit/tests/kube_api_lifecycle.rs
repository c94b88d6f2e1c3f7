//! Tests of the Kubernetes API double: CRD structural schemas (pruning, defaulting, strict field
//! validation) and the watch events of finalizer-driven deletion.

mod kube_common;

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
