//! The PushSecret controller against AWS Secrets Manager and Parameter Store (moto) and Azure
//! Key Vault (the testkit's double), one shared body per provider run side by side with one
//! operator, one moto and one double per binary: the remote is created with the Secret's value
//! and the requested metadata, follows changes of the Secret, is restored after an
//! out-of-band edit; remotes without ESO's marker are never written, remotes with it are;
//! `IfNotExists` never overwrites; `deletionPolicy: Delete` removes exactly what was pushed and
//! `None` keeps it; `dataTo` per key (match, rewrite) and bundled; no value in statuses, events
//! or the operator's logs.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod backend;

use std::sync::Arc;
use std::time::Duration;

use backend::{Backend, CLIENT_ID, CLIENT_SECRET, MARKER, REGION, World, tags};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams};
use secretsync_engine::{Engine, EngineConfig};
use secretsync_kube::{Lifecycle, Metrics};
use secretsync_model::push_secret::PushSecret;
use secretsync_model::secret_store::SecretStore;
use secretsync_providers::{AllProviders, AmbientIdentity, ProviderOptions};
use secretsync_testkit::azure::{AzureDouble, AzureDoubleOptions};
use secretsync_testkit::peers::Moto;
use serde_json::json;
use support::push::{
    assert_no_values_in_events, assert_no_values_in_logs, entry, push_secret, ready, source,
};
use support::{Cluster, config, crd_dir, wait_for};

const CANARY: &str = "canary-81c4-push-never-print";
const ROTATED: &str = "canary-rotated-3a9f-never-print";
const WAIT: Duration = Duration::from_secs(30);

async fn refresh_time(w: &World, name: &str) -> Option<String> {
    let ps = Api::<PushSecret>::namespaced(w.cluster.client.clone(), &w.cluster.namespace)
        .get(name)
        .await
        .unwrap();
    serde_json::to_value(ps.status?.refresh_time?)
        .ok()?
        .as_str()
        .map(str::to_string)
}

/// Waits until PushSecret `name` finished two reconciles after this call, so the second one
/// started after it.
async fn two_reconciles(w: &World, name: &str) {
    for round in ["first", "second"] {
        let before = refresh_time(w, name).await;
        wait_for(WAIT, &format!("the {round} refresh of {name}"), || async {
            let now = refresh_time(w, name).await;
            (now.is_some() && now != before).then_some(())
        })
        .await;
    }
}

/// Asserts the remote values of `wanted` (`None`: absent) for backend `b`.
async fn expect_values(w: &World, b: Backend, wanted: &[(&str, Option<&str>)], why: &str) {
    for (name, value) in wanted {
        let key = b.key(name);
        assert_eq!(
            b.value(w, &key).await.as_deref(),
            *value,
            "{b:?} {key}: {why}"
        );
    }
}

