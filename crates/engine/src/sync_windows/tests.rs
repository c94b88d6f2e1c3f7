use super::*;
use secretsync_model::external_secret::SyncWindow;

/// A UTC instant, to the second.
fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> SystemTime {
    let days = super::cron::days_from_civil(i64::from(year), month, day).unwrap();
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

fn windows(kind: SyncWindowKind, entries: &[(&str, &str)]) -> SyncWindows {
    SyncWindows {
        kind,
        windows: entries
            .iter()
            .map(|(s, d)| SyncWindow {
                schedule: (*s).into(),
                duration: (*d).into(),
            })
            .collect(),
    }
}

fn lenient(kind: SyncWindowKind, entries: &[(&str, &str)]) -> SyncWindowPolicy {
    SyncWindowPolicy::parse_lenient(&windows(kind, entries))
}

const NIGHTLY: (&str, &str) = ("0 22 * * *", "2h");
const INVALID: (&str, &str) = ("not-a-cron", "2h");

#[test]
fn window_boundaries_are_closed() {
    // ESO's TestIsWithinSyncWindow: 22:00 UTC + 2h.
    let p = lenient(SyncWindowKind::Allow, &[NIGHTLY]);
    let open = utc(2026, 6, 1, 22, 0, 0);
    let close = utc(2026, 6, 2, 0, 0, 0);
    let s = Duration::from_secs(1);
    assert!(p.allows(open), "at window open (inclusive)");
    assert!(p.allows(open + Duration::from_secs(1800)), "inside");
    assert!(p.allows(close), "at window close (inclusive)");
    assert!(!p.allows(close + s), "one second past close");
    assert!(
        !p.allows(close + Duration::from_nanos(1)),
        "just past close"
    );
    assert!(!p.allows(open - Duration::from_secs(3600)), "before open");
    assert!(!p.allows(open + Duration::from_secs(5 * 3600)), "between");
    assert!(
        p.allows(open + Duration::from_secs(24 * 3600 + 1800)),
        "next day"
    );
}

#[test]
fn allow_and_deny_like_eso() {
    // ESO's TestIsPeriodicRefreshAllowedByWindows.
    let inside = utc(2026, 6, 1, 23, 0, 0);
    let outside = utc(2026, 6, 1, 20, 0, 0);
    assert!(SyncWindowPolicy::unconstrained().allows(inside));
    let empty = lenient(SyncWindowKind::Allow, &[]);
    assert!(empty.is_unconstrained() && empty.allows(inside));

    let allow = lenient(SyncWindowKind::Allow, &[NIGHTLY]);
    assert!(allow.allows(inside));
    assert!(!allow.allows(outside));
    let deny = lenient(SyncWindowKind::Deny, &[NIGHTLY]);
    assert!(!deny.allows(inside));
    assert!(deny.allows(outside));

    // A window that does not parse is ignored at run time.
    assert!(!lenient(SyncWindowKind::Allow, &[INVALID]).allows(inside));
    assert!(lenient(SyncWindowKind::Deny, &[INVALID]).allows(inside));
    assert!(lenient(SyncWindowKind::Allow, &[INVALID, NIGHTLY]).allows(inside));
    assert!(lenient(SyncWindowKind::Allow, &[NIGHTLY, ("0 22 * * *", "soon")]).allows(inside));
}

#[test]
fn overlapping_windows_union() {
    // 08:00+4h and 10:00+4h: open 08:00..=14:00.
    let entries = [("0 8 * * *", "4h"), ("0 10 * * *", "4h")];
    let allow = lenient(SyncWindowKind::Allow, &entries);
    assert!(allow.allows(utc(2026, 6, 1, 13, 0, 0)));
    assert!(allow.allows(utc(2026, 6, 1, 14, 0, 0)));
    assert!(!allow.allows(utc(2026, 6, 1, 14, 0, 1)));
    let deny = lenient(SyncWindowKind::Deny, &entries);
    // Deny windows chain: the first free instant is just after the later one closes.
    assert_eq!(
        deny.next_allowed(utc(2026, 6, 1, 9, 0, 0)),
        Some(utc(2026, 6, 1, 14, 0, 0) + Duration::from_nanos(1))
    );
}

#[test]
fn next_allowed_for_allow_windows() {
    let p = lenient(SyncWindowKind::Allow, &[("0 22 * * 1-5", "1h")]);
    let inside = utc(2026, 6, 1, 22, 30, 0);
    assert_eq!(p.next_allowed(inside), Some(inside), "already open");
    // Friday 2026-06-05 23:30: closed until Monday 22:00.
    assert_eq!(
        p.next_allowed(utc(2026, 6, 5, 23, 30, 0)),
        Some(utc(2026, 6, 8, 22, 0, 0))
    );
    // Earliest of several windows; sub-second start rounds up to the next firing.
    let two = lenient(
        SyncWindowKind::Allow,
        &[("0 22 * * *", "1h"), ("30 6 * * *", "1h")],
    );
    assert_eq!(
        two.next_allowed(utc(2026, 6, 1, 23, 30, 0) + Duration::from_millis(5)),
        Some(utc(2026, 6, 2, 6, 30, 0))
    );
    // Never opens (30 February) or nothing valid: never allowed.
    assert_eq!(
        lenient(SyncWindowKind::Allow, &[("0 0 30 2 *", "1h")])
            .next_allowed(utc(2026, 1, 1, 0, 0, 0)),
        None
    );
    assert_eq!(
        lenient(SyncWindowKind::Allow, &[INVALID]).next_allowed(utc(2026, 1, 1, 0, 0, 0)),
        None
    );
}

#[test]
fn next_allowed_for_deny_windows() {
    let p = lenient(SyncWindowKind::Deny, &[NIGHTLY]);
    let outside = utc(2026, 6, 1, 12, 0, 0);
    assert_eq!(p.next_allowed(outside), Some(outside));
    assert_eq!(
        p.next_allowed(utc(2026, 6, 1, 23, 0, 0)),
        Some(utc(2026, 6, 2, 0, 0, 0) + Duration::from_nanos(1))
    );
    // Always denied: every minute, open for two minutes.
    assert_eq!(
        lenient(SyncWindowKind::Deny, &[("* * * * *", "2m")]).next_allowed(outside),
        None
    );
}

#[test]
fn every_windows_are_anchored_at_the_epoch() {
    // @every 6h opens at 00:00, 06:00, 12:00, 18:00 UTC.
    let p = lenient(SyncWindowKind::Allow, &[("@every 6h", "30m")]);
    assert!(p.allows(utc(2026, 6, 1, 6, 0, 0)));
    assert!(p.allows(utc(2026, 6, 1, 12, 30, 0)));
    assert!(!p.allows(utc(2026, 6, 1, 12, 30, 1)));
    assert_eq!(
        p.next_allowed(utc(2026, 6, 1, 13, 0, 0)),
        Some(utc(2026, 6, 1, 18, 0, 0))
    );
    let daily = lenient(SyncWindowKind::Deny, &[("@daily", "8h")]);
    assert!(!daily.allows(utc(2026, 6, 1, 7, 59, 0)));
    assert!(daily.allows(utc(2026, 6, 1, 8, 0, 1)));
}

#[test]
fn zero_duration_window_is_a_single_instant() {
    let p = lenient(SyncWindowKind::Allow, &[("0 * * * *", "0s")]);
    assert!(p.allows(utc(2026, 6, 1, 5, 0, 0)));
    assert!(!p.allows(utc(2026, 6, 1, 5, 0, 0) + Duration::from_nanos(1)));
}

#[test]
fn admission_names_the_bad_field() {
    let spec: ExternalSecretSpec = serde_yaml::from_str(
        r#"
syncWindows:
  kind: allow
  windows:
    - {schedule: "0 22 * * *", duration: 2h}
    - {schedule: "61 * * * *", duration: 1h}
    - {schedule: "@daily", duration: "forever"}
"#,
    )
    .unwrap();
    let errors: Vec<String> = validate_sync_windows(&spec)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("spec.syncWindows.windows[1].schedule: expected"),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("minute: a value from 0 to 59"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("spec.syncWindows.windows[2].duration: expected"),
        "{errors:?}"
    );

    let empty: ExternalSecretSpec = serde_yaml::from_str("syncWindows: {kind: deny}").unwrap();
    let errors: Vec<String> = validate_sync_windows(&empty)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        errors[0].starts_with("spec.syncWindows.windows: expected"),
        "{errors:?}"
    );

    assert!(validate_sync_windows(&ExternalSecretSpec::default()).is_empty());
    let ok: ExternalSecretSpec = serde_yaml::from_str(
        "syncWindows: {kind: deny, windows: [{schedule: '@every 1h', duration: 10m}]}",
    )
    .unwrap();
    assert!(validate_sync_windows(&ok).is_empty());
}

#[test]
fn spec_helpers_use_the_lenient_reading() {
    let spec: ExternalSecretSpec = serde_yaml::from_str(
        "syncWindows: {kind: allow, windows: [{schedule: '0 22 * * *', duration: 2h}]}",
    )
    .unwrap();
    assert!(periodic_refresh_allowed(&spec, utc(2026, 6, 1, 23, 0, 0)));
    assert!(!periodic_refresh_allowed(&spec, utc(2026, 6, 1, 21, 0, 0)));
    assert_eq!(
        next_periodic_refresh_allowed(&spec, utc(2026, 6, 1, 21, 0, 0)),
        Some(utc(2026, 6, 1, 22, 0, 0))
    );
    assert!(periodic_refresh_allowed(
        &ExternalSecretSpec::default(),
        utc(2026, 6, 1, 21, 0, 0)
    ));
}
