//! Fallback stores end to end: the ExternalSecret controller against the Kubernetes API double,
//! a real OpenBao as the primary and moto (AWS Secrets Manager) as the
//! `secretsync.io/fallback-store`. With OpenBao stopped the Secret keeps syncing from moto and
//! status, an event and the metric say so; with OpenBao started again (same port, re-seeded:
//! dev mode keeps no data) it returns to Vault. "Not found" and "permission denied" at Vault
//! never fall back. An `STSSessionToken` generator (moto) fills a Secret on the way. No value
//! (served or generated) reaches status, events, metrics or logs.
//!
//! The same peers also count issue #20's provider calls per steady refresh cycle (no Vault
//! login, no STS call, Vault reads shared by readers, AWS reads in batch slots).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use reqwest::Method;
use secrecy::ExposeSecret;
use secretsync_engine::{Engine, EngineConfig};
use secretsync_kube::{Lifecycle, Metrics};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use secretsync_providers::{AllProviders, ProviderOptions};
use secretsync_testkit::peers::{Bao, Moto};
use serde_json::{Value, json};
use support::{Cluster, config, crd_dir, wait_for};

const FROM_VAULT: &str = "canary-vault-7c1f-never-print";
const FROM_AWS: &str = "canary-aws-2b9e-never-print";
const WAIT: Duration = Duration::from_secs(30);

async fn seed_vault(bao: &Bao) {
    for (key, value) in [("app/db", FROM_VAULT), ("denied/db", FROM_VAULT)] {
        bao.sys_request(
            Method::POST,
            &format!("secret/data/{key}"),
            Some(json!({"data": {"password": value}})),
        )
        .await
        .unwrap();
    }
}

/// A Secrets Manager secret holding `{"password": value}`.
async fn seed_aws(moto: &Moto, name: &str, value: &str) {
    let document = json!({"password": value}).to_string();
    moto.create_secret(name, &document).await.unwrap();
}

/// A Vault SecretStore; `vault` itself names `aws` as its fallback (store-level annotation).
fn vault_store(name: &str, addr: &str, token_secret: &str) -> Value {
    let annotations = if name == "vault" {
        json!({"secretsync.io/fallback-store": "SecretStore/aws"})
    } else {
        json!({})
    };
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
           "metadata": {"name": name, "namespace": "apps", "annotations": annotations},
           "spec": {"refreshInterval": 1, "provider": {"vault": {
               "server": addr, "path": "secret", "version": "v2",
               "auth": {"tokenSecretRef": {"name": token_secret, "key": "token"}}}}}})
}

/// An ExternalSecret naming `aws` as its fallback, except `by-store` (its store names it).
fn external_secret(name: &str, store: &str, key: &str) -> Value {
    let annotations = if name == "by-store" {
        json!({})
    } else {
        json!({"secretsync.io/fallback-store": "SecretStore/aws"})
    };
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
           "metadata": {"name": name, "namespace": "apps", "annotations": annotations},
           "spec": {"refreshInterval": "1s",
                    "secretStoreRef": {"name": store, "kind": "SecretStore"},
                    "target": {"name": name},
                    "data": [{"secretKey": "password",
                              "remoteRef": {"key": key, "property": "password"}}]}})
}

/// The controllers with every provider (AWS at `moto`), in this process.
fn run_controllers(
    cluster: &Cluster,
    moto: &Moto,
) -> (
    tokio::task::JoinHandle<Result<(), secretsync_kube::RunError>>,
    Lifecycle,
    Metrics,
) {
    let endpoint = moto.endpoint().to_string();
    let options = ProviderOptions::from_lookup(|k| {
        (k == "SECRETSYNC_AWS_ENDPOINT_URL").then(|| endpoint.clone())
    })
    .unwrap();
    let factory = Arc::new(AllProviders::new(options));
    let engine = Arc::new(
        Engine::new(factory.clone(), EngineConfig::default()).with_generators(factory.generators()),
    );
    let lifecycle = Lifecycle::default();
    let metrics = Metrics::default();
    let running = tokio::spawn(secretsync_kube::run_with(
        cluster.client.clone(),
        config(&cluster.namespace),
        engine,
        factory,
        metrics.clone(),
        lifecycle.clone(),
    ));
    (running, lifecycle, metrics)
}

