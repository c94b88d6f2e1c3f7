use super::*;
use secretsync_model::external_secret::{SyncWindow, SyncWindowKind, SyncWindows};

const HOUR: Duration = Duration::from_secs(3600);

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// Synced at t(1000) as "1-abc", interval 1 h, now t(2000).
fn base(policy: RefreshPolicy) -> RefreshInputs {
    RefreshInputs {
        policy,
        interval: HOUR,
        synced_resource_version: Some("1-abc".into()),
        current_resource_version: "1-abc".into(),
        refresh_time: Some(t(1000)),
        now: t(2000),
        lead: Duration::ZERO,
        settle: Duration::ZERO,
        windows: SyncWindowPolicy::unconstrained(),
    }
}

fn deny_always() -> SyncWindowPolicy {
    SyncWindowPolicy::parse(&SyncWindows {
        kind: SyncWindowKind::Deny,
        windows: vec![SyncWindow {
            schedule: "@every 1m".into(),
            duration: "2m".into(),
        }],
    })
    .expect("valid windows")
}

#[test]
fn should_refresh_table() {
    use RefreshPolicy::*;
    type Edit = fn(&mut RefreshInputs);
    let cases: &[(&str, RefreshPolicy, Edit, bool)] = &[
        ("periodic, synced, not yet due", Periodic, |_| {}, false),
        (
            "periodic, never synced",
            Periodic,
            |i| i.synced_resource_version = None,
            true,
        ),
        (
            "periodic, spec changed",
            Periodic,
            |i| i.current_resource_version = "2-def".into(),
            true,
        ),
        (
            "periodic, no refreshTime",
            Periodic,
            |i| i.refresh_time = None,
            true,
        ),
        (
            "periodic, refreshTime in the future",
            Periodic,
            |i| i.refresh_time = Some(t(3000)),
            true,
        ),
        (
            "periodic, exactly at the interval (ESO: not Before)",
            Periodic,
            |i| i.now = t(1000 + 3600),
            false,
        ),
        (
            "periodic, one second past the interval",
            Periodic,
            |i| i.now = t(1000 + 3601),
            true,
        ),
        (
            "periodic, inside the lead",
            Periodic,
            |i| {
                i.lead = Duration::from_secs(60);
                i.now = t(1000 + 3541);
            },
            true,
        ),
        (
            "periodic, before the lead",
            Periodic,
            |i| {
                i.lead = Duration::from_secs(60);
                i.now = t(1000 + 3539);
            },
            false,
        ),
        (
            "periodic, due but a deny window is open",
            Periodic,
            |i| {
                i.now = t(1000 + 3601);
                i.windows = deny_always();
            },
            false,
        ),
        (
            "periodic, spec changed inside a deny window",
            Periodic,
            |i| {
                i.current_resource_version = "2-def".into();
                i.windows = deny_always();
            },
            true,
        ),
        (
            "interval 0, synced: never, even after a spec change",
            Periodic,
            |i| {
                i.interval = Duration::ZERO;
                i.current_resource_version = "2-def".into();
                i.now = t(99_999);
            },
            false,
        ),
        (
            "interval 0, never synced",
            Periodic,
            |i| {
                i.interval = Duration::ZERO;
                i.synced_resource_version = None;
            },
            true,
        ),
        (
            "created once, synced",
            CreatedOnce,
            |i| {
                i.current_resource_version = "2-def".into();
                i.now = t(99_999);
            },
            false,
        ),
        (
            "created once, never synced",
            CreatedOnce,
            |i| i.synced_resource_version = None,
            true,
        ),
        (
            "created once, no refreshTime",
            CreatedOnce,
            |i| i.refresh_time = None,
            true,
        ),
        (
            "on change, unchanged and long past the interval",
            OnChange,
            |i| i.now = t(99_999),
            false,
        ),
        (
            "on change, changed",
            OnChange,
            |i| i.current_resource_version = "2-def".into(),
            true,
        ),
        (
            "on change, never synced",
            OnChange,
            |i| i.synced_resource_version = None,
            true,
        ),
        (
            "on change, no refreshTime",
            OnChange,
            |i| i.refresh_time = None,
            true,
        ),
    ];
    for (name, policy, edit, expected) in cases {
        let mut i = base(*policy);
        edit(&mut i);
        assert_eq!(should_refresh(&i), *expected, "{name}");
    }
}