/// The shared acceptance body for one provider.
async fn lifecycle(w: &World, b: Backend) {
    let ns = w.cluster.namespace.clone();
    let k = |name: &str| b.key(name);
    let src = format!("src-{}", b.name());
    let store = b.name();
    source(&w.cluster, &src, &[("user", "admin"), ("password", CANARY)]).await;
    b.create(w, &k("theirs"), "original", false).await;
    b.create(w, &k("exists"), "original", false).await;
    b.create(w, &k("eso"), "original", true).await;

    // create with the requested metadata and ESO's marker
    let full = json!([
        {"match": {"secretKey": "password", "remoteRef": {"remoteKey": k("db")}},
         "metadata": b.metadata()},
        entry(Some("user"), &k("user"), None)
    ]);
    w.cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(&k("push"), &ns, store, &src, ("Replace", "Delete"), full),
        )
        .await;
    wait_for(WAIT, &format!("{b:?}: PushSecret Ready"), || async {
        ready(&w.cluster, &k("push"))
            .await
            .filter(|r| r.0 == "True")
    })
    .await;
    let db = b.read(w, &k("db")).await.unwrap();
    assert_eq!(db.value, CANARY, "{b:?}");
    let (wanted_tags, wanted_format) = b.expected_metadata();
    assert_eq!(
        (db.tags, db.format.as_str()),
        (wanted_tags, wanted_format),
        "{b:?}"
    );
    let user = b.read(w, &k("user")).await.unwrap();
    assert_eq!(user.value, "admin", "{b:?}");
    assert_eq!(user.tags, tags(&[MARKER]), "{b:?}");
    let status = Api::<PushSecret>::namespaced(w.cluster.client.clone(), &ns)
        .get(&k("push"))
        .await
        .unwrap()
        .status;
    let synced: Vec<String> = status.as_ref().unwrap().synced_push_secrets
        [&format!("SecretStore/{store}")]
        .keys()
        .cloned()
        .collect();
    assert_eq!(synced, [k("db"), k("user")], "{b:?}");
    assert!(!serde_json::to_string(&status).unwrap().contains(CANARY));

    // a change of the Secret reaches the remote within the refresh interval
    source(
        &w.cluster,
        &src,
        &[("user", "admin"), ("password", ROTATED)],
    )
    .await;
    wait_for(WAIT, &format!("{b:?}: the rotated value"), || async {
        (b.value(w, &k("db")).await.as_deref() == Some(ROTATED)).then_some(())
    })
    .await;

    // an out-of-band edit is restored on the next refresh
    b.edit(w, &k("db"), "mallory").await;
    wait_for(
        WAIT,
        &format!("{b:?}: the edited value restored"),
        || async { (b.value(w, &k("db")).await.as_deref() == Some(ROTATED)).then_some(()) },
    )
    .await;

    // unmarked remotes are refused, ESO-marked ones are written, IfNotExists leaves existing
    // remotes alone
    let cases = [
        (
            "intruder",
            ("Replace", "Delete"),
            json!([entry(Some("password"), &k("theirs"), None)]),
        ),
        (
            "adopt",
            ("Replace", "None"),
            json!([entry(Some("user"), &k("eso"), None)]),
        ),
        (
            "gentle",
            ("IfNotExists", "None"),
            json!([
                entry(Some("password"), &k("exists"), None),
                entry(Some("user"), &k("fresh"), None)
            ]),
        ),
    ];
    for (name, policies, data) in cases {
        w.cluster
            .apply::<PushSecret>(
                Some(&ns),
                push_secret(&k(name), &ns, store, &src, policies, data),
            )
            .await;
    }
    // dataTo: matched keys per remote with a rewritten name, and a bundle of the others
    let mut bulk = push_secret(
        &k("bulk"),
        &ns,
        store,
        &src,
        ("Replace", "Delete"),
        json!([]),
    );
    bulk["spec"].as_object_mut().unwrap().remove("data");
    bulk["spec"]["dataTo"] = json!([
        {"storeRef": {"name": store}, "match": {"regexp": "^user$"},
         "rewrite": [{"regexp": {"source": "^", "target": k("bulk-")}}]},
        {"storeRef": {"name": store}, "remoteKey": k("bundle"), "match": {"regexp": "^pass"}}
    ]);
    w.cluster.apply::<PushSecret>(Some(&ns), bulk).await;
    let (_, reason, message) = wait_for(WAIT, &format!("{b:?}: the intruder refused"), || async {
        ready(&w.cluster, &k("intruder"))
            .await
            .filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(reason, "Errored", "{b:?}");
    assert!(message.contains("not managed"), "{b:?}: {message}");
    assert!(!message.contains(CANARY) && !message.contains(ROTATED));
    for name in ["adopt", "gentle", "bulk"] {
        wait_for(WAIT, &format!("{b:?}: {name} Ready"), || async {
            ready(&w.cluster, &k(name)).await.filter(|r| r.0 == "True")
        })
        .await;
    }
    expect_values(
        w,
        b,
        &[
            ("eso", Some("admin")),
            ("fresh", Some("admin")),
            ("bulk-user", Some("admin")),
            ("bundle", Some(&format!(r#"{{"password":"{ROTATED}"}}"#))),
        ],
        "ESO's marker adopted, IfNotExists created, dataTo expanded",
    )
    .await;

    // IfNotExists never overwrites: the user changes, `push` follows, `gentle` does not
    source(&w.cluster, &src, &[("user", "root"), ("password", ROTATED)]).await;
    wait_for(WAIT, &format!("{b:?}: the new user pushed"), || async {
        (b.value(w, &k("user")).await.as_deref() == Some("root")).then_some(())
    })
    .await;
    wait_for(
        WAIT,
        &format!("{b:?}: the new user pushed by dataTo"),
        || async { (b.value(w, &k("bulk-user")).await.as_deref() == Some("root")).then_some(()) },
    )
    .await;
    two_reconciles(w, &k("gentle")).await;
    expect_values(
        w,
        b,
        &[
            ("fresh", Some("admin")),
            ("exists", Some("original")),
            ("theirs", Some("original")),
        ],
        "IfNotExists never overwrites, unmarked never written",
    )
    .await;

    // dropping an entry with deletionPolicy Delete deletes exactly that remote
    let only_db = json!([
        {"match": {"secretKey": "password", "remoteRef": {"remoteKey": k("db")}},
         "metadata": b.metadata()}
    ]);
    w.cluster
        .apply::<PushSecret>(
            Some(&ns),
            push_secret(&k("push"), &ns, store, &src, ("Replace", "Delete"), only_db),
        )
        .await;
    wait_for(
        WAIT,
        &format!("{b:?}: the dropped entry deleted"),
        || async { b.read(w, &k("user")).await.is_none().then_some(()) },
    )
    .await;
    expect_values(
        w,
        b,
        &[("db", Some(ROTATED))],
        "the entry still in the spec is kept",
    )
    .await;

    // deleting the PushSecrets: Delete removes what it pushed, None keeps it, the rest stays
    let api = Api::<PushSecret>::namespaced(w.cluster.client.clone(), &ns);
    let names = ["push", "intruder", "adopt", "gentle", "bulk"].map(k);
    for name in &names {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    wait_for(WAIT, &format!("{b:?}: the PushSecrets gone"), || async {
        let left = api.list(&ListParams::default()).await.unwrap().items;
        (!left
            .iter()
            .any(|ps| names.contains(&ps.metadata.name.clone().unwrap_or_default())))
        .then_some(())
    })
    .await;
    expect_values(
        w,
        b,
        &[
            ("db", None),
            ("bulk-user", None),
            ("bundle", None),
            ("fresh", Some("admin")),
            ("eso", Some("root")),
            ("exists", Some("original")),
            ("theirs", Some("original")),
        ],
        "Delete removes what it pushed, None keeps it (adopt followed the user), the rest stays",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_acceptance_for_aws_and_azure() {
    secretsync_testkit::logs::capture();
    let (moto, cluster) = tokio::join!(Moto::start(), Cluster::start(crd_dir()));
    let moto = moto.expect("moto");
    let azure = AzureDouble::start(AzureDoubleOptions::default()).expect("Azure double");
    azure.add_client_secret(azure.tenant_id(), CLIENT_ID, CLIENT_SECRET);
    let admin = moto.admin_sdk_config(REGION);
    let ca = reqwest::Certificate::from_pem(azure.ca_pem().as_bytes()).unwrap();
    let w = World {
        sm: aws_sdk_secretsmanager::Client::new(&admin),
        ssm: aws_sdk_ssm::Client::new(&admin),
        http: reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .unwrap(),
        cluster,
        moto,
        azure,
    };
    let ns = w.cluster.namespace.clone();
    for (name, data) in [
        (
            "aws-keys",
            json!({"id": "AKIAPUSH000000000000", "secret": "aws-secret-key"}),
        ),
        (
            "azure-sp",
            json!({"client-id": CLIENT_ID, "client-secret": CLIENT_SECRET}),
        ),
    ] {
        w.cluster
            .apply::<Secret>(
                Some(&ns),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": name, "namespace": ns}, "stringData": data}),
            )
            .await;
    }
    let backends = [
        Backend::SecretsManager,
        Backend::ParameterStore,
        Backend::Azure,
    ];
    for b in backends {
        w.cluster.apply::<SecretStore>(Some(&ns), b.store(&w)).await;
    }

    let mut options = ProviderOptions::from_lookup(|k| {
        (k == "SECRETSYNC_AWS_ENDPOINT_URL").then(|| w.moto.endpoint().to_string())
    })
    .unwrap();
    options
        .azure
        .extra_root_certificates_pem
        .push(w.azure.ca_pem().to_string());
    // The double's loopback URL is not an official Key Vault host.
    options.ambient_identity = AmbientIdentity::AnyStore;
    let factory = Arc::new(AllProviders::new(options));
    let engine = Arc::new(Engine::new(factory.clone(), EngineConfig::default()));
    let lifecycle_handle = Lifecycle::default();
    let running = tokio::spawn(secretsync_kube::run_with(
        w.cluster.client.clone(),
        config(&ns),
        engine,
        factory,
        Metrics::default(),
        lifecycle_handle.clone(),
    ));

    futures::future::join_all(backends.map(|b| lifecycle(&w, b))).await;

    // canary: no value in events or the operator's logs
    assert_no_values_in_events(&w.cluster, &[CANARY, ROTATED]).await;
    assert_no_values_in_logs(&[CANARY, ROTATED, CLIENT_SECRET, "aws-secret-key"]);

    lifecycle_handle.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
