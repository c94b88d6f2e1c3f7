//! Tests of the Kubernetes API double through `kube::Client`: CRDs, watches, lifecycle, tokens.

use crate::kube_common;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{
    TokenRequest, TokenRequestSpec, TokenReview, TokenReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::PartialObjectMeta;
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube_common::{TestResult, api_code, secret, server};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;
use std::time::Duration;

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                {"name": "v1beta1", "served": true, "storage": false, "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .expect("valid crd")
}

#[tokio::test]
async fn crds_status_subresource_generation_and_versions() -> TestResult {
    let (_s, client) = server().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &widget_crd()).await?;
    kube::runtime::wait::await_condition(
        crds.clone(),
        "widgets.example.com",
        kube::runtime::conditions::is_crd_established(),
    )
    .await?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w: DynamicObject = serde_json::from_value(
        json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1},"status":{"ignored":true}}),
    )?;
    let created = api.create(&PostParams::default(), &w).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    let pp = PatchParams::apply("ctl");
    let st = api.patch_status("w", &pp, &Patch::Apply(&json!({"apiVersion":"example.com/v1","kind":"Widget","status":{"conditions":[{"type":"Ready","status":"True"}]}}))).await?;
    assert_eq!(
        st.metadata.generation,
        Some(1),
        "status writes keep generation"
    );
    let entry = st
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some("ctl"))
        .expect("status manager");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(
        serde_json::to_value(entry.fields_v1.expect("fields"))?,
        json!({"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{},"f:type":{}}}}})
    );
    let spec_change = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec":{"size":2},"status":{"ignored":true}})),
        )
        .await?;
    assert_eq!(spec_change.metadata.generation, Some(2));
    assert!(
        spec_change.data["status"].get("ignored").is_none(),
        "main resource ignores status"
    );
    let meta_change = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata":{"labels":{"a":"b"}}})),
        )
        .await?;
    assert_eq!(meta_change.metadata.generation, Some(2));
    let ar_beta = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1beta1", "Widget"),
        "widgets",
    );
    let beta: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar_beta);
    let b = beta.get("w").await?;
    assert_eq!(
        b.types.map(|t| t.api_version),
        Some("example.com/v1beta1".to_string())
    );
    Ok(())
}

#[tokio::test]
async fn watch_resume_bookmarks_and_gone() -> TestResult {
    let s = KubeApiServer::start(KubeApiOptions {
        watch_history: 5,
        bookmark_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await?;
    let api: Api<ConfigMap> = Api::namespaced(s.client()?, "default");
    let first = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":"w0"}}))?,
        )
        .await?;
    let rv = first.metadata.resource_version.clone().expect("rv");
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata":{"name":"w1"}}))?,
    )
    .await?;
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await?
        .boxed();
    let mut saw_added = false;
    let mut saw_bookmark = false;
    while let Some(ev) = stream.try_next().await? {
        match ev {
            WatchEvent::Added(cm) => saw_added |= cm.metadata.name.as_deref() == Some("w1"),
            WatchEvent::Bookmark(_) => saw_bookmark = true,
            _ => {}
        }
        if saw_added && saw_bookmark {
            break;
        }
    }
    assert!(saw_added && saw_bookmark);
    for i in 2..12 {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":format!("w{i}")}}))?,
        )
        .await?;
    }
    let mut old = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await?
        .boxed();
    match old.try_next().await? {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => anyhow::bail!("expected 410 error event, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn watcher_reflector_and_metadata_watcher() -> TestResult {
    let (_s, client) = server().await?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &secret("r0", &[("a", "b")]))
        .await?;
    let (reader, writer) = reflector::store::<Secret>();
    let refl = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .applied_objects()
        .boxed();
    let handle = tokio::spawn(async move { refl.for_each(|_| async {}).await });
    reader.wait_until_ready().await?;
    api.create(&PostParams::default(), &secret("r1", &[]))
        .await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while reader.state().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await?;
    handle.abort();
    // Streaming lists.
    let streamed: Vec<_> = watcher(api.clone(), watcher::Config::default().streaming_lists())
        .applied_objects()
        .take(2)
        .try_collect()
        .await?;
    assert_eq!(streamed.len(), 2);
    let metas: Vec<_> = watcher(
        Api::<PartialObjectMeta<Secret>>::namespaced(client.clone(), "default"),
        watcher::Config::default(),
    )
    .applied_objects()
    .take(2)
    .try_collect()
    .await?;
    assert!(metas.iter().all(|m| m.metadata.name.is_some()));
    Ok(())
}