#[test]
fn next_refresh_table() {
    use RefreshPolicy::*;
    type Edit = fn(&mut RefreshInputs);
    let cases: &[(&str, RefreshPolicy, Edit, Option<u64>)] = &[
        (
            "periodic: the rest of the interval",
            Periodic,
            |_| {},
            Some(3600 - 1000),
        ),
        (
            "periodic, less the lead",
            Periodic,
            |i| i.lead = Duration::from_secs(100),
            Some(3600 - 100 - 1000),
        ),
        (
            "periodic, less the lead, plus the settle",
            Periodic,
            |i| {
                i.lead = Duration::from_secs(100);
                i.settle = Duration::from_secs(40);
            },
            Some(3600 - 100 + 40 - 1000),
        ),
        (
            "periodic, due, inside the settle: the rest of the settle",
            Periodic,
            |i| {
                i.settle = Duration::from_secs(40);
                i.now = t(1000 + 3600 + 15);
            },
            Some(25),
        ),
        (
            "periodic, overdue past the settle: now",
            Periodic,
            |i| {
                i.settle = Duration::from_secs(40);
                i.now = t(9000);
            },
            Some(0),
        ),
        (
            "periodic, overdue: now",
            Periodic,
            |i| i.now = t(9000),
            Some(0),
        ),
        (
            "periodic, no refreshTime: a whole interval",
            Periodic,
            |i| i.refresh_time = None,
            Some(3600),
        ),
        (
            "interval 0",
            Periodic,
            |i| i.interval = Duration::ZERO,
            None,
        ),
        ("created once", CreatedOnce, |_| {}, None),
        ("on change", OnChange, |_| {}, None),
    ];
    for (name, policy, edit, expected) in cases {
        let mut i = base(*policy);
        edit(&mut i);
        assert_eq!(
            next_refresh_in(&i),
            expected.map(Duration::from_secs),
            "{name}"
        );
    }
}

#[test]
fn next_refresh_waits_for_an_allow_window() {
    let mut i = base(RefreshPolicy::Periodic);
    // Allow only during the first 10 minutes of every day (UTC): t(2000) is inside day 0's
    // window; the refresh due at t(4600) must wait for day 1.
    i.windows = SyncWindowPolicy::parse(&SyncWindows {
        kind: SyncWindowKind::Allow,
        windows: vec![SyncWindow {
            schedule: "@daily".into(),
            duration: "10m".into(),
        }],
    })
    .expect("valid windows");
    assert_eq!(
        next_refresh_in(&i),
        Some(Duration::from_secs(86_400 - 2000))
    );
}

#[test]
fn lead_is_deterministic_bounded_and_spread() {
    let a = refresh_lead("ns/a", HOUR, 0.1);
    assert_eq!(a, refresh_lead("ns/a", HOUR, 0.1));
    assert!(a <= HOUR.mul_f64(0.1));
    assert_eq!(refresh_lead("ns/a", HOUR, 0.0), Duration::ZERO);
    assert_eq!(refresh_lead("ns/a", Duration::ZERO, 0.1), Duration::ZERO);
    assert!(
        refresh_lead("ns/a", HOUR, 9.0) <= HOUR / 2,
        "jitter clamped to 0.5"
    );
    let leads: Vec<Duration> = (0..1000)
        .map(|n| refresh_lead(&format!("ns/es-{n}"), HOUR, 0.1))
        .collect();
    // Ten buckets of 36 s over the 6-minute window: each holds roughly a tenth.
    for bucket in 0..10u32 {
        let lo = Duration::from_secs(36) * bucket;
        let count = leads
            .iter()
            .filter(|l| **l >= lo && **l < lo + Duration::from_secs(36))
            .count();
        assert!(
            (60..=140).contains(&count),
            "bucket {bucket}: {count} of 1000"
        );
    }
}

#[test]
fn secret_validity_table() {
    let ok = ObservedSecret {
        managed_label: true,
        data_hash_annotation: Some("h".into()),
        actual_data_hash: "h".into(),
    };
    let cases: &[(&str, CreationPolicy, Option<ObservedSecret>, bool)] = &[
        ("intact", CreationPolicy::Owner, Some(ok.clone()), true),
        ("missing", CreationPolicy::Owner, None, false),
        ("orphan, missing", CreationPolicy::Orphan, None, true),
        (
            "data edited",
            CreationPolicy::Owner,
            Some(ObservedSecret {
                actual_data_hash: "other".into(),
                ..ok.clone()
            }),
            false,
        ),
        (
            "no managed label",
            CreationPolicy::Merge,
            Some(ObservedSecret {
                managed_label: false,
                ..ok.clone()
            }),
            false,
        ),
        (
            "no data-hash",
            CreationPolicy::Owner,
            Some(ObservedSecret {
                data_hash_annotation: None,
                ..ok.clone()
            }),
            false,
        ),
        (
            "empty data-hash",
            CreationPolicy::Owner,
            Some(ObservedSecret {
                data_hash_annotation: Some(String::new()),
                actual_data_hash: String::new(),
                ..ok.clone()
            }),
            false,
        ),
    ];
    for (name, policy, target, expected) in cases {
        assert_eq!(
            is_secret_valid(*policy, target.as_ref()),
            *expected,
            "{name}"
        );
    }
    let not_due = base(RefreshPolicy::Periodic);
    assert!(!needs_sync(&not_due, CreationPolicy::Owner, Some(&ok)));
    assert!(needs_sync(&not_due, CreationPolicy::Owner, None));
}

