//! End-to-end: two operator processes with leader election; kill -9 the leader.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use std::time::{Duration, Instant};

use support::{Cluster, Operator, wait_for};

const LEASE_DURATION: Duration = Duration::from_secs(4);
const RETRY: Duration = Duration::from_secs(1);

fn holder(cluster: &Cluster, ns: &str, lease: &str) -> Option<String> {
    let l = cluster.get_json(&["lease", "-n", ns, lease])?;
    l["spec"]["holderIdentity"].as_str().map(str::to_string)
}

fn resource_version(cluster: &Cluster, ns: &str, name: &str) -> String {
    let s = cluster.get_json(&["secret", "-n", ns, name]).unwrap();
    s["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Writes (create/update/patch/delete) to Secrets in `ns` seen by the double since the last reset.
fn secret_writes(cluster: &Cluster, ns: &str) -> Option<usize> {
    let double = cluster.double.as_ref()?;
    Some(
        double
            .request_log()
            .iter()
            .filter(|r| r.is_write() && r.resource == "secrets" && r.namespace == ns)
            .count(),
    )
}

#[test]
fn standby_takes_over_within_the_lease_duration_without_rewriting_secrets() {
    let mut cluster = Cluster::start();
    let ns = cluster.namespace("failover");
    let store = format!("store-{:08x}", support::rand_u32());
    cluster.cleanup.push(vec![
        "delete".into(),
        "clustersecretstore".into(),
        store.clone(),
    ]);
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {{name: {store}}}\n\
         spec: {{provider: {{fake: {{data: [{{key: k1, value: v1}}, {{key: k2, value: v2}}]}}}}}}\n"
    ));
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: app, namespace: {ns}}}\n\
         spec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}\n  target: {{name: app}}\n\
         \x20 data: [{{secretKey: one, remoteRef: {{key: k1}}}}]\n"
    ));
    let lease = format!("lease-{:08x}", support::rand_u32());
    let flags = |identity: &str| {
        vec![
            "--leader-elect".to_string(),
            format!("--identity={identity}"),
            format!("--operator-namespace={ns}"),
            format!("--leader-election-lease-name={lease}"),
            "--leader-election-lease-duration=4s".into(),
            "--leader-election-renew-deadline=3s".into(),
            "--leader-election-retry-period=1s".into(),
        ]
    };
    let mut a = Operator::start(&cluster, &flags("op-a"));
    wait_for(Duration::from_secs(30), "op-a to lead", || {
        (holder(&cluster, &ns, &lease).as_deref() == Some("op-a")).then_some(())
    });
    let mut b = Operator::start(&cluster, &flags("op-b"));
    wait_for(
        Duration::from_secs(30),
        "op-b to be a ready standby",
        || b.ready().then_some(()),
    );
    assert_eq!(
        b.metric("secretsync_leader"),
        Some(0.0),
        "the standby does not lead"
    );

    wait_for(Duration::from_secs(60), "the Secret synced by op-a", || {
        cluster.get_json(&["secret", "-n", &ns, "app"])
    });
    wait_for(
        Duration::from_secs(30),
        "op-a to report the ExternalSecret Ready",
        || {
            let series = format!(
                "externalsecret_status_condition{{name=\"app\",namespace=\"{ns}\",condition=\"Ready\",status=\"True\"}}"
            );
            (a.metric(&series) == Some(1.0)).then_some(())
        },
    );
    assert_eq!(
        b.metrics()
            .and_then(|t| support::family_sum(&t, "externalsecret_sync_calls_total")),
        Some(0.0),
        "the standby reconciles nothing"
    );
    // op-a reports Ready only after its Secret and status writes: the Secret is settled.
    let version = resource_version(&cluster, &ns, "app");
    if let Some(d) = cluster.double.as_ref() {
        d.reset_counters();
    }

    let killed = Instant::now();
    a.kill9();
    wait_for(
        LEASE_DURATION + 4 * RETRY + Duration::from_secs(2),
        "op-b to take the Lease",
        || (holder(&cluster, &ns, &lease).as_deref() == Some("op-b")).then_some(()),
    );
    let takeover = killed.elapsed();
    assert!(
        takeover <= LEASE_DURATION + 2 * RETRY,
        "standby took {takeover:?}; expected within the lease duration {LEASE_DURATION:?} plus two retry periods"
    );
    wait_for(
        Duration::from_secs(30),
        "op-b to reconcile the ExternalSecret",
        || {
            let text = b.metrics()?;
            (support::family_sum(&text, "externalsecret_sync_calls_total")? >= 1.0).then_some(())
        },
    );
    // The reconcile count goes up only once a reconcile has finished, writes included.
    assert_eq!(
        resource_version(&cluster, &ns, "app"),
        version,
        "the unchanged Secret was rewritten after failover"
    );
    if let Some(writes) = secret_writes(&cluster, &ns) {
        assert_eq!(
            writes, 0,
            "no Secret write for an unchanged ExternalSecret after failover"
        );
    }

    // One change: exactly one Secret write.
    let reconciles_before = b
        .metrics()
        .and_then(|t| support::family_sum(&t, "externalsecret_sync_calls_total"))
        .unwrap_or(0.0);
    let patch = r#"[{"op":"add","path":"/spec/data/-","value":{"secretKey":"two","remoteRef":{"key":"k2"}}}]"#;
    cluster.kubectl_ok(&[
        "patch",
        "externalsecret",
        "-n",
        &ns,
        "app",
        "--type=json",
        "-p",
        patch,
    ]);
    wait_for(Duration::from_secs(30), "the new key in the Secret", || {
        let s = cluster.get_json(&["secret", "-n", &ns, "app"])?;
        s["data"]["two"].as_str().map(|_| ())
    });
    // Proof op-b had the chance to write again: the reconcile of the change has finished (the
    // watch event of its own Secret write triggers none: the writer recorded that version).
    wait_for(
        Duration::from_secs(30),
        "the reconcile of the change",
        || {
            let text = b.metrics()?;
            (support::family_sum(&text, "externalsecret_sync_calls_total")?
                >= reconciles_before + 1.0)
                .then_some(())
        },
    );
    if let Some(writes) = secret_writes(&cluster, &ns) {
        assert_eq!(writes, 1, "one change, one Secret write");
    }

    let exit = b.terminate(Duration::from_secs(20));
    assert!(exit.success(), "SIGTERM exits 0: {exit:?}");
    assert_eq!(
        holder(&cluster, &ns, &lease),
        None,
        "the Lease is released on graceful shutdown"
    );
}
