//! Provider outage on a compressed time scale: backoff base 100 ms, ceiling 800 ms,
//! refreshInterval 1 s (standing in for ESO's 1 s → 7 min backoff and a long outage).
//! The Secret keeps its last value byte for byte, status turns Ready=False with a reason,
//! provider calls stay within what the backoff allows, and the Secret recovers afterwards.

use crate::kube_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kube_support::*;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_outage_keeps_the_secret_and_backs_off() {
    let env = TestEnv::start("outage").await;
    let ns = env.namespace.clone();
    let config = test_config(&env);
    let class = config.controller_class.clone().unwrap_or_default();
    let (base, ceiling) = (config.error_backoff_base, config.error_backoff_max);
    let _: SecretStore = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "flaky"},
                "spec": {"controller": class, "provider": {"fake": {"data": [
                    {"key": "db", "value": "pa55\u{0}w\u{00e9}rd-bytes"}
                ]}}}
            }),
        )
        .await;
    let operator = start_operator(&env, config);
    let _: ExternalSecret = env
        .apply(
            Some(&ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "db"},
                "spec": {
                    "refreshInterval": "1s",
                    "secretStoreRef": {"name": "flaky", "kind": "SecretStore"},
                    "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]
                }
            }),
        )
        .await;
    let before = wait_for(Duration::from_secs(10), "first sync", || async {
        env.secret(&ns, "db").await
    })
    .await;
    wait_for(Duration::from_secs(5), "Ready", || async {
        ready_of(&env, &ns, "db").await.filter(|r| r.0 == "True")
    })
    .await;

    // Outage.
    operator.factory.outage.store(true, Ordering::SeqCst);
    let failed = wait_for(Duration::from_secs(5), "Ready=False", || async {
        ready_of(&env, &ns, "db").await.filter(|r| r.0 == "False")
    })
    .await;
    assert_eq!(failed.1, "SecretSyncedError");
    // Either the read failed, or (flood gate) the store controller saw the outage first and
    // the store is no longer Ready.
    assert!(
        failed.2.contains("unavailable") || failed.2.contains("is not ready"),
        "status message says why: {}",
        failed.2
    );
    // The retries go on, but backed off: six more provider calls (the ExternalSecret's retries
    // and, with the flood gate, the store's re-validation: two independent backoff sequences of
    // base, 2·base, …) take at least base + 2·base; a retry loop without backoff takes
    // milliseconds.
    let calls_start = operator.factory.calls();
    let started = Instant::now();
    wait_for(
        Duration::from_secs(20),
        "six more provider calls",
        || async { (operator.factory.calls() >= calls_start + 6).then_some(()) },
    )
    .await;
    let took = started.elapsed();
    eprintln!("six provider calls during the outage took {took:?}");
    assert!(
        took >= base * 3,
        "six calls in {took:?}: faster than the backoff allows (at least {:?})",
        base * 3
    );
    let during = env
        .secret(&ns, "db")
        .await
        .expect("Secret still exists during the outage");
    assert_eq!(during.data, before.data, "Secret data byte for byte");
    assert_eq!(during.type_, before.type_);
    assert_eq!(
        during.metadata.resource_version, before.metadata.resource_version,
        "Secret untouched"
    );

    // Recovery.
    let recovered_at = Instant::now();
    operator.factory.outage.store(false, Ordering::SeqCst);
    wait_for(
        ceiling + Duration::from_secs(3),
        "Ready=True after the outage",
        || async { ready_of(&env, &ns, "db").await.filter(|r| r.0 == "True") },
    )
    .await;
    eprintln!(
        "recovered {:?} after the outage ended",
        recovered_at.elapsed()
    );
    let after = env.secret(&ns, "db").await.expect("Secret");
    assert_eq!(after.data, before.data);
    env.cleanup().await;
}
