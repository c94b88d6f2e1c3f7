//! Tests of the Kubernetes API double through `kube::Client`: CRUD, validation, SSA, scale.

use crate::kube_common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube_common::{TestResult, api_code, secret, server};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test]
async fn crud_conflicts_and_errors() -> TestResult {
    let (_s, client) = server().await?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let created = api
        .create(&PostParams::default(), &secret("a", &[("k", "v")]))
        .await?;
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        created
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(|b| b.0.clone()),
        Some(b"v".to_vec())
    );
    let dup = api
        .create(&PostParams::default(), &secret("a", &[]))
        .await
        .expect_err("duplicate");
    assert_eq!(api_code(&dup), Some((409, "AlreadyExists".into())));
    let missing = api.get("nope").await.expect_err("missing");
    assert_eq!(api_code(&missing), Some((404, "NotFound".into())));
    // Optimistic concurrency.
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.metadata.labels = Some(BTreeMap::from([("x".to_string(), "1".to_string())]));
    let updated = api.replace("a", &PostParams::default(), &fresh).await?;
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    stale.metadata.labels = Some(BTreeMap::from([("x".to_string(), "2".to_string())]));
    let conflict = api
        .replace("a", &PostParams::default(), &stale)
        .await
        .expect_err("stale");
    assert_eq!(api_code(&conflict), Some((409, "Conflict".into())));
    // generateName.
    let mut gen_secret = secret("", &[]);
    gen_secret.metadata.name = None;
    gen_secret.metadata.generate_name = Some("gen-".into());
    let g = api.create(&PostParams::default(), &gen_secret).await?;
    assert!(
        g.metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("gen-") && n.len() == 9)
    );
    // Label selectors and pagination.
    for i in 0..5 {
        let mut s = secret(&format!("p{i}"), &[]);
        s.metadata.labels = Some(BTreeMap::from([(
            "page".to_string(),
            if i % 2 == 0 { "even" } else { "odd" }.to_string(),
        )]));
        api.create(&PostParams::default(), &s).await?;
    }
    let even = api.list(&ListParams::default().labels("page=even")).await?;
    assert_eq!(even.items.len(), 3);
    let notin = api
        .list(&ListParams::default().labels("page notin (even),page"))
        .await?;
    assert_eq!(notin.items.len(), 2);
    let first = api
        .list(&ListParams::default().labels("page").limit(2))
        .await?;
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("continue token");
    let second = api
        .list(
            &ListParams::default()
                .labels("page")
                .limit(2)
                .continue_token(&token),
        )
        .await?;
    assert_eq!(second.items.len(), 2);
    let third = api
        .list(
            &ListParams::default()
                .labels("page")
                .limit(2)
                .continue_token(second.metadata.continue_.as_deref().expect("more")),
        )
        .await?;
    assert_eq!(third.items.len(), 1);
    assert!(
        third
            .metadata
            .continue_
            .as_deref()
            .is_none_or(str::is_empty)
    );
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=p1,type=Opaque"))
        .await?;
    assert_eq!(by_field.items.len(), 1);
    // Cluster-wide list.
    let ns_api: Api<Namespace> = Api::all(client.clone());
    ns_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":"other"}}))?,
        )
        .await?;
    Api::<Secret>::namespaced(client.clone(), "other")
        .create(&PostParams::default(), &secret("o", &[]))
        .await?;
    let all: Api<Secret> = Api::all(client.clone());
    assert_eq!(all.list(&ListParams::default()).await?.items.len(), 8);
    // Creating in a missing namespace.
    let e = Api::<Secret>::namespaced(client, "missing")
        .create(&PostParams::default(), &secret("x", &[]))
        .await
        .expect_err("no ns");
    assert_eq!(api_code(&e), Some((404, "NotFound".into())));
    Ok(())
}

