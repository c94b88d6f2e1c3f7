use std::time::Duration;

use super::*;
use crate::writer::Conflict;

#[test]
fn refresh_decision_table() {
    use RefreshDecision::*;
    // (forced, due, cached, last sync succeeded) -> decision
    let cases = [
        ((true, false, true, true), Sync),
        ((false, true, true, true), Sync),
        ((false, true, false, false), Sync),
        ((false, false, true, true), RepairFromCache),
        ((false, false, true, false), RepairFromCache),
        ((false, false, false, true), SkipIfIntact),
        ((false, false, false, false), Sync),
    ];
    for ((forced, due, cached, last_sync_succeeded), expected) in cases {
        let facts = RefreshFacts {
            forced,
            due,
            cached,
            last_sync_succeeded,
        };
        assert_eq!(decide_refresh(facts), expected, "{facts:?}");
    }
}

#[test]
fn reads_fresh_since_table() {
    let due = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100));
    let seen = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(200));
    // (forced, first sync, periodic due, changed at) -> reads served since
    let cases = [
        // A store or credential change reads afresh, whatever else holds.
        ((true, true, None, seen), None),
        ((true, false, due, seen), None),
        // A first sync: since its spec was first seen; unknown sighting: afresh.
        ((false, true, None, seen), seen),
        ((false, true, None, None), None),
        // A periodic refresh: since it fell due, not since the (older) sighting.
        ((false, false, due, seen), due),
        // Neither (a missing target, another policy): afresh.
        ((false, false, None, seen), None),
    ];
    for ((forced, first_sync, periodic_due, changed_at), expected) in cases {
        let facts = FreshnessFacts {
            forced,
            first_sync,
            periodic_due,
            changed_at,
        };
        assert_eq!(reads_fresh_since(facts), expected, "{facts:?}");
    }
}

fn conflict(c: Conflict) -> WriteError {
    WriteError::Conflict {
        namespace: "ns".into(),
        name: "app".into(),
        conflict: c,
    }
}

#[test]
fn report_table() {
    let api = WriteError::Kube {
        namespace: "ns".into(),
        name: "app".into(),
        action: "apply",
        source: Box::new(kube::Error::Api(Box::new(kube::core::Status {
            code: 500,
            ..Default::default()
        }))),
    };
    let not_owned = conflict(Conflict::NotOwned);
    let immutable = conflict(Conflict::Immutable);
    let t = "ns/app";
    let fallbacks = ["spec.data[0] from SecretStore ns/backup".to_string()];
    // (step, ready, reason, message contains, event reason (warning?), next, wrote)
    type Case<'a> = (
        Step<'a>,
        bool,
        &'a str,
        &'a str,
        Option<(&'a str, bool)>,
        Next,
        bool,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            Step::Wrote {
                outcome: WriteOutcome::Created,
                target: t,
                fallbacks: &[],
            },
            true,
            "SecretSynced",
            "secret synced",
            Some(("Created", false)),
            Next::Refresh,
            true,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Updated,
                target: t,
                fallbacks: &[],
            },
            true,
            "SecretSynced",
            "secret synced",
            Some(("Updated", false)),
            Next::Refresh,
            true,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Unchanged,
                target: t,
                fallbacks: &[],
            },
            true,
            "SecretSynced",
            "secret synced",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Skipped,
                target: t,
                fallbacks: &[],
            },
            true,
            "SecretSynced",
            "secret synced",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Missing,
                target: t,
                fallbacks: &[],
            },
            true,
            "SecretMissing",
            "ns/app does not exist and creationPolicy is Merge",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Updated,
                target: t,
                fallbacks: &fallbacks,
            },
            true,
            "SecretSynced",
            "secret synced from the fallback store (primary store unavailable): spec.data[0] from SecretStore ns/backup",
            Some(("Updated", false)),
            Next::Refresh,
            true,
        ),
        (
            Step::Wrote {
                outcome: WriteOutcome::Missing,
                target: t,
                fallbacks: &fallbacks,
            },
            true,
            "SecretMissing",
            "ns/app does not exist and creationPolicy is Merge",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::Deleted {
                outcome: WriteOutcome::Deleted,
                target: t,
            },
            false,
            "SecretDeleted",
            "deletionPolicy Delete",
            Some(("Deleted", false)),
            Next::Refresh,
            true,
        ),
        (
            Step::Deleted {
                outcome: WriteOutcome::Skipped,
                target: t,
            },
            false,
            "SecretDeleted",
            "deletionPolicy Delete",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::Retained,
            true,
            "SecretSynced",
            "retained (deletionPolicy Retain)",
            None,
            Next::Refresh,
            false,
        ),
        (
            Step::FetchFailed {
                message: "store x: unavailable".into(),
                retry_after: Some(Duration::from_secs(9)),
            },
            false,
            "SecretSyncedError",
            "unavailable",
            Some(("UpdateFailed", true)),
            Next::Backoff {
                retry_after: Some(Duration::from_secs(9)),
            },
            false,
        ),
        (
            Step::WriteFailed(&api),
            false,
            "SecretSyncedError",
            "API error Failure (500)",
            Some(("UpdateFailed", true)),
            Next::Backoff { retry_after: None },
            false,
        ),
        (
            Step::WriteFailed(&not_owned),
            false,
            "SecretSyncedError",
            "conflict: Secret ns/app already exists and is not owned by this ExternalSecret",
            Some(("UpdateFailed", true)),
            Next::AwaitChange,
            false,
        ),
        (
            Step::WriteFailed(&immutable),
            false,
            "SecretSyncedError",
            "immutable",
            Some(("UpdateFailed", true)),
            Next::AwaitChange,
            false,
        ),
        (
            Step::Aborted {
                message: "deadline".into(),
            },
            false,
            "SecretSyncedError",
            "deadline",
            Some(("UpdateFailed", true)),
            Next::Backoff { retry_after: None },
            false,
        ),
    ];
    for (step, ready, reason, message, event, next, wrote) in cases {
        let r = report(&step);
        assert_eq!(r.readiness.ready, ready, "{step:?}");
        assert_eq!(r.readiness.reason, reason, "{step:?}");
        assert!(
            r.readiness.message.contains(message),
            "{step:?}: {}",
            r.readiness.message
        );
        assert_eq!(
            r.event.as_ref().map(|e| (e.reason, e.warning)),
            event,
            "{step:?}"
        );
        assert_eq!(r.next, next, "{step:?}");
        assert_eq!(r.wrote, wrote, "{step:?}");
    }
}
