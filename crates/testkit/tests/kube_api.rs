//! Tests of the Kubernetes API double through `kube::Client`.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec, TokenReview, TokenReviewSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::{DynamicObject, GroupVersionKind, ApiResource};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

type TestResult = anyhow::Result<()>;

async fn server() -> anyhow::Result<(KubeApiServer, kube::Client)> {
    let s = KubeApiServer::start(KubeApiOptions::default()).await?;
    let c = s.client()?;
    Ok((s, c))
}

fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()
    }))
    .expect("valid secret")
}

fn api_code(e: &kube::Error) -> Option<(u16, String)> {
    match e {
        kube::Error::Api(s) => Some((s.code, s.reason.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn crud_conflicts_and_errors() -> TestResult {
    let (_s, client) = server().await?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let created = api.create(&PostParams::default(), &secret("a", &[("k", "v")])).await?;
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert_eq!(created.data.as_ref().and_then(|d| d.get("k")).map(|b| b.0.clone()), Some(b"v".to_vec()));
    let dup = api.create(&PostParams::default(), &secret("a", &[])).await.expect_err("duplicate");
    assert_eq!(api_code(&dup), Some((409, "AlreadyExists".into())));
    let missing = api.get("nope").await.expect_err("missing");
    assert_eq!(api_code(&missing), Some((404, "NotFound".into())));
    // Optimistic concurrency.
    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.metadata.labels = Some(BTreeMap::from([("x".to_string(), "1".to_string())]));
    let updated = api.replace("a", &PostParams::default(), &fresh).await?;
    assert_ne!(updated.metadata.resource_version, created.metadata.resource_version);
    stale.metadata.labels = Some(BTreeMap::from([("x".to_string(), "2".to_string())]));
    let conflict = api.replace("a", &PostParams::default(), &stale).await.expect_err("stale");
    assert_eq!(api_code(&conflict), Some((409, "Conflict".into())));
    // generateName.
    let mut gen_secret = secret("", &[]);
    gen_secret.metadata.name = None;
    gen_secret.metadata.generate_name = Some("gen-".into());
    let g = api.create(&PostParams::default(), &gen_secret).await?;
    assert!(g.metadata.name.as_deref().is_some_and(|n| n.starts_with("gen-") && n.len() == 9));
    // Label selectors and pagination.
    for i in 0..5 {
        let mut s = secret(&format!("p{i}"), &[]);
        s.metadata.labels = Some(BTreeMap::from([("page".to_string(), if i % 2 == 0 { "even" } else { "odd" }.to_string())]));
        api.create(&PostParams::default(), &s).await?;
    }
    let even = api.list(&ListParams::default().labels("page=even")).await?;
    assert_eq!(even.items.len(), 3);
    let notin = api.list(&ListParams::default().labels("page notin (even),page")).await?;
    assert_eq!(notin.items.len(), 2);
    let first = api.list(&ListParams::default().labels("page").limit(2)).await?;
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("continue token");
    let second = api.list(&ListParams::default().labels("page").limit(2).continue_token(&token)).await?;
    assert_eq!(second.items.len(), 2);
    let third = api.list(&ListParams::default().labels("page").limit(2).continue_token(second.metadata.continue_.as_deref().expect("more"))).await?;
    assert_eq!(third.items.len(), 1);
    assert!(third.metadata.continue_.as_deref().is_none_or(str::is_empty));
    let by_field = api.list(&ListParams::default().fields("metadata.name=p1,type=Opaque")).await?;
    assert_eq!(by_field.items.len(), 1);
    // Cluster-wide list.
    let ns_api: Api<Namespace> = Api::all(client.clone());
    ns_api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"other"}}))?).await?;
    Api::<Secret>::namespaced(client.clone(), "other").create(&PostParams::default(), &secret("o", &[])).await?;
    let all: Api<Secret> = Api::all(client.clone());
    assert_eq!(all.list(&ListParams::default()).await?.items.len(), 8);
    // Creating in a missing namespace.
    let e = Api::<Secret>::namespaced(client, "missing").create(&PostParams::default(), &secret("x", &[])).await.expect_err("no ns");
    assert_eq!(api_code(&e), Some((404, "NotFound".into())));
    Ok(())
}

