use super::*;

fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["secretsync-operator"];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv).expect("flags parse")
}

fn error(extra: &[&str]) -> String {
    format!(
        "{:#}",
        args(extra).validate().expect_err("validation must fail")
    )
}

#[test]
fn defaults_validate() {
    let s = args(&[]).validate().expect("defaults are valid");
    assert!(s.leader.is_none());
    assert_eq!(s.metrics_addr.port(), 8080);
    assert_eq!(s.controllers.concurrency, 24);
    assert!(s.controllers.flood_gate, "ESO's default: flood gate on");
    assert_eq!(s.controllers.reconcile_timeout, Duration::from_secs(120));
    assert_eq!(s.controllers.render_cache_capacity, 1_000);
    assert_eq!(s.memory_release_interval, Duration::from_secs(60));
    for (flag, every) in [("0", Duration::ZERO), ("2m", Duration::from_secs(120))] {
        let set = args(&[&format!("--memory-release-interval={flag}")])
            .validate()
            .expect("valid");
        assert_eq!(set.memory_release_interval, every, "{flag}");
    }
    assert!(error(&["--memory-release-interval=-1s"]).contains("memory-release-interval"));
    let tuned = args(&["--reconcile-timeout=30s", "--render-cache-size=50"])
        .validate()
        .expect("valid");
    assert_eq!(tuned.controllers.reconcile_timeout, Duration::from_secs(30));
    assert_eq!(tuned.controllers.render_cache_capacity, 50);
    assert!(error(&["--reconcile-timeout=0s"]).contains("--reconcile-timeout"));
    assert!(error(&["--render-cache-size=0"]).contains("--render-cache-size"));
}

#[test]
fn provider_flags_default_to_the_safe_side() {
    let s = args(&[]).validate().expect("defaults");
    assert_eq!(
        s.providers.ambient_identity,
        AmbientIdentity::ClusterStoresOnly,
        "SecretStores may not use the operator's identity unless allowed"
    );
    assert_eq!(s.providers.limits, ReadLimits::default());
    let s = args(&[
        "--allow-operator-identity-in-secret-stores",
        "--provider-max-response-bytes=1024",
        "--provider-max-find-results=10",
        "--provider-request-timeout=5s",
    ])
    .validate()
    .expect("valid");
    assert_eq!(s.providers.ambient_identity, AmbientIdentity::AnyStore);
    let options = s.providers.apply(ProviderOptions::default());
    assert_eq!(options.limits.max_response_bytes, 1024);
    assert_eq!(options.limits.max_find_results, 10);
    assert_eq!(options.vault.request_timeout, Duration::from_secs(5));
    assert_eq!(options.azure.request_timeout, Duration::from_secs(5));
    assert!(error(&["--provider-max-list-pages=0"]).contains("--provider-max-list-pages"));
}

#[test]
fn flood_gate_flag_takes_eso_syntax() {
    let off = args(&["--enable-flood-gate=false"])
        .validate()
        .expect("valid");
    assert!(!off.controllers.flood_gate);
    let on = args(&["--enable-flood-gate"]).validate().expect("valid");
    assert!(on.controllers.flood_gate);
}

#[test]
fn renew_deadline_must_be_shorter_than_lease_duration() {
    let e = error(&[
        "--leader-election-lease-duration=10s",
        "--leader-election-renew-deadline=10s",
    ]);
    assert!(e.contains("--leader-election-renew-deadline"), "{e}");
    assert!(
        e.contains("must be shorter than --leader-election-lease-duration"),
        "{e}"
    );
}

#[test]
fn unparsable_address_names_the_flag() {
    let e = error(&["--metrics-addr=localhost"]);
    assert!(
        e.contains("--metrics-addr") && e.contains("\"localhost\""),
        "{e}"
    );
}

#[test]
fn bad_durations_and_numbers_are_rejected() {
    assert!(error(&["--leader-election-retry-period=2 parsecs"]).contains("unknown unit"));
    assert!(error(&["--leader-election-lease-duration=0s"]).contains("greater than zero"));
    assert!(error(&["--concurrency=0"]).contains("--concurrency"));
    assert!(error(&["--refresh-jitter=0.9"]).contains("--refresh-jitter"));
    assert!(error(&["--kube-api-qps=0"]).contains("--kube-api-qps"));
}

#[test]
fn durations_parse() -> anyhow::Result<()> {
    assert_eq!(parse_duration("x", "500ms")?, Duration::from_millis(500));
    assert_eq!(parse_duration("x", "2m")?, Duration::from_secs(120));
    assert_eq!(parse_duration("x", "7")?, Duration::from_secs(7));
    Ok(())
}

#[test]
fn cluster_kinds_only_without_a_namespace_scope() {
    for (namespace, no_cluster, expected) in [
        (None, false, true),
        (None, true, false),
        (Some("apps"), false, false),
        (Some("apps"), true, false),
    ] {
        assert_eq!(
            cluster_resources(namespace, no_cluster),
            expected,
            "{namespace:?} {no_cluster}"
        );
    }
    let scoped = args(&["--namespace=apps"]).validate().expect("valid");
    assert!(!scoped.controllers.cluster_stores && !scoped.controllers.cluster_external_secrets);
}

#[test]
fn lease_names_differ_per_class_and_scope() {
    let plain = default_lease_name(None, None);
    let class = default_lease_name(Some("team-a"), None);
    let scoped = default_lease_name(None, Some("secretsync-system"));
    assert_eq!(scoped, "secretsync-operator-secretsync-system");
    assert!(plain != class && class != scoped && plain != scoped);
    let s = args(&[
        "--leader-elect",
        "--controller-class=team-a",
        "--namespace=apps",
    ])
    .validate()
    .expect("valid");
    let leader = s.leader.expect("leader election on");
    assert_eq!(leader.lease_name, "secretsync-operator-team-a-apps");
    assert_eq!(leader.namespace, "secretsync-system");
}
