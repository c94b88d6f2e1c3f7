//! The PushSecret controller against the Kubernetes API double and a real OpenBao: create with
//! ESO's marker, update on change, out-of-band edits restored, unmanaged remotes refused,
//! `IfNotExists`, `deletionPolicy` Delete / None, a round trip through an ExternalSecret, one
//! Vault session for every reconcile (OpenBao's audit log) until the credential Secret changes,
//! and no value in status, events, errors or logs.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use reqwest::Method;
use secretsync_engine::{Engine, EngineConfig};
use secretsync_kube::{Lifecycle, Metrics};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::push_secret::PushSecret;
use secretsync_model::secret_store::SecretStore;
use secretsync_providers::{AllProviders, ProviderOptions};
use secretsync_testkit::peers::Bao;
use serde_json::{Value, json};
use support::push::{assert_no_values_in_events, assert_no_values_in_logs, entry, ready};
use support::{Cluster, config, crd_dir, wait_for};

const CANARY: &str = "canary-5d1e-never-print";
const WAIT: Duration = Duration::from_secs(30);

async fn kv(bao: &Bao, key: &str) -> Option<Value> {
    bao.sys_request(Method::GET, &format!("secret/data/{key}"), None)
        .await
        .ok()
        .map(|v| v["data"]["data"].clone())
}

async fn kv_meta(bao: &Bao, key: &str) -> Option<Value> {
    bao.sys_request(Method::GET, &format!("secret/metadata/{key}"), None)
        .await
        .ok()
        .map(|v| v["data"].clone())
}

/// Request entries of OpenBao's audit log.
fn audit(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "request")
        .collect()
}

/// Logins of the `pusher` user, and the distinct tokens (HMAC'd accessors) it read or wrote
/// `secret/` with, and how many such requests.
fn pusher_sessions(path: &std::path::Path) -> (usize, usize, usize) {
    let entries = audit(path);
    let logins = entries
        .iter()
        .filter(|e| e["request"]["path"] == "auth/userpass/login/pusher")
        .count();
    let uses: Vec<&Value> = entries
        .iter()
        .filter(|e| e["auth"]["display_name"] == "userpass-pusher")
        .filter(|e| {
            e["request"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("secret/"))
        })
        .collect();
    let tokens: std::collections::BTreeSet<String> = uses
        .iter()
        .map(|e| e["auth"]["accessor"].to_string())
        .collect();
    (logins, tokens.len(), uses.len())
}

async fn put(bao: &Bao, key: &str, data: Value) {
    bao.sys_request(
        Method::POST,
        &format!("secret/data/{key}"),
        Some(json!({ "data": data })),
    )
    .await
    .unwrap();
}

fn push_secret(name: &str, ns: &str, policy: &str, deletion: &str, data: Value) -> Value {
    support::push::push_secret(name, ns, "vault", "src", (policy, deletion), data)
}