#[tokio::test]
async fn secret_validation_size_and_immutability() -> TestResult {
    let (_s, client) = server().await?;
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let big = "x".repeat(1024 * 1024 + 1);
    let e = api.create(&PostParams::default(), &secret("big", &[("k", &big)])).await.expect_err("too big");
    let kube::Error::Api(status) = &e else { anyhow::bail!("unexpected {e}") };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(status.message.contains("data: Too long"), "{}", status.message);
    let exactly = "x".repeat(1024 * 1024);
    api.create(&PostParams::default(), &secret("max", &[("k", &exactly)])).await?;
    let e = api.create(&PostParams::default(), &secret("badkey", &[("bad key", "v")])).await.expect_err("bad key");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let mut imm = secret("imm", &[("k", "v")]);
    imm.immutable = Some(true);
    api.create(&PostParams::default(), &imm).await?;
    let patch = json!({"stringData": {"k": "changed"}});
    let e = api.patch("imm", &PatchParams::default(), &Patch::Merge(&patch)).await.expect_err("immutable");
    let kube::Error::Api(status) = &e else { anyhow::bail!("unexpected {e}") };
    assert_eq!(status.code, 422);
    assert!(status.message.contains("field is immutable when `immutable` is set"), "{}", status.message);
    // Metadata changes stay allowed.
    api.patch("imm", &PatchParams::default(), &Patch::Merge(&json!({"metadata":{"labels":{"a":"b"}}}))).await?;
    let e = api.patch("imm", &PatchParams::default(), &Patch::Merge(&json!({"type":"kubernetes.io/tls"}))).await.expect_err("type");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"c"},"data":{"a":"1"},"immutable":true}))?).await?;
    let e = cms.patch("c", &PatchParams::default(), &Patch::Merge(&json!({"data":{"a":"2"}}))).await.expect_err("immutable cm");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    Ok(())
}

