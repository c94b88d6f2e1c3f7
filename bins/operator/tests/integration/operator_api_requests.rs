//! Kubernetes API requests per ExternalSecret, by verb and resource, counted at the API double:
//! per first sync (all ExternalSecrets exist before the operator starts) and per periodic
//! refresh whose value did not change. Issue #20's budget is asserted: ≤ 3 per first sync and
//! ≤ 1 per unchanged refresh, counting the requests made for objects (the LIST and WATCH that
//! start each of the operator's watches are made once per process, not per object, and are
//! bounded separately: no LIST per object).
//!
//! Windows, each closed by a positive event: A = from the start until every ExternalSecret has
//! refreshed once (the first sync, the reconciles its own Secret writes trigger, one refresh);
//! B = until every one has refreshed once more (exactly one unchanged refresh each: the first
//! sync and the first refreshes spread over less than the interval). Per first sync = A − B.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use secretsync_testkit::kube_api::count_by_kind;
use support::{Cluster, Operator, wait_for};

/// Requests of the first-sync window made once per operator start or per store, not per
/// ExternalSecret: the drift key Secret (GET, POST) and the ClusterSecretStore's status.
const STARTUP_REQUESTS: f64 = 3.0;
/// LISTs in the first-sync window, whatever N: one per watch of the operator (and a relist).
/// The PushSecret and ClusterPushSecret controllers add five watches (PushSecrets twice,
/// ClusterPushSecrets, Namespaces, Secret metadata).
const MAX_LISTS: f64 = 21.0;
/// Issue #20: requests per first sync.
const FIRST_SYNC_BUDGET: f64 = 3.0;
/// Issue #20: requests per refresh whose value did not change.
const REFRESH_BUDGET: f64 = 1.0;

const N: usize = 100;
const KEYS: usize = 10;
/// Long against the first sync of N (a few seconds), so no ExternalSecret refreshes twice
/// before every one refreshed once.
const REFRESH: Duration = Duration::from_secs(15);

/// `(Ready=True, status.refreshTime)` of every ExternalSecret in `ns`.
fn readiness(cluster: &Cluster, ns: &str) -> Vec<(bool, Option<String>)> {
    let list = cluster.get_json(&["externalsecrets", "-n", ns]).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|es| {
            let ready = es["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let time = es["status"]["refreshTime"].as_str().map(str::to_string);
            (ready, time)
        })
        .collect()
}

/// Waits until every ExternalSecret of `ns` is Ready with a `refreshTime` other than the one
/// in `before` (`None`: any); returns the new readiness.
fn refreshed(
    cluster: &Cluster,
    ns: &str,
    before: Option<&[(bool, Option<String>)]>,
    what: &str,
) -> Vec<(bool, Option<String>)> {
    wait_for(REFRESH * 3, what, || {
        let now = readiness(cluster, ns);
        let moved = |i: usize, time: &Option<String>| match before {
            Some(b) => b.get(i).is_some_and(|(_, t)| t != time),
            None => true,
        };
        (now.len() == N
            && now
                .iter()
                .enumerate()
                .all(|(i, (ready, time))| *ready && time.is_some() && moved(i, time)))
        .then_some(now)
    })
}

/// The operator's requests (not kubectl's) in `log[from..to]`, per object.
fn per_object(cluster: &Cluster, from: usize, to: usize) -> BTreeMap<String, f64> {
    let log = cluster.double.as_ref().unwrap().request_log();
    let counts = count_by_kind(
        log[from..to]
            .iter()
            .filter(|r| !r.user_agent.starts_with("kubectl")),
    );
    counts
        .into_iter()
        .map(|(k, v)| (k, v as f64 / N as f64))
        .collect()
}

fn total(figures: &BTreeMap<String, f64>) -> f64 {
    figures.values().fold(0.0, |a, b| a + b)
}

/// Requests made for objects: all but the LIST/WATCH starting the operator's watches.
fn per_object_total(figures: &BTreeMap<String, f64>) -> f64 {
    figures
        .iter()
        .filter(|(k, _)| !k.starts_with("LIST ") && !k.starts_with("WATCH "))
        .fold(0.0, |a, (_, v)| a + v)
}

fn lists(figures: &BTreeMap<String, f64>) -> f64 {
    figures
        .iter()
        .filter(|(k, _)| k.starts_with("LIST "))
        .fold(0.0, |a, (_, v)| a + v)
}

fn print(title: &str, figures: &BTreeMap<String, f64>) {
    eprintln!(
        "{title}: {:.2} requests per ExternalSecret ({:.2} for the object, {:.2} LIST)",
        total(figures),
        per_object_total(figures),
        lists(figures)
    );
    for (kind, v) in figures {
        eprintln!("  {kind:<40} {v:.3}");
    }
}

