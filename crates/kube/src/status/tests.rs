use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::test_util::external_secret;
use secretsync_model::external_secret::CreationPolicy;

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("timestamp")
}

fn with_ready(ready: bool, reason: &str, since: i64) -> ExternalSecret {
    let mut es = external_secret(CreationPolicy::Owner);
    es.status = Some(ExternalSecretStatus {
        refresh_time: Some(Time(ts(100))),
        synced_resource_version: Some("1-old".into()),
        conditions: vec![ExternalSecretCondition {
            type_: reasons::READY.into(),
            status: if ready {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            },
            reason: Some(reason.into()),
            message: Some("before".into()),
            last_transition_time: Some(Time(ts(since))),
        }],
        keys: vec![KeyOutcomeStatus {
            key: "k".into(),
            state: "Synced".into(),
            reason: None,
        }],
        ..Default::default()
    });
    es
}

#[test]
fn transitions_table() {
    // (current Ready, current reason, next readiness, lastTransitionTime expected)
    let cases = [
        ("first status", None, Readiness::synced("ok"), 500),
        (
            "same status and reason keeps the time",
            Some((true, reasons::SECRET_SYNCED)),
            Readiness::synced("new message"),
            10,
        ),
        (
            "True -> False",
            Some((true, reasons::SECRET_SYNCED)),
            Readiness::error("boom"),
            500,
        ),
        (
            "False -> True",
            Some((false, reasons::SECRET_SYNCED_ERROR)),
            Readiness::synced("ok"),
            500,
        ),
        (
            "False, same reason",
            Some((false, reasons::SECRET_SYNCED_ERROR)),
            Readiness::error("again"),
            10,
        ),
        (
            "True, reason changes",
            Some((true, reasons::SECRET_SYNCED)),
            Readiness {
                ready: true,
                reason: reasons::SECRET_MISSING,
                message: "m".into(),
            },
            500,
        ),
    ];
    for (name, current, readiness, expected) in cases {
        let es = match current {
            Some((ready, reason)) => with_ready(ready, reason, 10),
            None => external_secret(CreationPolicy::Owner),
        };
        let s = next_status(&es, &readiness, None, None, None, ts(500));
        let c = &s.conditions[0];
        assert_eq!(s.conditions.len(), 1, "{name}");
        assert_eq!(c.last_transition_time, Some(Time(ts(expected))), "{name}");
        assert_eq!(c.reason.as_deref(), Some(readiness.reason), "{name}");
        assert_eq!(
            c.message.as_deref(),
            Some(readiness.message.as_str()),
            "{name}"
        );
        assert_eq!(c.status == ConditionStatus::True, readiness.ready, "{name}");
        assert_eq!(s.observed_generation, Some(1), "{name}");
    }
}

#[test]
fn refresh_fields_and_keys_are_kept_unless_given() {
    let es = with_ready(true, reasons::SECRET_SYNCED, 10);
    let kept = next_status(&es, &Readiness::error("x"), None, None, None, ts(500));
    assert_eq!(kept.refresh_time, Some(Time(ts(100))));
    assert_eq!(kept.synced_resource_version.as_deref(), Some("1-old"));
    assert_eq!(kept.keys.len(), 1);
    let fresh = next_status(
        &es,
        &Readiness::synced("ok"),
        Some(ts(400)),
        Some("1-new".into()),
        Some(Vec::new()),
        ts(500),
    );
    assert_eq!(fresh.refresh_time, Some(Time(ts(400))));
    assert_eq!(fresh.synced_resource_version.as_deref(), Some("1-new"));
    assert!(fresh.keys.is_empty());
    assert!(ready_condition(&es).is_some());
    assert!(ready_condition(&external_secret(CreationPolicy::Owner)).is_none());
}