#[test]
fn backoff_doubles_up_to_the_ceiling_or_the_retry_after() {
    let b = Backoff::default();
    let s = Duration::from_secs;
    for (failures, retry_after, expected) in [
        (0, None, s(1)),
        (1, None, s(1)),
        (2, None, s(2)),
        (4, None, s(8)),
        (9, None, s(256)),
        (10, None, s(420)),
        (u32::MAX, None, s(420)),
        (1, Some(s(30)), s(30)),
        (4, Some(s(3)), s(8)),
    ] {
        assert_eq!(
            b.delay(failures, retry_after),
            expected,
            "{failures} {retry_after:?}"
        );
    }
}

#[test]
fn inputs_of_an_external_secret() {
    let es: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "a", "namespace": "ns", "generation": 2, "labels": {"k": "v"}},
        "spec": {"refreshInterval": "15m", "refreshPolicy": "OnChange"},
        "status": {"syncedResourceVersion": "", "refreshTime": "2026-01-01T00:00:00Z"}
    }))
    .expect("ExternalSecret");
    let i = RefreshInputs::of(&es, t(5), Duration::ZERO);
    assert_eq!(i.policy, RefreshPolicy::OnChange);
    assert_eq!(i.interval, Duration::from_secs(900));
    assert_eq!(
        i.synced_resource_version, None,
        "empty counts as never synced"
    );
    assert!(i.current_resource_version.starts_with("2-"));
    assert_eq!(i.refresh_time, Some(t(1_767_225_600)));
    let mut bad = es.clone();
    bad.spec.refresh_interval = Some("soon".into());
    assert_eq!(refresh_interval(&bad), Duration::ZERO);
}

#[test]
fn periodic_due_at_table() {
    use RefreshPolicy::*;
    type Edit = fn(&mut RefreshInputs);
    // base: synced at t(1000), interval 1 h, unchanged
    let cases: &[(&str, RefreshPolicy, Edit, Option<u64>)] = &[
        ("not yet due", Periodic, |_| {}, None),
        (
            "due: refreshTime + interval",
            Periodic,
            |i| i.now = t(1000 + 3700),
            Some(1000 + 3600),
        ),
        (
            "due inside the lead: refreshTime + interval − lead",
            Periodic,
            |i| {
                i.lead = Duration::from_secs(60);
                i.now = t(1000 + 3550);
            },
            Some(1000 + 3540),
        ),
        (
            "run late by its settle: still due at its group's instant",
            Periodic,
            |i| {
                i.lead = Duration::from_secs(60);
                i.settle = Duration::from_secs(90);
                i.now = t(1000 + 3540 + 90);
            },
            Some(1000 + 3540),
        ),
        (
            "spec changed: a first sync reads afresh",
            Periodic,
            |i| {
                i.now = t(1000 + 3700);
                i.current_resource_version = "2-def".into();
            },
            None,
        ),
        (
            "never synced",
            Periodic,
            |i| {
                i.now = t(1000 + 3700);
                i.synced_resource_version = None;
            },
            None,
        ),
        (
            "no refreshTime",
            Periodic,
            |i| {
                i.now = t(1000 + 3700);
                i.refresh_time = None;
            },
            None,
        ),
        (
            "refreshTime in the future",
            Periodic,
            |i| i.refresh_time = Some(t(3000)),
            None,
        ),
        (
            "due but a deny window is open: no refresh",
            Periodic,
            |i| {
                i.now = t(1000 + 3700);
                i.windows = deny_always();
            },
            None,
        ),
        (
            "interval 0",
            Periodic,
            |i| {
                i.interval = Duration::ZERO;
                i.now = t(1000 + 3700);
            },
            None,
        ),
        ("OnChange", OnChange, |i| i.now = t(1000 + 3700), None),
        ("CreatedOnce", CreatedOnce, |i| i.now = t(1000 + 3700), None),
    ];
    for (name, policy, edit, expected) in cases {
        let mut inputs = base(*policy);
        edit(&mut inputs);
        assert_eq!(periodic_due_at(&inputs), expected.map(t), "{name}");
    }
}