#[tokio::test]
async fn server_side_apply_managers_conflicts_force_and_removal() -> TestResult {
    let (server, client) = server().await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa","labels":{"app":"x"}},"data":{"key":"v","other":"o"}});
    let cm = api.patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&cfg)).await?;
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
    let e = api.patch("ssa", &PatchParams::apply("beta"), &Patch::Apply(&rival)).await.expect_err("conflict");
    let kube::Error::Api(status) = &e else { anyhow::bail!("unexpected {e}") };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"alpha\": .data.key");
    let forced = api.patch("ssa", &PatchParams::apply("beta").force(), &Patch::Apply(&rival)).await?;
    assert_eq!(forced.data.as_ref().and_then(|d| d.get("key")).map(String::as_str), Some("rival"));
    // alpha drops "other" and "key": "other" is removed, "key" stays (owned by beta).
    let slim = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa","labels":{"app":"x"}}});
    let after = api.patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&slim)).await?;
    let data = after.data.clone().unwrap_or_default();
    assert_eq!(data.get("key").map(String::as_str), Some("rival"));
    assert!(!data.contains_key("other"));
    // Update operations are recorded.
    let merged = api.patch("ssa", &PatchParams::default(), &Patch::Merge(&json!({"data":{"m":"1"}}))).await?;
    let upd = merged.metadata.managed_fields.unwrap_or_default();
    assert!(upd.iter().any(|m| m.operation.as_deref() == Some("Update")));
    // No-op apply does not write a new resourceVersion.
    let again = api.patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(&slim)).await?;
    assert_eq!(again.metadata.resource_version, merged.metadata.resource_version);
    // Apply creates missing objects.
    let created = api.patch("fresh", &PatchParams::apply("alpha"), &Patch::Apply(&json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fresh"},"data":{"a":"b"}}))).await?;
    assert!(created.metadata.uid.is_some());
    assert!(server.request_count("patch", "configmaps") >= 5);
    server.reset_counters();
    assert_eq!(server.write_count(), 0);
    Ok(())
}

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
    kube::runtime::wait::await_condition(crds.clone(), "widgets.example.com", kube::runtime::conditions::is_crd_established()).await?;
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.com", "v1", "Widget"), "widgets");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w: DynamicObject = serde_json::from_value(json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1},"status":{"ignored":true}}))?;
    let created = api.create(&PostParams::default(), &w).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.data.get("status").is_none(), "status is dropped on create");
    let pp = PatchParams::apply("ctl");
    let st = api.patch_status("w", &pp, &Patch::Apply(&json!({"apiVersion":"example.com/v1","kind":"Widget","status":{"conditions":[{"type":"Ready","status":"True"}]}}))).await?;
    assert_eq!(st.metadata.generation, Some(1), "status writes keep generation");
    let entry = st.metadata.managed_fields.unwrap_or_default().into_iter().find(|m| m.manager.as_deref() == Some("ctl")).expect("status manager");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(
        serde_json::to_value(entry.fields_v1.expect("fields"))?,
        json!({"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{},"f:type":{}}}}})
    );
    let spec_change = api.patch("w", &PatchParams::default(), &Patch::Merge(&json!({"spec":{"size":2},"status":{"ignored":true}}))).await?;
    assert_eq!(spec_change.metadata.generation, Some(2));
    assert!(spec_change.data["status"].get("ignored").is_none(), "main resource ignores status");
    let meta_change = api.patch("w", &PatchParams::default(), &Patch::Merge(&json!({"metadata":{"labels":{"a":"b"}}}))).await?;
    assert_eq!(meta_change.metadata.generation, Some(2));
    let ar_beta = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.com", "v1beta1", "Widget"), "widgets");
    let beta: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar_beta);
    let b = beta.get("w").await?;
    assert_eq!(b.types.map(|t| t.api_version), Some("example.com/v1beta1".to_string()));
    Ok(())
}

