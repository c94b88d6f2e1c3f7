use std::time::Duration;

use super::*;

fn at(base: Instant, secs: u64) -> Instant {
    base + Duration::from_secs(secs)
}

fn key(namespace: &str, name: &str) -> Option<Key> {
    Some((namespace.into(), name.into()))
}

#[test]
fn objects_fall_due_in_time_order_and_not_before() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    q.schedule("a", "late", at(t, 20));
    q.schedule("b", "early", at(t, 10));
    assert_eq!(q.next_due(), Some(at(t, 10)));
    assert_eq!(q.pop_due(at(t, 9)), None);
    assert_eq!(q.pop_due(at(t, 25)), key("b", "early"));
    assert_eq!(q.pop_due(at(t, 25)), key("a", "late"));
    assert_eq!(q.pop_due(at(t, 25)), None);
}

#[test]
fn the_earliest_request_wins() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    q.schedule("ns", "es", at(t, 30));
    q.schedule("ns", "es", at(t, 10));
    q.schedule("ns", "es", at(t, 20));
    assert_eq!(q.pop_due(at(t, 15)), key("ns", "es"));
    // The stale entries (30 s, and the 20 s that never replaced 10 s) yield nothing.
    assert_eq!(q.pop_due(at(t, 60)), None);
}

#[test]
fn a_running_object_is_not_started_again_until_it_finishes() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    q.schedule("ns", "es", t);
    assert_eq!(q.pop_due(t), key("ns", "es"));
    // A trigger while it runs is held until it finishes.
    q.schedule("ns", "es", at(t, 1));
    assert_eq!(q.pop_due(at(t, 5)), None);
    // The held trigger (1 s) is earlier than the requeue asked for (120 s).
    q.finish("ns", "es", Some(at(t, 120)));
    assert_eq!(q.pop_due(at(t, 5)), key("ns", "es"));
    q.finish("ns", "es", Some(at(t, 120)));
    assert_eq!(q.pop_due(at(t, 119)), None);
    assert_eq!(q.pop_due(at(t, 120)), key("ns", "es"));
}

#[test]
fn finish_decides_what_is_due_next() {
    let t = Instant::now();
    // (trigger while running, requeue asked, due next)
    let cases = [
        (None, None, None),
        (None, Some(60), Some(60)),
        (Some(5), None, Some(5)),
        (Some(5), Some(60), Some(5)),
        (Some(90), Some(60), Some(60)),
    ];
    for (trigger, again, expected) in cases {
        let mut q = DueQueue::default();
        q.schedule("ns", "es", t);
        assert_eq!(q.pop_due(t), key("ns", "es"));
        if let Some(s) = trigger {
            q.schedule("ns", "es", at(t, s));
        }
        q.finish("ns", "es", again.map(|s| at(t, s)));
        let due = (0..=120).find(|s| q.pop_due(at(t, *s)).is_some());
        assert_eq!(due, expected, "trigger {trigger:?}, requeue {again:?}");
    }
}

#[test]
fn the_fingerprint_filters_unchanged_objects() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    assert!(q.changed("ns", "es", 1, t), "first sight");
    assert!(!q.changed("ns", "es", 1, t), "same again");
    assert!(q.changed("ns", "es", 2, t), "changed");
    q.forget("ns", "es");
    assert_eq!(q.len(), 0);
    assert!(q.changed("ns", "es", 2, t), "seen again after deletion");
}

#[test]
fn changed_at_is_when_the_current_fingerprint_was_first_seen() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    assert_eq!(q.changed_at("ns", "es"), None, "never seen");
    q.schedule("ns", "es", t);
    assert_eq!(q.changed_at("ns", "es"), None, "only triggered");
    // (fingerprint, seen at, changed_at afterwards)
    let sightings = [
        (1, 1, 1),   // first sight
        (1, 5, 1),   // same fingerprint later: a status write, a re-list
        (2, 7, 7),   // a spec, label or annotation change
        (2, 9, 7),   // unchanged again
        (1, 12, 12), // back to an earlier fingerprint is a change too
    ];
    for (fingerprint, seen, expected) in sightings {
        q.changed("ns", "es", fingerprint, at(t, seen));
        assert_eq!(
            q.changed_at("ns", "es"),
            Some(at(t, expected)),
            "fingerprint {fingerprint} seen at {seen}"
        );
    }
    q.forget("ns", "es");
    assert_eq!(q.changed_at("ns", "es"), None, "forgotten");
    assert!(
        q.changed("ns", "es", 1, at(t, 20)),
        "seen again after deletion"
    );
    assert_eq!(q.changed_at("ns", "es"), Some(at(t, 20)));
}

#[test]
fn an_object_deleted_while_running_is_dropped_when_it_finishes() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    assert!(q.changed("ns", "es", 1, t));
    q.schedule("ns", "es", t);
    assert_eq!(q.pop_due(t), key("ns", "es"));
    q.forget("ns", "es");
    assert_eq!(q.len(), 1, "kept while running");
    q.finish("ns", "es", None);
    assert_eq!(q.len(), 0);

    // Asked to run again: kept until then (the runner drops it once the cache lacks it).
    assert!(q.changed("ns", "es", 1, t));
    q.schedule("ns", "es", t);
    assert_eq!(q.pop_due(t), key("ns", "es"));
    q.forget("ns", "es");
    q.finish("ns", "es", Some(at(t, 10)));
    assert_eq!(q.pop_due(at(t, 10)), key("ns", "es"));
    q.finish("ns", "es", None);
    assert_eq!(q.len(), 0);
}

#[test]
fn stale_heap_entries_stay_bounded() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    // Every trigger moves the object earlier, leaving the previous entry stale.
    for s in (0..10_000).rev() {
        q.schedule("ns", "es", at(t, s));
    }
    assert_eq!(q.len(), 1);
    assert!(
        q.heap_len() <= 2 + STALE_ALLOWANCE,
        "heap entries: {}",
        q.heap_len()
    );
    assert_eq!(q.pop_due(at(t, 10_000)), key("ns", "es"));
    assert_eq!(q.pop_due(at(t, 10_000)), None);
}

#[test]
fn a_relist_drops_objects_that_went_away() {
    let t = Instant::now();
    let mut q = DueQueue::default();
    for name in ["kept", "gone", "running"] {
        assert!(q.changed("ns", name, 1, t));
        q.schedule("ns", name, at(t, 10));
    }
    q.schedule("ns", "running", t);
    assert_eq!(q.pop_due(t), key("ns", "running"));
    q.retain_existing(|_, name| name == "kept");
    assert_eq!(q.len(), 2, "kept, and running until it finishes");
    assert_eq!(q.pop_due(at(t, 10)), key("ns", "kept"));
    assert_eq!(q.pop_due(at(t, 10)), None);
}