async fn source(cluster: &Cluster, data: &[(&str, &str)]) {
    support::push::source(cluster, "src", data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_lifecycle_against_openbao() {
    secretsync_testkit::logs::capture();
    let mut bao = Bao::start().await.expect("OpenBao");
    let audit_log = bao.enable_audit_file().await.unwrap();
    let cluster = Cluster::start(crd_dir()).await;
    let ns = cluster.namespace.clone();
    // A user that logs in (userpass): every login is in the audit log.
    let policy =
        r#"path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#;
    for (path, body) in [
        ("sys/auth/userpass", json!({"type": "userpass"})),
        ("sys/policies/acl/pusher", json!({ "policy": policy })),
        (
            "auth/userpass/users/pusher",
            json!({"password": "first-password", "token_policies": ["pusher"]}),
        ),
    ] {
        bao.sys_request(Method::POST, path, Some(body))
            .await
            .unwrap();
    }
    support::push::source(&cluster, "vault-user", &[("password", "first-password")]).await;
    cluster
        .apply::<SecretStore>(
            Some(&ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "vault", "namespace": ns},
                   "spec": {"provider": {"vault": {
                       "server": bao.addr(), "path": "secret", "version": "v2",
                       "auth": {"userPass": {"path": "userpass", "username": "pusher",
                                             "secretRef": {"name": "vault-user", "key": "password"}}}}}}}),
        )
        .await;
    source(
        &cluster,
        &[("user", "admin"), ("password", CANARY), ("url", "a<b>&c")],
    )
    .await;
    put(&bao, "theirs", json!({"token": "original"})).await;
    put(&bao, "exists", json!({"v": "original"})).await;

    let factory = Arc::new(AllProviders::new(
        ProviderOptions::from_lookup(|_| None).unwrap(),
    ));
    let engine = Arc::new(Engine::new(factory.clone(), EngineConfig::default()));
    let lifecycle = Lifecycle::default();
    let metrics = Metrics::default();
    // The store is validated once (each validation logs in on its own provider).
    let config = secretsync_kube::Config {
        store_requeue_interval: Duration::from_secs(3600),
        ..config(&ns)
    };
    let running = tokio::spawn(secretsync_kube::run_with(
        cluster.client.clone(),
        config,
        engine,
        factory,
        metrics.clone(),
        lifecycle.clone(),
    ));

    // create: a property and the whole Secret, with ESO's marker
    cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(
                "push",
                &ns,
                "Replace",
                "Delete",
                json!([
                    entry(Some("password"), "app/db", Some("password")),
                    entry(None, "app/all", None)
                ]),
            ),
        )
        .await;
    let (status, reason, _) = wait_for(WAIT, "PushSecret Ready", || async {
        ready(&cluster, "push").await.filter(|r| r.0 == "True")
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Synced"));
    assert_eq!(kv(&bao, "app/db").await, Some(json!({"password": CANARY})));
    assert_eq!(
        kv(&bao, "app/all").await,
        Some(json!({"user": "admin", "password": CANARY, "url": "a<b>&c"}))
    );
    assert_eq!(
        kv_meta(&bao, "app/db").await.unwrap()["custom_metadata"],
        json!({"managed-by": "external-secrets"})
    );
    let ps = Api::<PushSecret>::namespaced(cluster.client.clone(), &ns)
        .get("push")
        .await
        .unwrap();
    let status = ps.status.clone().unwrap();
    let synced: Vec<&String> = status.synced_push_secrets["SecretStore/vault"]
        .keys()
        .collect();
    assert_eq!(synced, ["app/all", "app/db/password"]);
    assert!(
        status
            .synced_resource_version
            .as_deref()
            .unwrap()
            .starts_with("1-")
    );
    assert!(
        ps.finalizers()
            .contains(&"pushsecret.externalsecrets.io/finalizer".to_string())
    );
    assert!(!serde_json::to_string(&status).unwrap().contains(CANARY));
    let mut scrape = String::new();
    metrics.encode_eso(&mut scrape);
    assert!(
        scrape.contains(r#"pushsecret_status_condition{name="push",namespace="apps",condition="Ready",status="True"} 1"#),
        "{scrape}"
    );
    assert!(scrape.contains("pushsecret_reconcile_duration"), "{scrape}");
    assert!(!scrape.contains(CANARY));

    // update on change of the source Secret
    source(
        &cluster,
        &[
            ("user", "admin"),
            ("password", "rotated"),
            ("url", "a<b>&c"),
        ],
    )
    .await;
    wait_for(WAIT, "the rotated password in Vault", || async {
        (kv(&bao, "app/db").await == Some(json!({"password": "rotated"}))).then_some(())
    })
    .await;

    // an out-of-band edit is restored on the next refresh
    put(&bao, "app/db", json!({"password": "mallory", "extra": "x"})).await;
    wait_for(WAIT, "the edited value restored", || async {
        (kv(&bao, "app/db").await.map(|v| v["password"].clone()) == Some(json!("rotated")))
            .then_some(())
    })
    .await;

    // round trip: an ExternalSecret reading the pushed object back gives the same bytes
    source(
        &cluster,
        &[("user", "admin"), ("password", CANARY), ("url", "a<b>&c")],
    )
    .await;
    wait_for(WAIT, "the canary back in Vault", || async {
        (kv(&bao, "app/all").await.map(|v| v["password"].clone()) == Some(json!(CANARY)))
            .then_some(())
    })
    .await;
    cluster
        .apply::<ExternalSecret>(
            Some(&ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "back", "namespace": ns},
                   "spec": {"refreshInterval": "1h",
                            "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
                            "target": {"name": "back"},
                            "dataFrom": [{"extract": {"key": "app/all"}}]}}),
        )
        .await;
    let back = wait_for(WAIT, "the read-back Secret", || async {
        cluster.secret("back").await.and_then(|s| s.data)
    })
    .await;
    let src = cluster.secret("src").await.unwrap().data.unwrap();
    assert_eq!(back, src, "byte-identical round trip");

    // one session for every reconcile: the PushSecret and the ExternalSecret share one cached
    // provider; further reconciles make no login (the store's validations log in on their own)
    let (logins, _, used) = wait_for(WAIT, "ten requests of the pusher", || async {
        let s = pusher_sessions(&audit_log);
        (s.2 >= 10).then_some(s)
    })
    .await;
    let (later_logins, tokens, uses) = wait_for(WAIT, "ten requests more", || async {
        let s = pusher_sessions(&audit_log);
        (s.2 >= used + 10).then_some(s)
    })
    .await;
    assert_eq!(tokens, 1, "{uses} requests on one token");
    assert_eq!(later_logins, logins, "no login in {} requests", uses - used);

    // a credential change takes effect: the cached provider is dropped, the next reconcile
    // logs in with the new password (once), and the old token is revoked
    bao.sys_request(
        Method::POST,
        "auth/userpass/users/pusher/password",
        Some(json!({"password": "second-password"})),
    )
    .await
    .unwrap();
    support::push::source(&cluster, "vault-user", &[("password", "second-password")]).await;
    let (after_change, _, _) = wait_for(
        WAIT,
        "a second session after the credential change",
        || async {
            let s = pusher_sessions(&audit_log);
            (s.1 == 2 && s.2 >= uses + 5).then_some(s)
        },
    )
    .await;
    assert_eq!(after_change, logins + 1, "one login with the new password");
    assert!(
        audit(&audit_log)
            .iter()
            .any(|e| e["request"]["path"] == "auth/token/revoke-self"),
        "the dropped provider's token is revoked"
    );

    // a remote not managed by secretsync or ESO is never overwritten; IfNotExists leaves
    // existing remotes alone and reports them synced
    cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(
                "intruder",
                &ns,
                "Replace",
                "Delete",
                json!([entry(Some("password"), "theirs", Some("token"))]),
            ),
        )
        .await;
    cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(
                "gentle",
                &ns,
                "IfNotExists",
                "None",
                json!([
                    entry(Some("password"), "exists", Some("v")),
                    entry(Some("user"), "fresh", Some("user"))
                ]),
            ),
        )
        .await;
    let (_, reason, message) = wait_for(WAIT, "the intruder refused", || async {
        ready(&cluster, "intruder").await.filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(reason, "Errored");
    assert!(message.contains("not managed"), "{message}");
    assert!(!message.contains(CANARY), "{message}");
    let (_, _, message) = wait_for(WAIT, "IfNotExists synced", || async {
        ready(&cluster, "gentle").await.filter(|r| r.0 == "True")
    })
    .await;
    assert!(
        message.contains("Existing secrets in providers unchanged"),
        "{message}"
    );
    assert_eq!(kv(&bao, "theirs").await, Some(json!({"token": "original"})));
    assert_eq!(kv(&bao, "exists").await, Some(json!({"v": "original"})));
    assert_eq!(kv(&bao, "fresh").await, Some(json!({"user": "admin"})));

    // removing an entry with deletionPolicy Delete deletes exactly that remote key
    cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(
                "push",
                &ns,
                "Replace",
                "Delete",
                json!([entry(Some("password"), "app/db", Some("password"))]),
            ),
        )
        .await;
    wait_for(WAIT, "app/all deleted", || async {
        kv_meta(&bao, "app/all").await.is_none().then_some(())
    })
    .await;
    assert!(kv(&bao, "app/db").await.is_some());

    // deleting the PushSecrets: Delete removes what it pushed, None keeps it, unmanaged stays
    let api = Api::<PushSecret>::namespaced(cluster.client.clone(), &ns);
    for name in ["push", "gentle", "intruder"] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    wait_for(WAIT, "the PushSecrets gone", || async {
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    // Delete: the pushed property is removed; the member someone else added stays
    assert_eq!(kv(&bao, "app/db").await, Some(json!({"extra": "x"})));
    assert_eq!(
        kv(&bao, "fresh").await,
        Some(json!({"user": "admin"})),
        "None: kept"
    );
    assert_eq!(kv(&bao, "exists").await, Some(json!({"v": "original"})));
    assert_eq!(kv(&bao, "theirs").await, Some(json!({"token": "original"})));

    // canary: no value in events, statuses or metrics
    let events = cluster
        .server
        .request_log()
        .iter()
        .filter(|r| r.path.contains("events"))
        .count();
    assert!(events > 0, "events were published");
    assert_no_values_in_events(&cluster, &[CANARY]).await;
    // ... nor in the operator's logs (trace level, every crate), nor the store's credential
    assert_no_values_in_logs(&[CANARY, "first-password", "second-password"]);
    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_push_secret_pushes_per_namespace_and_reports_failures() {
    use k8s_openapi::api::core::v1::Namespace;
    use secretsync_model::push_secret::ClusterPushSecret;

    let bao = Bao::start().await.expect("OpenBao");
    let cluster = Cluster::start(crd_dir()).await;
    let token = secrecy::ExposeSecret::expose_secret(bao.root_token()).to_string();
    let namespaces = Api::<Namespace>::all(cluster.client.clone());
    for (ns, team) in [
        ("apps", true),
        ("other", true),
        ("third", true),
        ("skipped", false),
    ] {
        let labels = if team {
            json!({"push": "yes"})
        } else {
            json!({})
        };
        let body: Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns, "labels": labels}})).unwrap();
        if namespaces.get_opt(ns).await.unwrap().is_some() {
            namespaces
                .replace(ns, &kube::api::PostParams::default(), &{
                    let mut n = namespaces.get(ns).await.unwrap();
                    n.metadata.labels = body.metadata.labels.clone();
                    n
                })
                .await
                .unwrap();
        } else {
            namespaces
                .create(&kube::api::PostParams::default(), &body)
                .await
                .unwrap();
        }
    }
    // a store and a source Secret in "apps" only; "other" has the source but no store
    for ns in ["apps", "other"] {
        cluster
            .apply::<Secret>(
                Some(ns),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "src", "namespace": ns},
                       "stringData": {"password": CANARY}}),
            )
            .await;
    }
    cluster
        .apply::<Secret>(
            Some("apps"),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "vault-token", "namespace": "apps"},
                   "stringData": {"token": token}}),
        )
        .await;
    cluster
        .apply::<SecretStore>(
            Some("apps"),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "vault", "namespace": "apps"},
                   "spec": {"provider": {"vault": {
                       "server": bao.addr(), "path": "secret", "version": "v2",
                       "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}}),
        )
        .await;
    // "third" already has a PushSecret of that name that is not ours
    cluster
        .apply::<PushSecret>(
            Some("third"),
            push_secret(
                "fanout",
                "third",
                "Replace",
                "None",
                json!([entry(Some("password"), "third/x", None)]),
            ),
        )
        .await;

    let factory = Arc::new(AllProviders::new(
        ProviderOptions::from_lookup(|_| None).unwrap(),
    ));
    let engine = Arc::new(Engine::new(factory.clone(), EngineConfig::default()));
    let lifecycle = Lifecycle::default();
    let running = tokio::spawn(secretsync_kube::run_with(
        cluster.client.clone(),
        config("apps"),
        engine,
        factory,
        Metrics::default(),
        lifecycle.clone(),
    ));
    let cps: ClusterPushSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "ClusterPushSecret",
        "metadata": {"name": "fanout"},
        "spec": {
            "namespaceSelectors": [{"matchLabels": {"push": "yes"}}],
            "pushSecretName": "fanout",
            "pushSecretMetadata": {"labels": {"from": "cps"}},
            "pushSecretSpec": {
                "refreshInterval": "1s",
                "secretStoreRefs": [{"name": "vault", "kind": "SecretStore"}],
                "selector": {"secret": {"name": "src"}},
                "data": [entry(Some("password"), "fanned", Some("password"))]
            }
        }
    }))
    .unwrap();
    let api = Api::<ClusterPushSecret>::all(cluster.client.clone());
    api.create(&kube::api::PostParams::default(), &cps)
        .await
        .unwrap();

    let status = wait_for(WAIT, "both failures reported", || async {
        let s = api.get("fanout").await.unwrap().status?;
        (s.failed_namespaces.len() == 2).then_some(s)
    })
    .await;
    assert_eq!(status.provisioned_namespaces, ["apps", "other"]);
    let failed: Vec<&str> = status
        .failed_namespaces
        .iter()
        .map(|f| f.namespace.as_str())
        .collect();
    assert_eq!(failed, ["other", "third"]);
    let third = status.failed_namespaces[1]
        .reason
        .clone()
        .unwrap_or_default();
    assert!(
        third.contains("not managed by this ClusterPushSecret"),
        "{third}"
    );
    let other = status.failed_namespaces[0]
        .reason
        .clone()
        .unwrap_or_default();
    assert!(other.contains("vault"), "{other}");
    assert!(!serde_json::to_string(&status).unwrap().contains(CANARY));
    assert_eq!(status.conditions[0].reason.as_deref(), Some("Errored"));
    wait_for(WAIT, "the value pushed from apps", || async {
        (kv(&bao, "fanned").await == Some(json!({"password": CANARY}))).then_some(())
    })
    .await;
    let child = Api::<PushSecret>::namespaced(cluster.client.clone(), "apps")
        .get("fanout")
        .await
        .unwrap();
    assert_eq!(child.labels().get("from").map(String::as_str), Some("cps"));
    assert!(
        Api::<PushSecret>::namespaced(cluster.client.clone(), "skipped")
            .get_opt("fanout")
            .await
            .unwrap()
            .is_none()
    );

    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Reconciles of the PushSecret controller so far (any result but errors).