#[test]
fn api_requests_per_first_sync_and_unchanged_refresh_are_counted_by_verb_and_resource() {
    let mut cluster = Cluster::start();
    if !cluster.is_double() {
        eprintln!(
            "request counts are taken at the API double only; nothing to do on a real cluster"
        );
        return;
    }
    let ns = cluster.namespace("requests");
    let data: String = (0..KEYS)
        .map(|k| format!("{{key: k{k}, value: v{k}}}, "))
        .collect();
    cluster.apply(&format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {{name: fake}}\n\
         spec: {{provider: {{fake: {{data: [{data}]}}}}}}\n"
    ));
    let external_secrets: String = (0..N)
        .map(|i| {
            format!(
                "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\n\
                 metadata: {{name: es-{i}, namespace: {ns}}}\n\
                 spec: {{refreshInterval: {}s, secretStoreRef: {{name: fake, kind: ClusterSecretStore}},\n\
                 \x20 target: {{name: es-{i}}}, data: [{{secretKey: value, remoteRef: {{key: k{}}}}}]}}\n",
                REFRESH.as_secs(),
                i % KEYS
            )
        })
        .collect();
    cluster.apply(&external_secrets);
    let double = cluster.double.as_ref().unwrap();
    let started = double.request_log().len();
    let _operator = Operator::start(
        &cluster,
        &[
            format!("--operator-namespace={ns}"),
            "--concurrency=8".into(),
            "--kube-api-qps=1000".into(),
            "--kube-api-burst=1000".into(),
            // The windows below assume no refresh within one interval of the first sync.
            // Aligned refreshes (the default) put an object's first refresh anywhere in that
            // interval (its read group's grid point), which these windows cannot tell apart
            // from the first sync; the scale harness measures them at the defaults.
            "--align-refreshes=false".into(),
        ],
    );

    let t0 = std::time::Instant::now();
    let synced = refreshed(&cluster, &ns, None, "all ExternalSecrets Ready");
    let first_sync_took = t0.elapsed();
    assert!(
        first_sync_took < REFRESH / 2,
        "the first sync took {first_sync_took:?}: too slow for a {REFRESH:?} refresh interval"
    );
    let once = refreshed(
        &cluster,
        &ns,
        Some(&synced),
        "every ExternalSecret refreshed once",
    );
    let a = double.request_log().len();
    refreshed(
        &cluster,
        &ns,
        Some(&once),
        "every ExternalSecret refreshed twice",
    );
    let b = double.request_log().len();

    let refresh = per_object(&cluster, a, b);
    let first_sync: BTreeMap<String, f64> = per_object(&cluster, started, a)
        .into_iter()
        .map(|(kind, v)| {
            let minus = refresh.get(&kind).copied().unwrap_or(0.0);
            (kind, (v - minus).max(0.0))
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    eprintln!("first sync of {N} took {first_sync_took:?}");
    print("first sync", &first_sync);
    print("unchanged refresh", &refresh);

    // What holds at any budget: every target written once (created by POST when the cache
    // shows it absent, else by server-side apply), every status written at least once per
    // sync, and the refresh wrote no Secret.
    let secret_writes = |f: &BTreeMap<String, f64>| {
        f.get("APPLY secrets").copied().unwrap_or(0.0)
            + f.get("POST secrets").copied().unwrap_or(0.0)
    };
    assert!(secret_writes(&first_sync) >= 1.0, "{first_sync:?}");
    assert!(
        first_sync
            .get("PATCH externalsecrets/status")
            .copied()
            .unwrap_or(0.0)
            >= 1.0,
        "{first_sync:?}"
    );
    assert!(
        refresh
            .get("PATCH externalsecrets/status")
            .copied()
            .unwrap_or(0.0)
            >= 1.0,
        "{refresh:?}"
    );
    assert_eq!(secret_writes(&refresh), 0.0, "{refresh:?}");

    // Issue #20's budget.
    assert!(
        (per_object_total(&first_sync) * N as f64).round()
            <= FIRST_SYNC_BUDGET * N as f64 + STARTUP_REQUESTS,
        "{first_sync:?}"
    );
    assert!(
        lists(&first_sync) * N as f64 <= MAX_LISTS,
        "LISTs grow with the objects: {first_sync:?}"
    );
    assert!(total(&refresh) <= REFRESH_BUDGET, "{refresh:?}");
    assert_eq!(lists(&refresh), 0.0, "{refresh:?}");
}