#[tokio::test]
async fn finalizers_gc_and_namespace_deletion() -> TestResult {
    let (_s, client) = server().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata":{"name":"owner","finalizers":["example.com/hold"]}}),
            )?,
        )
        .await?;
    let uid = owner.metadata.uid.clone().expect("uid");
    let dep = json!({"metadata":{"name":"dep","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":uid,"controller":true}]}});
    Api::<Secret>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &serde_json::from_value(dep)?)
        .await?;
    cms.delete("owner", &DeleteParams::default()).await?;
    let pending = cms.get("owner").await?;
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert!(
        Api::<Secret>::namespaced(client.clone(), "default")
            .get_opt("dep")
            .await?
            .is_some(),
        "owner still exists"
    );
    cms.patch(
        "owner",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata":{"finalizers":null}})),
    )
    .await?;
    assert!(cms.get_opt("owner").await?.is_none());
    assert!(
        Api::<Secret>::namespaced(client.clone(), "default")
            .get_opt("dep")
            .await?
            .is_none(),
        "dependent collected"
    );
    // Namespace deletion.
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata":{"name":"doomed"}}))?,
    )
    .await?;
    let in_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    in_ns
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":"held","finalizers":["x/y"]}}))?,
        )
        .await?;
    nss.delete("doomed", &DeleteParams::default()).await?;
    let ns = nss.get("doomed").await?;
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    let e = in_ns
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":"late"}}))?,
        )
        .await
        .expect_err("terminating");
    assert_eq!(api_code(&e), Some((403, "Forbidden".into())));
    in_ns
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata":{"finalizers":[]}})),
        )
        .await?;
    assert!(nss.get_opt("doomed").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn token_request_and_review() -> TestResult {
    let (server, client) = server().await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let sa = sas
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata":{"name":"app"}}))?,
        )
        .await?;
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec!["vault".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let issued = sas
        .create_token_request("app", &PostParams::default(), &tr)
        .await?;
    let token = issued.status.expect("status").token;
    let too_short = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(599),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = sas
        .create_token_request("app", &PostParams::default(), &too_short)
        .await
        .expect_err("min 600");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let reviews: Api<TokenReview> = Api::all(client.clone());
    let review = |aud: Vec<String>| TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.clone()),
            audiences: Some(aud),
        },
        ..Default::default()
    };
    let ok = reviews
        .create(&PostParams::default(), &review(vec!["vault".into()]))
        .await?;
    let status = ok.status.expect("status");
    assert_eq!(status.authenticated, Some(true));
    let user = status.user.expect("user");
    assert_eq!(
        user.username.as_deref(),
        Some("system:serviceaccount:default:app")
    );
    assert_eq!(user.uid, sa.metadata.uid);
    assert!(
        user.groups
            .unwrap_or_default()
            .contains(&"system:serviceaccounts:default".to_string())
    );
    let wrong = reviews
        .create(&PostParams::default(), &review(vec!["other".into()]))
        .await?;
    assert_ne!(wrong.status.and_then(|s| s.authenticated), Some(true));
    // Issued tokens authenticate callers (discovery is open to every authenticated user;
    // resources need RBAC, see kube_api_rbac.rs); deleting the SA invalidates them.
    let as_sa = server.client_with_token(&token)?;
    as_sa.list_api_groups().await?;
    sas.delete("app", &DeleteParams::default()).await?;
    let gone = reviews
        .create(&PostParams::default(), &review(vec!["vault".into()]))
        .await?;
    assert_ne!(gone.status.and_then(|s| s.authenticated), Some(true));
    let e = Api::<ConfigMap>::namespaced(as_sa, "default")
        .list(&ListParams::default())
        .await
        .expect_err("401");
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 401), "{e}");
    let bad = server.client_with_token("garbage")?;
    assert!(
        Api::<ConfigMap>::namespaced(bad, "default")
            .list(&ListParams::default())
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn controller_reconciles_and_recorder_publishes_events() -> TestResult {
    use kube::Resource;
    use kube::runtime::controller::{Action, Controller};
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    use kube::runtime::reflector::Lookup;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Never;
    impl std::fmt::Display for Never {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("never")
        }
    }
    impl std::error::Error for Never {}

    let (_s, client) = server().await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata":{"name":"ctl"}}))?,
    )
    .await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "fidelity-test".into(),
            instance: None,
        },
    );
    let seen = Arc::new(AtomicUsize::new(0));
    let ctx = Arc::new((recorder, seen.clone(), cms.clone()));
    let controller = Controller::new(cms.clone(), watcher::Config::default())
        .run(
            |cm: Arc<ConfigMap>, ctx: Arc<(Recorder, Arc<AtomicUsize>, Api<ConfigMap>)>| async move {
                let reference = cm.object_ref(&());
                ctx.0
                    .publish(
                        &Event {
                            type_: EventType::Normal,
                            reason: "Reconciled".into(),
                            note: Some("seen".into()),
                            action: "Reconcile".into(),
                            secondary: None,
                        },
                        &reference,
                    )
                    .await
                    .map_err(|_| Never)?;
                let patch = json!({"metadata": {"annotations": {"reconciled": "yes"}}});
                ctx.2
                    .patch(&cm.name().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|_| Never)?;
                ctx.1.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Never>(Action::await_change())
            },
            |_, _, _| Action::await_change(),
            ctx,
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let cm = cms.get("ctl").await?;
            if cm
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("reconciled"))
                .is_some()
            {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await??;
    handle.abort();
    assert!(seen.load(Ordering::SeqCst) >= 1);
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    let listed = events.list(&ListParams::default()).await?;
    assert!(
        listed
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Reconciled")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ctl"))
    );
    Ok(())
}

#[tokio::test]
async fn crds_load_from_a_directory() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("widgets.yaml"),
        serde_yaml_like(&serde_json::to_value(widget_crd())?),
    )?;
    let s = KubeApiServer::start(KubeApiOptions {
        crd_dir: Some(dir.path().to_path_buf()),
        namespaces: vec!["team-a".into()],
        ..Default::default()
    })
    .await?;
    let client = s.client()?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "team-a", &ar);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}),
        )?,
    )
    .await?;
    assert_eq!(api.list(&ListParams::default()).await?.items.len(), 1);
    let bad = tempfile::tempdir()?;
    std::fs::write(
        bad.path().join("bad.yaml"),
        "kind: ConfigMap\napiVersion: v1\n",
    )?;
    let err = KubeApiServer::start(KubeApiOptions {
        crd_dir: Some(bad.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .expect_err("not a CRD");
    assert!(err.to_string().contains("bad.yaml"), "{err}");
    Ok(())
}

/// JSON is valid YAML; the loader must accept it as such.
fn serde_yaml_like(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