fn push_reconciles(metrics: &Metrics) -> u64 {
    use secretsync_kube::metrics::runtime::ReconcileResult;
    [ReconcileResult::success, ReconcileResult::requeue_after]
        .into_iter()
        .map(|r| metrics.runtime.reconciles("pushsecret", r))
        .sum()
}

/// `selector.generatorRef`: a Password generator's value, with a `templateFrom` ConfigMap
/// laid over it, goes to OpenBao once; the reconciles after it (our own finalizer and status
/// writes, an operator restart) push nothing new, as ESO refreshes only on a spec, label or
/// annotation change or when `refreshInterval` is over; an annotation change generates and
/// pushes a new value; `deletionPolicy: Delete` removes it; no generated value in status,
/// events or logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_source_is_stable_until_eso_would_regenerate() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use secretsync_model::generator::Password;

    secretsync_testkit::logs::capture();
    let bao = Bao::start().await.expect("OpenBao");
    let cluster = Cluster::start(crd_dir()).await;
    let ns = cluster.namespace.clone();
    let token = secrecy::ExposeSecret::expose_secret(bao.root_token()).to_string();
    support::push::source(&cluster, "vault-token", &[("token", &token)]).await;
    cluster
        .apply::<SecretStore>(
            Some(&ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "vault", "namespace": ns},
                   "spec": {"provider": {"vault": {
                       "server": bao.addr(), "path": "secret", "version": "v2",
                       "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}}),
        )
        .await;
    cluster
        .apply::<Password>(
            Some(&ns),
            json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
                   "metadata": {"name": "pw", "namespace": ns},
                   "spec": {"length": 32, "digits": 4, "symbols": 0, "noUpper": false,
                            "allowRepeat": true}}),
        )
        .await;
    cluster
        .apply::<ConfigMap>(
            Some(&ns),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "tpl", "namespace": ns},
                   "data": {"dsn": "postgres://app:{{ .password }}@db"}}),
        )
        .await;
    let start = || {
        let factory = Arc::new(AllProviders::new(
            ProviderOptions::from_lookup(|_| None).unwrap(),
        ));
        let engine = Arc::new(Engine::new(factory.clone(), EngineConfig::default()));
        let (lifecycle, metrics) = (Lifecycle::default(), Metrics::default());
        let running = tokio::spawn(secretsync_kube::run_with(
            cluster.client.clone(),
            config(&ns),
            engine,
            factory,
            metrics.clone(),
            lifecycle.clone(),
        ));
        (lifecycle, metrics, running)
    };
    let stop = |lifecycle: Lifecycle, running: tokio::task::JoinHandle<_>| async move {
        lifecycle.shutdown.cancel();
        let done: Result<Result<(), secretsync_kube::RunError>, _> =
            tokio::time::timeout(Duration::from_secs(20), running)
                .await
                .unwrap();
        done.unwrap().unwrap();
    };
    let version = || async {
        kv_meta(&bao, "generated").await.unwrap()["current_version"]
            .as_u64()
            .unwrap()
    };
    let (lifecycle, metrics, running) = start();
    let manifest = |annotations: Value| {
        json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
               "metadata": {"name": "gen", "namespace": ns, "annotations": annotations},
               "spec": {"refreshInterval": "1h", "deletionPolicy": "Delete",
                        "secretStoreRefs": [{"name": "vault", "kind": "SecretStore"}],
                        "selector": {"generatorRef": {
                            "apiVersion": "generators.external-secrets.io/v1alpha1",
                            "kind": "Password", "name": "pw"}},
                        "template": {"templateFrom": [
                            {"configMap": {"name": "tpl", "items": [{"key": "dsn"}]}}]},
                        "data": [entry(None, "generated", None)]}})
    };
    cluster
        .apply::<PushSecret>(Some(&ns), manifest(json!({})))
        .await;
    wait_for(WAIT, "PushSecret Ready", || async {
        ready(&cluster, "gen").await.filter(|r| r.0 == "True")
    })
    .await;
    let first = kv(&bao, "generated").await.unwrap();
    let password = first["password"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 32);
    assert_eq!(first["dsn"], json!(format!("postgres://app:{password}@db")));
    // the finalizer and status writes each brought a reconcile: none generated again
    wait_for(WAIT, "two reconciles", || async {
        (push_reconciles(&metrics) >= 2).then_some(())
    })
    .await;
    assert_eq!(
        version().await,
        1,
        "one write after {} reconciles",
        push_reconciles(&metrics)
    );

    // an operator restart reconciles every PushSecret: ESO would not refresh, nor do we
    stop(lifecycle, running).await;
    let (lifecycle, metrics, running) = start();
    wait_for(WAIT, "a reconcile after the restart", || async {
        (push_reconciles(&metrics) >= 1).then_some(())
    })
    .await;
    assert_eq!(kv(&bao, "generated").await.unwrap(), first);
    assert_eq!(version().await, 1);

    // an annotation change is a refresh for ESO: a new value is generated and pushed, once
    let synced_version = || async {
        Api::<PushSecret>::namespaced(cluster.client.clone(), &ns)
            .get("gen")
            .await
            .unwrap()
            .status
            .and_then(|s| s.synced_resource_version)
    };
    let before = synced_version().await;
    cluster
        .apply::<PushSecret>(Some(&ns), manifest(json!({"rotate": "1"})))
        .await;
    let second = wait_for(WAIT, "a new generated value", || async {
        kv(&bao, "generated")
            .await
            .filter(|v| v["password"] != json!(password))
    })
    .await;
    let rotated = second["password"].as_str().unwrap().to_string();
    wait_for(WAIT, "the refresh recorded in the status", || async {
        (synced_version().await != before).then_some(())
    })
    .await;
    stop(lifecycle, running).await;
    let (lifecycle, metrics, running) = start();
    wait_for(WAIT, "a reconcile after the second restart", || async {
        (push_reconciles(&metrics) >= 1).then_some(())
    })
    .await;
    assert_eq!(version().await, 2, "one write for the annotation change");

    let api = Api::<PushSecret>::namespaced(cluster.client.clone(), &ns);
    let status = api.get("gen").await.unwrap().status.unwrap();
    let status = serde_json::to_string(&status).unwrap();
    assert!(!status.contains(&password) && !status.contains(&rotated));
    api.delete("gen", &DeleteParams::default()).await.unwrap();
    wait_for(WAIT, "the pushed secret deleted", || async {
        kv_meta(&bao, "generated").await.is_none().then_some(())
    })
    .await;
    assert_no_values_in_events(&cluster, &[&password, &rotated]).await;
    assert_no_values_in_logs(&[&password, &rotated]);
    stop(lifecycle, running).await;
}