#[tokio::test]
async fn secret_validation_size_and_immutability() -> TestResult {
    let (_s, client) = server().await?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let big = "x".repeat(1024 * 1024 + 1);
    let e = api
        .create(&PostParams::default(), &secret("big", &[("k", &big)]))
        .await
        .expect_err("too big");
    let kube::Error::Api(status) = &e else {
        anyhow::bail!("unexpected {e}")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status.message.contains("data: Too long"),
        "{}",
        status.message
    );
    let exactly = "x".repeat(1024 * 1024);
    api.create(&PostParams::default(), &secret("max", &[("k", &exactly)]))
        .await?;
    let e = api
        .create(
            &PostParams::default(),
            &secret("badkey", &[("bad key", "v")]),
        )
        .await
        .expect_err("bad key");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let mut imm = secret("imm", &[("k", "v")]);
    imm.immutable = Some(true);
    api.create(&PostParams::default(), &imm).await?;
    let patch = json!({"stringData": {"k": "changed"}});
    let e = api
        .patch("imm", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("immutable");
    let kube::Error::Api(status) = &e else {
        anyhow::bail!("unexpected {e}")
    };
    assert_eq!(status.code, 422);
    assert!(
        status
            .message
            .contains("field is immutable when `immutable` is set"),
        "{}",
        status.message
    );
    // Metadata changes stay allowed.
    api.patch(
        "imm",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata":{"labels":{"a":"b"}}})),
    )
    .await?;
    let e = api
        .patch(
            "imm",
            &PatchParams::default(),
            &Patch::Merge(&json!({"type":"kubernetes.io/tls"})),
        )
        .await
        .expect_err("type");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let bad_label = json!({"metadata": {"labels": {"app": "not valid!"}}});
    let e = api
        .patch("imm", &PatchParams::default(), &Patch::Merge(&bad_label))
        .await
        .expect_err("label value");
    let kube::Error::Api(status) = &e else {
        anyhow::bail!("unexpected {e}")
    };
    assert_eq!(status.code, 422);
    assert!(
        status.message.starts_with("Secret \"imm\" is invalid: metadata.labels: Invalid value: \"not valid!\": a valid label must be"),
        "{}",
        status.message
    );
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata":{"name":"c"},"data":{"a":"1"},"immutable":true}),
        )?,
    )
    .await?;
    let e = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(&json!({"data":{"a":"2"}})),
        )
        .await
        .expect_err("immutable cm");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    Ok(())
}

