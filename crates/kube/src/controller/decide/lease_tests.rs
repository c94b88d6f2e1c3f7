use std::collections::BTreeMap;

use super::*;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("valid")
}

/// A lease issued at t=0 for 3 s (renewable unless said otherwise).
fn lease() -> LeaseState {
    LeaseState::issued("database/creds/app/1".into(), 3, true, at(0))
}

#[test]
fn decisions_follow_the_lease_and_the_clock() {
    let settings = LeaseSettings::default();
    let renewed = lease().renewed(3, at(2_000));
    let capped = renewed.renewed(2, at(4_000));
    let not_renewable = LeaseState {
        renewable: false,
        ..lease()
    };
    let cert = LeaseState::certificate("1a".into(), at(9_000), at(0));
    struct Case {
        name: &'static str,
        lease: LeaseState,
        held: Held,
        now: i64,
        want: LeaseAction,
    }
    let cases = [
        Case {
            name: "fresh lease: keep until 2/3 of its period",
            lease: lease(),
            held: Held::Current,
            now: 500,
            want: LeaseAction::Keep { until: at(2_000) },
        },
        Case {
            name: "renewal point reached: renew",
            lease: lease(),
            held: Held::Current,
            now: 2_000,
            want: LeaseAction::Renew,
        },
        Case {
            name: "renewed: the next point is 2/3 into the new period",
            lease: renewed.clone(),
            held: Held::Current,
            now: 3_000,
            want: LeaseAction::Keep { until: at(4_000) },
        },
        Case {
            name: "renewed again: renew",
            lease: renewed,
            held: Held::Current,
            now: 4_100,
            want: LeaseAction::Renew,
        },
        Case {
            name: "max TTL known (short grant): keep until the point",
            lease: capped.clone(),
            held: Held::Current,
            now: 4_500,
            want: LeaseAction::Keep {
                until: at(4_000 + 1_333),
            },
        },
        Case {
            name: "max TTL known: re-issue at the point instead of renewing",
            lease: capped,
            held: Held::Current,
            now: 5_400,
            want: LeaseAction::Reissue,
        },
        Case {
            name: "not renewable: re-issue at the point",
            lease: not_renewable,
            held: Held::Current,
            now: 2_000,
            want: LeaseAction::Reissue,
        },
        Case {
            name: "expired (operator was down): re-issue",
            lease: lease(),
            held: Held::Current,
            now: 3_000,
            want: LeaseAction::Reissue,
        },
        Case {
            name: "certificate: keep until 1/3 of its lifetime is left",
            lease: cert.clone(),
            held: Held::Current,
            now: 1_000,
            want: LeaseAction::Keep { until: at(6_000) },
        },
        Case {
            name: "certificate: re-issue (never renewed)",
            lease: cert.clone(),
            held: Held::Current,
            now: 6_000,
            want: LeaseAction::Reissue,
        },
        Case {
            name: "superseded: keep until the grace period ends",
            lease: lease(),
            held: Held::Superseded {
                revoke_at: at(1_000),
            },
            now: 500,
            want: LeaseAction::Keep { until: at(1_000) },
        },
        Case {
            name: "superseded, expiring within the grace period: wake at expiry",
            lease: lease(),
            held: Held::Superseded {
                revoke_at: at(9_000),
            },
            now: 500,
            want: LeaseAction::Keep { until: at(3_000) },
        },
        Case {
            name: "superseded, grace over: revoke",
            lease: lease(),
            held: Held::Superseded {
                revoke_at: at(1_000),
            },
            now: 1_000,
            want: LeaseAction::RevokeSuperseded,
        },
        Case {
            name: "superseded and expired: forget without a call",
            lease: lease(),
            held: Held::Superseded {
                revoke_at: at(1_000),
            },
            now: 3_000,
            want: LeaseAction::Forget,
        },
        Case {
            name: "superseded certificate: nothing to revoke",
            lease: cert,
            held: Held::Superseded {
                revoke_at: at(1_000),
            },
            now: 0,
            want: LeaseAction::Forget,
        },
    ];
    for case in cases {
        assert_eq!(
            decide_lease(&case.lease, case.held, &settings, at(case.now)),
            case.want,
            "{}",
            case.name
        );
    }
}

#[test]
fn fractions_move_the_points() {
    let settings = LeaseSettings {
        renew_fraction: 0.5,
        reissue_before_fraction: 0.5,
        ..Default::default()
    };
    assert_eq!(
        decide_lease(&lease(), Held::Current, &settings, at(0)),
        LeaseAction::Keep { until: at(1_500) }
    );
    let cert = LeaseState::certificate("1a".into(), at(9_000), at(0));
    assert_eq!(
        decide_lease(&cert, Held::Current, &settings, at(0)),
        LeaseAction::Keep { until: at(4_500) }
    );
}

#[test]
fn plans_combine_the_states_of_one_external_secret() {
    let settings = LeaseSettings::default();
    let later = LeaseState::issued("l/2".into(), 30, true, at(0));
    assert_eq!(
        plan_current(&[lease(), later.clone()], &settings, at(100)),
        LeasePlan::Keep { until: at(2_000) }
    );
    assert_eq!(
        plan_current(&[later.clone(), lease()], &settings, at(2_000)),
        LeasePlan::Renew(vec![1])
    );
    let not_renewable = LeaseState {
        renewable: false,
        ..lease()
    };
    assert_eq!(
        plan_current(&[later, not_renewable], &settings, at(2_000)),
        LeasePlan::Reissue
    );
    assert_eq!(
        plan_current(&[], &settings, at(0)),
        LeasePlan::Keep {
            until: Timestamp::MAX
        }
    );
}

#[test]
fn annotations_are_validated_with_clear_errors() {
    let of = |pairs: &[(&str, &str)]| {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        settings_of(&map)
    };
    assert_eq!(of(&[]), Ok(LeaseSettings::default()));
    let s = of(&[
        (RENEW_FRACTION_ANNOTATION, "0.5"),
        (REISSUE_BEFORE_ANNOTATION, " 0.25 "),
        (REVOKE_GRACE_ANNOTATION, "1s"),
    ])
    .expect("valid");
    assert_eq!(
        s,
        LeaseSettings {
            renew_fraction: 0.5,
            reissue_before_fraction: 0.25,
            revoke_grace: Duration::from_secs(1)
        }
    );
    for (key, value) in [
        (RENEW_FRACTION_ANNOTATION, "1"),
        (RENEW_FRACTION_ANNOTATION, "0"),
        (RENEW_FRACTION_ANNOTATION, "two thirds"),
        (RENEW_FRACTION_ANNOTATION, "NaN"),
        (REISSUE_BEFORE_ANNOTATION, "-0.1"),
        (REVOKE_GRACE_ANNOTATION, "soon"),
    ] {
        let err = of(&[(key, value)]).expect_err(value);
        assert!(err.contains(key), "{err}");
        assert!(err.contains("expected"), "{err}");
    }
}