#[tokio::test]
async fn watch_resume_bookmarks_and_gone() -> TestResult {
    let s = KubeApiServer::start(KubeApiOptions { watch_history: 5, bookmark_interval: Duration::from_millis(200), ..Default::default() }).await?;
    let api: Api<ConfigMap> = Api::namespaced(s.client()?, "default");
    let first = api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"w0"}}))?).await?;
    let rv = first.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"w1"}}))?).await?;
    let mut stream = api.watch(&WatchParams::default().timeout(5), &rv).await?.boxed();
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
        api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":format!("w{i}")}}))?).await?;
    }
    let mut old = api.watch(&WatchParams::default().timeout(5), &rv).await?.boxed();
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
    api.create(&PostParams::default(), &secret("r0", &[("a", "b")])).await?;
    let (reader, writer) = reflector::store::<Secret>();
    let refl = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .applied_objects()
        .boxed();
    let handle = tokio::spawn(async move { refl.for_each(|_| async {}).await });
    reader.wait_until_ready().await?;
    api.create(&PostParams::default(), &secret("r1", &[])).await?;
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
    let metas: Vec<_> = watcher(Api::<PartialObjectMeta<Secret>>::namespaced(client.clone(), "default"), watcher::Config::default())
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
    let owner = cms.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"owner","finalizers":["example.com/hold"]}}))?).await?;
    let uid = owner.metadata.uid.clone().expect("uid");
    let dep = json!({"metadata":{"name":"dep","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":uid,"controller":true}]}});
    Api::<Secret>::namespaced(client.clone(), "default").create(&PostParams::default(), &serde_json::from_value(dep)?).await?;
    cms.delete("owner", &DeleteParams::default()).await?;
    let pending = cms.get("owner").await?;
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert!(Api::<Secret>::namespaced(client.clone(), "default").get_opt("dep").await?.is_some(), "owner still exists");
    cms.patch("owner", &PatchParams::default(), &Patch::Merge(&json!({"metadata":{"finalizers":null}}))).await?;
    assert!(cms.get_opt("owner").await?.is_none());
    assert!(Api::<Secret>::namespaced(client.clone(), "default").get_opt("dep").await?.is_none(), "dependent collected");
    // Namespace deletion.
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"doomed"}}))?).await?;
    let in_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    in_ns.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"held","finalizers":["x/y"]}}))?).await?;
    nss.delete("doomed", &DeleteParams::default()).await?;
    let ns = nss.get("doomed").await?;
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));
    let e = in_ns.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"late"}}))?).await.expect_err("terminating");
    assert_eq!(api_code(&e), Some((403, "Forbidden".into())));
    in_ns.patch("held", &PatchParams::default(), &Patch::Merge(&json!({"metadata":{"finalizers":[]}}))).await?;
    assert!(nss.get_opt("doomed").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn token_request_and_review() -> TestResult {
    let (server, client) = server().await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let sa = sas.create(&PostParams::default(), &serde_json::from_value(json!({"metadata":{"name":"app"}}))?).await?;
    let tr = TokenRequest { spec: TokenRequestSpec { audiences: vec!["vault".into()], ..Default::default() }, ..Default::default() };
    let issued = sas.create_token_request("app", &PostParams::default(), &tr).await?;
    let token = issued.status.expect("status").token;
    let too_short = TokenRequest { spec: TokenRequestSpec { expiration_seconds: Some(599), ..Default::default() }, ..Default::default() };
    let e = sas.create_token_request("app", &PostParams::default(), &too_short).await.expect_err("min 600");
    assert_eq!(api_code(&e), Some((422, "Invalid".into())));
    let reviews: Api<TokenReview> = Api::all(client.clone());
    let review = |aud: Vec<String>| TokenReview { spec: TokenReviewSpec { token: Some(token.clone()), audiences: Some(aud) }, ..Default::default() };
    let ok = reviews.create(&PostParams::default(), &review(vec!["vault".into()])).await?;
    let status = ok.status.expect("status");
    assert_eq!(status.authenticated, Some(true));
    let user = status.user.expect("user");
    assert_eq!(user.username.as_deref(), Some("system:serviceaccount:default:app"));
    assert_eq!(user.uid, sa.metadata.uid);
    assert!(user.groups.unwrap_or_default().contains(&"system:serviceaccounts:default".to_string()));
    let wrong = reviews.create(&PostParams::default(), &review(vec!["other".into()])).await?;
    assert_ne!(wrong.status.and_then(|s| s.authenticated), Some(true));
    // Issued tokens authenticate callers; deleting the SA invalidates them.
    let as_sa = server.client_with_token(&token)?;
    Api::<ConfigMap>::namespaced(as_sa.clone(), "default").list(&ListParams::default()).await?;
    sas.delete("app", &DeleteParams::default()).await?;
    let gone = reviews.create(&PostParams::default(), &review(vec!["vault".into()])).await?;
    assert_ne!(gone.status.and_then(|s| s.authenticated), Some(true));
    let e = Api::<ConfigMap>::namespaced(as_sa, "default").list(&ListParams::default()).await.expect_err("401");
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 401), "{e}");
    let bad = server.client_with_token("garbage")?;
    assert!(Api::<ConfigMap>::namespaced(bad, "default").list(&ListParams::default()).await.is_err());
    Ok(())
}

#[test]
fn works_from_sync_tests_and_holds_many_large_secrets() -> TestResult {
    let s = KubeApiServer::start_blocking(KubeApiOptions::default())?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let api: Api<Secret> = Api::namespaced(s.client()?, "default");
        let value = "v".repeat(100 * 1024);
        for i in 0..200 {
            api.create(&PostParams::default(), &secret(&format!("big-{i}"), &[("k", &value)])).await?;
        }
        let page = api.list(&ListParams::default().limit(50)).await?;
        assert_eq!(page.items.len(), 50);
        anyhow::Ok(())
    })?;
    assert!(s.object_count() >= 203);
    Ok(())
}