async fn password(cluster: &Cluster, name: &str) -> Option<String> {
    let data = cluster.secret(name).await?.data?;
    Some(String::from_utf8(data.get("password")?.0.clone()).unwrap())
}

async fn events_text(cluster: &Cluster) -> String {
    let events = Api::<k8s_openapi::api::events::v1::Event>::namespaced(
        cluster.client.clone(),
        &cluster.namespace,
    )
    .list(&ListParams::default())
    .await
    .unwrap();
    serde_json::to_string(&events.items).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_down_serves_from_the_fallback_and_returns_to_vault() {
    let logs = secretsync_testkit::logs::capture();
    let (bao, moto, cluster) = tokio::join!(Bao::start(), Moto::start(), Cluster::start(crd_dir()));
    let (mut bao, moto) = (bao.expect("OpenBao"), moto.expect("moto"));
    let ns = cluster.namespace.clone();
    seed_vault(&bao).await;
    seed_aws(&moto, "app/db", FROM_AWS).await;
    seed_aws(&moto, "only-aws", FROM_AWS).await;
    seed_aws(&moto, "denied/db", FROM_AWS).await;
    // a token that may read nothing: Vault answers 403 for every key
    let limited = bao
        .sys_request(
            Method::POST,
            "auth/token/create",
            Some(json!({"policies": ["default"], "no_default_policy": false})),
        )
        .await
        .unwrap()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let root = bao.root_token().expose_secret().to_string();
    for (name, data) in [
        ("vault-token", json!({"token": root})),
        ("limited-token", json!({"token": limited})),
        (
            "aws-creds",
            json!({"id": "AKIATEST", "secret": "test-secret"}),
        ),
    ] {
        cluster
            .apply::<Secret>(
                Some(&ns),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": name, "namespace": ns}, "stringData": data}),
            )
            .await;
    }
    for store in [
        vault_store("vault", &bao.addr(), "vault-token"),
        vault_store("vault-limited", &bao.addr(), "limited-token"),
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": "aws", "namespace": ns},
               "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
                   "auth": {"secretRef": {
                       "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                       "secretAccessKeySecretRef": {"name": "aws-creds", "key": "secret"}}}}}}}),
    ] {
        cluster.apply::<SecretStore>(Some(&ns), store).await;
    }

    let (running, lifecycle, metrics) = run_controllers(&cluster, &moto);
    let served = |name: &str| metrics.served_from_fallback.get(&ns, name);
    for (name, store, key) in [
        ("app", "vault", "app/db"),
        ("by-store", "vault", "app/db"),
        ("missing", "vault", "only-aws"),
        ("denied", "vault-limited", "denied/db"),
    ] {
        cluster
            .apply::<ExternalSecret>(Some(&ns), external_secret(name, store, key))
            .await;
    }

    cluster
        .apply::<secretsync_model::generator::StsSessionToken>(
            Some(&ns),
            json!({"apiVersion": "generators.external-secrets.io/v1alpha1",
                   "kind": "STSSessionToken", "metadata": {"name": "sts", "namespace": ns},
                   "spec": {"region": "us-east-1", "auth": {"secretRef": {
                       "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                       "secretAccessKeySecretRef": {"name": "aws-creds", "key": "secret"}}}}}),
        )
        .await;
    cluster
        .apply::<ExternalSecret>(
            Some(&ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "generated", "namespace": ns},
                   "spec": {"refreshInterval": "1h", "target": {"name": "generated"},
                            "dataFrom": [{"sourceRef": {"generatorRef": {
                                "apiVersion": "generators.external-secrets.io/v1alpha1",
                                "kind": "STSSessionToken", "name": "sts"}}}]}}),
        )
        .await;

    // OpenBao up: values from Vault, nothing says fallback
    wait_for(WAIT, "the Secret from Vault", || async {
        (password(&cluster, "app").await.as_deref() == Some(FROM_VAULT)).then_some(())
    })
    .await;
    let (_, reason, message) = wait_for(WAIT, "Ready", || async {
        cluster.ready_of("app").await.filter(|r| r.0 == "True")
    })
    .await;
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("SecretSynced", "secret synced")
    );
    assert_eq!(served("app"), Some(false));

    // "not found" and "permission denied" at Vault never fall back: the sync failed (a
    // positive sign it ran, fallback pass included) and no Secret was written
    for (name, expected) in [("missing", "not found"), ("denied", "403")] {
        let (_, reason, message) = wait_for(WAIT, "the sync error", || async {
            cluster.ready_of(name).await.filter(|r| r.0 == "False")
        })
        .await;
        assert_eq!(reason, "SecretSyncedError", "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
        assert!(!message.contains("fallback"), "{name}: {message}");
        assert!(cluster.secret(name).await.is_none(), "{name} fell back");
        assert_eq!(served(name), None, "{name}");
    }

    // OpenBao stopped: the fallback serves (named by the ExternalSecret, or by its store), and
    // status, event and metric say so
    bao.stop();
    for name in ["app", "by-store"] {
        wait_for(WAIT, "the Secret from the fallback", || async {
            (password(&cluster, name).await.as_deref() == Some(FROM_AWS)).then_some(())
        })
        .await;
    }
    let (status, reason, message) = wait_for(WAIT, "status naming the fallback", || async {
        cluster
            .ready_of("app")
            .await
            .filter(|r| r.2.contains("fallback"))
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "SecretSynced"));
    assert!(
        message.contains("secret synced from the fallback store (primary store unavailable): spec.data[0] from SecretStore apps/aws"),
        "{message}"
    );
    assert_eq!(served("app"), Some(true));
    // once the store controller has found Vault unreachable (store not Ready), the flood gate
    // refuses the store as unavailable: the fallback still serves
    wait_for(WAIT, "the Vault store not Ready", || async {
        let store = Api::<SecretStore>::namespaced(cluster.client.clone(), &ns)
            .get("vault")
            .await
            .unwrap();
        let ready = store
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (serde_json::to_value(ready.status).unwrap() == "False").then_some(())
    })
    .await;
    let reconciles = metrics.external_secret_reconciles(&ns, "app");
    wait_for(WAIT, "two more reconciles", || async {
        (metrics.external_secret_reconciles(&ns, "app") >= reconciles + 2).then_some(())
    })
    .await;
    let (status, _, message) = cluster.ready_of("app").await.unwrap();
    assert_eq!(status, "True", "{message}");
    assert!(message.contains("from the fallback store"), "{message}");
    let events = events_text(&cluster).await;
    assert!(events.contains("ServedFromFallback"), "{events}");
    let mut scrape = String::new();
    metrics.encode_eso(&mut scrape);
    assert!(
        scrape.contains(
            "secretsync_externalsecret_served_from_fallback{name=\"app\",namespace=\"apps\"} 1"
        ),
        "{scrape}"
    );

    // OpenBao back on the same port (re-seeded): Vault serves again, status no longer says fallback
    bao.start_again().await.expect("OpenBao again");
    seed_vault(&bao).await;
    wait_for(WAIT, "the Secret from Vault again", || async {
        (password(&cluster, "app").await.as_deref() == Some(FROM_VAULT)).then_some(())
    })
    .await;
    wait_for(WAIT, "status back to synced", || async {
        cluster
            .ready_of("app")
            .await
            .filter(|r| r.2 == "secret synced")
    })
    .await;
    assert_eq!(served("app"), Some(false));

    // the generator filled its Secret with ESO's keys
    let generated = wait_for(WAIT, "the generated Secret", || async {
        cluster.secret("generated").await?.data
    })
    .await;
    let generated_keys: Vec<&str> = generated.keys().map(String::as_str).collect();
    assert_eq!(
        generated_keys,
        [
            "access_key_id",
            "expiration",
            "secret_access_key",
            "session_token"
        ]
    );
    let generated_values: Vec<String> = ["secret_access_key", "session_token"]
        .iter()
        .map(|k| String::from_utf8(generated[*k].0.clone()).unwrap())
        .collect();

    // canary: no value in status, events, metrics or logs
    let statuses: Vec<Value> = Api::<ExternalSecret>::namespaced(cluster.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|es| serde_json::to_value(&es.status).unwrap())
        .collect();
    let mut scrape = String::new();
    metrics.encode_eso(&mut scrape);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logged.contains("ServedFromFallback") || logged.len() > 10_000,
        "logs captured"
    );
    for (what, text) in [
        ("status", serde_json::to_string(&statuses).unwrap()),
        ("events", events_text(&cluster).await),
        ("metrics", scrape),
        ("logs", logged),
    ] {
        for canary in [FROM_VAULT, FROM_AWS] {
            assert!(!text.contains(canary), "{what} carries a value");
        }
        for generated in &generated_values {
            assert!(
                !text.contains(generated.as_str()),
                "{what} carries a generated value"
            );
        }
    }
    lifecycle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// `(logins, KV reads, end of the log)`: what OpenBao's audit log shows from byte `from` on.
fn vault_audit(path: &std::path::Path, from: usize) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let (mut logins, mut reads) = (0, 0);
    for line in text[from.min(text.len())..].lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry["type"] != "request" {
            continue;
        }
        let path = entry["request"]["path"].as_str().unwrap_or_default();
        if path.ends_with("/login") {
            logins += 1;
        } else if path.starts_with("secret/data/") {
            reads += 1;
        }
    }
    (logins, reads, text.len())
}

/// `status.refreshTime` of every ExternalSecret of the namespace, by name.
async fn refresh_times(cluster: &Cluster) -> BTreeMap<String, Option<String>> {
    Api::<ExternalSecret>::namespaced(cluster.client.clone(), &cluster.namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|es| {
            let time = es
                .status
                .and_then(|s| s.refresh_time)
                .and_then(|t| serde_json::to_value(t).ok())
                .and_then(|t| t.as_str().map(str::to_string));
            (es.metadata.name.unwrap_or_default(), time)
        })
        .collect()
}

/// Waits until each of the `count` ExternalSecrets has a `refreshTime` that changed `n` times
/// since `from` (polled every 50 ms, at most [`WAIT`]).
async fn refreshed(
    cluster: &Cluster,
    count: usize,
    from: BTreeMap<String, Option<String>>,
    n: usize,
    what: &str,
) {
    let deadline = std::time::Instant::now() + WAIT;
    let mut changes: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = from;
    loop {
        let now = refresh_times(cluster).await;
        for (name, time) in &now {
            if time.is_some() && last.get(name) != Some(time) {
                *changes.entry(name.clone()).or_default() += 1;
            }
        }
        last = now;
        if changes.len() == count && changes.values().all(|c| *c >= n) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {changes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Issue #20, provider calls per refresh cycle, counted at the peers: with the stores
/// re-validated every second and the ExternalSecrets refreshing every 2 s, a steady cycle logs
/// in to Vault (AppRole) zero times and calls STS (AssumeRole) zero times — validation reuses
/// the providers the syncs read through — reads each Vault key once for its two readers, and
/// reads 25 AWS keys in whole batch slots (20 + 5 ids per `BatchGetSecretValue`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_refresh_cycle_logs_in_nowhere_and_batches_aws_reads() {
    const AWS_KEYS: usize = 25;
    const VAULT_KEYS: usize = 3;
    let (bao, moto, cluster) = tokio::join!(Bao::start(), Moto::start(), Cluster::start(crd_dir()));
    let (mut bao, moto) = (bao.expect("OpenBao"), moto.expect("moto"));
    let ns = cluster.namespace.clone();
    let audit = bao.enable_audit_file().await.unwrap();
    for (method, path, body) in [
        (Method::POST, "sys/auth/approle", json!({"type": "approle"})),
        (
            Method::PUT,
            "sys/policies/acl/reader",
            json!({"policy": "path \"secret/data/*\" { capabilities = [\"read\"] }"}),
        ),
        (
            Method::POST,
            "auth/approle/role/reader",
            json!({"token_policies": ["reader"], "token_ttl": "1h"}),
        ),
    ] {
        bao.sys_request(method, path, Some(body)).await.unwrap();
    }
    let role_id = bao
        .sys_request(Method::GET, "auth/approle/role/reader/role-id", None)
        .await
        .unwrap()["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = bao
        .sys_request(
            Method::POST,
            "auth/approle/role/reader/secret-id",
            Some(json!({})),
        )
        .await
        .unwrap()["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    for k in 0..VAULT_KEYS {
        bao.sys_request(
            Method::POST,
            &format!("secret/data/k{k}"),
            Some(json!({"data": {"password": FROM_VAULT}})),
        )
        .await
        .unwrap();
    }
    for k in 0..AWS_KEYS {
        seed_aws(&moto, &format!("k{k:02}"), FROM_AWS).await;
    }
    for (name, data) in [
        ("approle", json!({"secret-id": secret_id})),
        (
            "aws-creds",
            json!({"id": "AKIATEST", "secret": "test-secret"}),
        ),
    ] {
        cluster
            .apply::<Secret>(
                Some(&ns),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": name, "namespace": ns}, "stringData": data}),
            )
            .await;
    }
    for store in [
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": "vault", "namespace": ns},
               "spec": {"refreshInterval": 1, "provider": {"vault": {
                   "server": bao.addr(), "path": "secret", "version": "v2",
                   "auth": {"appRole": {"path": "approle", "roleId": role_id,
                       "secretRef": {"name": "approle", "key": "secret-id"}}}}}}}),
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": "aws", "namespace": ns},
               "spec": {"refreshInterval": 1, "provider": {"aws": {
                   "service": "SecretsManager", "region": "us-east-1",
                   "role": "arn:aws:iam::123456789012:role/reader",
                   "auth": {"secretRef": {
                       "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                       "secretAccessKeySecretRef": {"name": "aws-creds", "key": "secret"}}}}}}}),
    ] {
        cluster.apply::<SecretStore>(Some(&ns), store).await;
    }
    let reader = |name: String, store: &str, key: String| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"refreshInterval": "2s",
                        "secretStoreRef": {"name": store, "kind": "SecretStore"},
                        "target": {"name": name},
                        "data": [{"secretKey": "password",
                                  "remoteRef": {"key": key, "property": "password"}}]}})
    };
    let mut objects: Vec<Value> = (0..AWS_KEYS)
        .map(|k| reader(format!("aws-{k}"), "aws", format!("k{k:02}")))
        .collect();
    objects.extend((0..2 * VAULT_KEYS).map(|i| {
        reader(
            format!("vault-{i}"),
            "vault",
            format!("k{}", i % VAULT_KEYS),
        )
    }));
    let count = objects.len();
    for object in objects {
        cluster.apply::<ExternalSecret>(Some(&ns), object).await;
    }

    let (running, lifecycle, _) = run_controllers(&cluster, &moto);
    // First sync, then two refreshes each: keys registered in their slots, refreshes aligned.
    refreshed(
        &cluster,
        count,
        BTreeMap::new(),
        3,
        "first sync and two refreshes",
    )
    .await;

    moto.start_recording().await.unwrap();
    let (_, _, mark) = vault_audit(&audit, 0);
    let from = refresh_times(&cluster).await;
    refreshed(&cluster, count, from, 2, "two steady refresh cycles").await;
    let (logins, reads, _) = vault_audit(&audit, mark);
    let calls = moto.recorded_calls().await.unwrap();
    let aws = |action: &str| calls.iter().filter(|c| c.action == action).count();
    eprintln!(
        "two cycles: vault logins {logins}, reads {reads}; aws {:?}",
        calls.iter().map(|c| c.action.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(logins, 0, "no Vault login in steady cycles");
    assert_eq!(
        aws("AssumeRole") + aws("AssumeRoleWithWebIdentity"),
        0,
        "no STS call"
    );
    // Two cycles (and the refreshes that straddle the window): two readers per Vault key share
    // one read, 25 AWS keys go out in two slots per cycle.
    assert!(reads <= 3 * VAULT_KEYS, "vault reads: {reads}");
    assert!(aws("BatchGetSecretValue") >= 2, "{calls:?}");
    assert!(
        aws("BatchGetSecretValue") + aws("GetSecretValue") <= 3 * AWS_KEYS.div_ceil(20),
        "{calls:?}"
    );

    lifecycle.shutdown.cancel();
    running.await.unwrap().unwrap();
}
