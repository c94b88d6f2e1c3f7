//! Scheduler acceptance: spread after mass creation, new objects first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use secretsync_engine::{Scheduler, SchedulerConfig, SyncState};

const HOUR: Duration = Duration::from_secs(3600);

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn mass_creation_spreads_refreshes_evenly() {
    let n = 10_000usize;
    let mut s = Scheduler::new(SchedulerConfig::default());
    // Created together at an arbitrary instant.
    let start = t(1_790_000_123);
    for i in 0..n {
        s.upsert(
            format!("ns-{}/es-{i}", i % 37),
            Some(HOUR),
            None,
            SyncState::NeverSynced,
        );
    }
    // First syncs: all at creation.
    let mut first = 0;
    while let Some(k) = s.pop_due(start) {
        s.upsert(k, Some(HOUR), Some(start), SyncState::Synced);
        first += 1;
    }
    assert_eq!(first, n);
    // Simulate the following 3 hours in 1-second steps; count refreshes per minute.
    let mut per_minute: BTreeMap<u64, usize> = BTreeMap::new();
    let hours = 3;
    for sec in 1..=(hours * 3600) {
        let now = start + Duration::from_secs(sec);
        while let Some(k) = s.pop_due(now) {
            *per_minute.entry((sec - 1) / 60).or_default() += 1;
            s.upsert(k, Some(HOUR), Some(now), SyncState::Synced);
        }
    }
    let total: usize = per_minute.values().sum();
    let minutes = (hours * 60) as usize;
    let average = total as f64 / minutes as f64;
    let max = *per_minute.values().max().unwrap();
    let min = *per_minute.values().min().unwrap();
    eprintln!("refreshes: total {total}, per minute average {average:.1}, min {min}, max {max}");
    // Every object refreshed once per hour (±1 for the boundary).
    assert!(
        total >= n * hours as usize - n / 50 && total <= n * hours as usize + n,
        "total {total}"
    );
    assert!(
        (max as f64) <= 2.0 * average,
        "max {max} per minute vs average {average:.1}"
    );
    // And no minute is empty: the load is spread, not bunched.
    assert_eq!(per_minute.len(), minutes);
}

#[test]
fn new_object_goes_before_due_refreshes() {
    let mut s = Scheduler::new(SchedulerConfig::default());
    let start = t(1_000_000);
    for i in 0..1000 {
        s.upsert(
            format!("ns/old-{i}"),
            Some(HOUR),
            Some(start),
            SyncState::Synced,
        );
    }
    let later = start + 2 * HOUR; // every refresh is overdue
    s.upsert(
        "ns/new".to_string(),
        Some(HOUR),
        None,
        SyncState::NeverSynced,
    );
    assert_eq!(s.pop_due(later).as_deref(), Some("ns/new"));
    assert!(s.next_due().unwrap() <= later);
    // And then refreshes in due order.
    let a = s.pop_due(later).unwrap();
    let b = s.pop_due(later).unwrap();
    assert!(a.starts_with("ns/old-") && b.starts_with("ns/old-"));
}