#[tokio::test]
async fn server_side_apply_managers_conflicts_force_and_removal() -> TestResult {
    let (server, client) = server().await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa","labels":{"app":"x"}},"data":{"key":"v","other":"o"}});
    let cm = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&cfg))
        .await?;
    let mf = cm.metadata.managed_fields.clone().expect("managed fields");
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("alpha"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(mf[0].fields_type.as_deref(), Some("FieldsV1"));
    assert_eq!(
        serde_json::to_value(mf[0].fields_v1.as_ref().expect("fields"))?,
        json!({"f:data":{"f:key":{},"f:other":{}},"f:metadata":{"f:labels":{"f:app":{}}}})
    );
    let rival = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa"},"data":{"key":"rival"}});
    let e = api
        .patch("ssa", &PatchParams::apply("beta"), &Patch::Apply(&rival))
        .await
        .expect_err("conflict");
    let kube::Error::Api(status) = &e else {
        anyhow::bail!("unexpected {e}")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"alpha\": .data.key"
    );
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("beta").force(),
            &Patch::Apply(&rival),
        )
        .await?;
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("rival")
    );
    // alpha drops "other" and "key": "other" is removed, "key" stays (owned by beta).
    let slim = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa","labels":{"app":"x"}}});
    let after = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&slim))
        .await?;
    let data = after.data.clone().unwrap_or_default();
    assert_eq!(data.get("key").map(String::as_str), Some("rival"));
    assert!(!data.contains_key("other"));
    // Update operations are recorded.
    let merged = api
        .patch(
            "ssa",
            &PatchParams::default(),
            &Patch::Merge(&json!({"data":{"m":"1"}})),
        )
        .await?;
    let upd = merged.metadata.managed_fields.unwrap_or_default();
    assert!(upd.iter().any(|m| m.operation.as_deref() == Some("Update")));
    // No-op apply does not write a new resourceVersion.
    let again = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&slim))
        .await?;
    assert_eq!(
        again.metadata.resource_version,
        merged.metadata.resource_version
    );
    // Apply creates missing objects.
    let created = api.patch("fresh", &PatchParams::apply("alpha"), &Patch::Apply(&json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fresh"},"data":{"a":"b"}}))).await?;
    assert!(created.metadata.uid.is_some());
    assert!(server.request_count("patch", "configmaps") >= 5);
    server.reset_counters();
    assert_eq!(server.write_count(), 0);
    Ok(())
}

#[tokio::test]
async fn writes_may_set_managed_fields_like_the_apiserver() -> TestResult {
    // decodeLiveOrNew: managedFields sent in a write replace the stored ones (client-go's
    // csaupgrade moves a create's Update ownership to Apply this way); an apply then prunes.
    let (_server, client) = server().await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let pp = PostParams {
        field_manager: Some("me".into()),
        ..PostParams::default()
    };
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata":{"name":"upgrade"},"data":{"a":"1","b":"2"}}))?;
    let created = api.create(&pp, &cm).await?;
    let mf = created.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].operation.as_deref(), Some("Update"));
    // Dropping "b" from an apply does not prune it while the Update entry owns it.
    let only_a = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"upgrade"},"data":{"a":"1"}});
    let kept = api
        .patch("upgrade", &PatchParams::apply("me"), &Patch::Apply(&only_a))
        .await?;
    assert!(
        kept.data.unwrap_or_default().contains_key("b"),
        "co-owned by the Update entry"
    );
    // Move everything "me" owns to its Apply entry (resourceVersion as precondition).
    let mut entries = kept.metadata.managed_fields.clone().unwrap_or_default();
    entries.retain(|e| e.operation.as_deref() == Some("Apply"));
    entries[0].fields_v1 = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1(
        json!({"f:data": {"f:a": {}, "f:b": {}}}),
    ));
    let stale = api
        .patch(
            "upgrade",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"resourceVersion": "1", "managedFields": entries}})),
        )
        .await
        .expect_err("stale resourceVersion");
    assert_eq!(api_code(&stale), Some((409, "Conflict".into())));
    let upgraded = api
        .patch(
            "upgrade",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {
                "resourceVersion": kept.metadata.resource_version, "managedFields": entries}})),
        )
        .await?;
    let mf = upgraded.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(mf.len(), 1, "{mf:?}");
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    let pruned = api
        .patch("upgrade", &PatchParams::apply("me"), &Patch::Apply(&only_a))
        .await?;
    let data = pruned.data.unwrap_or_default();
    assert!(!data.contains_key("b"), "pruned now");
    assert_eq!(data.get("a").map(String::as_str), Some("1"), "{data:?}");
    // An empty list resets them.
    let reset = api
        .patch(
            "upgrade",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"managedFields": [{}]}})),
        )
        .await?;
    assert!(reset.metadata.managed_fields.unwrap_or_default().is_empty());
    Ok(())
}

#[test]
fn works_from_sync_tests_and_holds_many_large_secrets() -> TestResult {
    let s = KubeApiServer::start_blocking(KubeApiOptions::default())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let api: Api<Secret> = Api::namespaced(s.client()?, "default");
        let value = "v".repeat(100 * 1024);
        for i in 0..200 {
            api.create(
                &PostParams::default(),
                &secret(&format!("big-{i}"), &[("k", &value)]),
            )
            .await?;
        }
        let page = api.list(&ListParams::default().limit(50)).await?;
        assert_eq!(page.items.len(), 50);
        anyhow::Ok(())
    })?;
    assert!(s.object_count() >= 203);
    Ok(())
}
