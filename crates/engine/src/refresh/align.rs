//! Refreshes aligned by what they read: ExternalSecrets that read the same remote keys from the
//! same stores refresh at the same instants, so the fetch layer's coalescing serves all of them
//! with one provider read per key and refresh interval (issue #20: provider calls per cycle
//! ≤ distinct keys). Each such group has its own phase (a stable hash of what it reads), so the
//! groups stay spread over the interval.
//!
//! A group's refreshes fall on its grid `phase + k·interval` (whole seconds, since
//! `status.refreshTime` has second resolution). The next refresh is the last grid point at or
//! before `refreshTime + interval`: never later than ESO's rule, and in steady state exactly one
//! interval apart. Only the first refresh after an object joins (created, or its reads changed)
//! comes early, by less than one interval.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secretsync_model::StoreId;
use secretsync_model::external_secret::{
    ExternalSecret, MetadataPolicy, SecretStoreRef, StoreKind,
};

use crate::stable_hash::phase_of;

/// The refresh lead that puts the next refresh of an object of read group `group` (see
/// [`read_group`]) on the group's grid: `(refreshTime + interval − phase) mod interval`, in
/// whole seconds. `None` when there is nothing to align (intervals under 2 s, no or an
/// unreadable `refreshTime`): the caller keeps its own lead.
pub fn aligned_lead(
    group: &str,
    interval: Duration,
    refresh_time: Option<SystemTime>,
) -> Option<Duration> {
    let period = interval.as_secs();
    if period < 2 {
        return None;
    }
    let phase = phase_of(group, Duration::from_secs(period)).as_secs() % period;
    lead_to_phase(phase, period, refresh_time)
}

/// The refresh lead of an ExternalSecret whose only read is a key of batch `slot` of `store`
/// (a batching provider: [`crate::fetch::Slot`]): the grid of the slot, the store's slots
/// spread evenly over the interval from the store's own phase, so that the keys of one slot are
/// read together in one batch call. Same rules as [`aligned_lead`].
pub fn slot_lead(
    store: &str,
    slot: crate::fetch::Slot,
    interval: Duration,
    refresh_time: Option<SystemTime>,
) -> Option<Duration> {
    let period = interval.as_secs();
    if period < 2 {
        return None;
    }
    let start = phase_of(store, Duration::from_secs(period)).as_secs();
    let count = slot.count.max(1) as u64;
    let offset = (slot.index as u64 % count).checked_mul(period)? / count;
    lead_to_phase((start + offset) % period, period, refresh_time)
}

/// The members of one aligned group run spread over this fraction of the interval after their
/// group's instant (`interval / 30`: two of the "minutes" a refresh spread is measured in).
pub const SETTLE_FRACTION: u32 = 30;

/// The longest [`member_settle`] (at intervals over 1 h): kept within
/// [`crate::fetch::FetchConfig::refresh_reuse`], so the group's read still serves the last one.
pub const MAX_SETTLE: Duration = Duration::from_secs(120);

/// How long after its group's refresh instant member `key` (e.g. `namespace/name`) of an
/// aligned group runs: a deterministic offset in `[0, min(interval / 30, 2 min))`.
///
/// The group's instant stays its due time, so every member is still served by one read made
/// at or after that instant (the fetch layer keeps it for refreshes); only the members' writes
/// and status patches spread, instead of landing on the API server at one instant (an AWS
/// batch slot is 20 keys × their readers). A member writes a value at most this much after it
/// was read: at most 2 min at a 1 h interval, 4 s at 2 min.
pub fn member_settle(key: &str, interval: Duration) -> Duration {
    let window = (interval / SETTLE_FRACTION).min(MAX_SETTLE);
    if window.is_zero() {
        return Duration::ZERO;
    }
    phase_of(key, window)
}

/// An aligned `lead` ([`aligned_lead`], [`slot_lead`]), kept only when the grid instant it
/// makes the next refresh due at (`refreshTime + interval − lead`) is after `seen`: when this
/// process first saw the object as it is now. `None` when that instant had already passed: the
/// object's last refresh was not on its grid (ESO wrote it, before a takeover) and the
/// caller keeps the object's own schedule for this one refresh (ESO's `refreshTime +
/// interval`, less its jitter), after which it is on the grid. Otherwise every object taken
/// over from ESO whose grid instant fell since its last refresh — about half of them — would
/// be due the moment the operator starts: a burst of provider reads ESO would not make.
/// Unknown `seen` or `refreshTime` keep the lead.
pub fn unless_missed(
    lead: Duration,
    interval: Duration,
    refresh_time: Option<SystemTime>,
    seen: Option<SystemTime>,
) -> Option<Duration> {
    let (Some(refreshed), Some(seen)) = (refresh_time, seen) else {
        return Some(lead);
    };
    let due = refreshed
        .checked_add(interval)
        .and_then(|t| t.checked_sub(lead));
    match due {
        Some(due) if due <= seen => None,
        _ => Some(lead),
    }
}

fn lead_to_phase(phase: u64, period: u64, refresh_time: Option<SystemTime>) -> Option<Duration> {
    let last = refresh_time?.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let due_unaligned = last.checked_add(period)?;
    let lead = (due_unaligned % period + period - phase) % period;
    Some(Duration::from_secs(lead))
}

/// The one value an ExternalSecret reads, when it reads exactly one latest value (its
/// `data[]` and `dataFrom[].extract` entries all name one store and key, no version, no
/// metadata, no `find`, no generator): the store and the key. Such an ExternalSecret may be
/// aligned on a batch slot ([`slot_lead`]).
pub fn single_read(es: &ExternalSecret) -> Option<(StoreId, &str)> {
    let namespace = es.metadata.namespace.as_deref().unwrap_or_default();
    let default_store = es.spec.secret_store_ref.as_ref();
    let mut found: Option<(StoreId, &str)> = None;
    // (entry's storeRef, uses a generator, the read)
    let reads = es
        .spec
        .data
        .iter()
        .map(|d| {
            let source = d.source_ref.as_ref();
            (
                source.and_then(|s| s.store_ref.as_ref()),
                source.is_some_and(|s| s.generator_ref.is_some()),
                Some(&d.remote_ref),
            )
        })
        .chain(es.spec.data_from.iter().map(|d| {
            let source = d.source_ref.as_ref();
            (
                source.and_then(|s| s.store_ref.as_ref()),
                source.is_some_and(|s| s.generator_ref.is_some()),
                d.extract.as_ref().filter(|_| d.find.is_none()),
            )
        }));
    for (store_ref, generated, remote) in reads {
        if generated {
            return None;
        }
        let remote = remote?;
        if remote.version.as_deref().is_some_and(|v| !v.is_empty())
            || remote.metadata_policy == MetadataPolicy::Fetch
        {
            return None;
        }
        let store = store_ref.or(default_store)?;
        let id = StoreId {
            kind: store.kind,
            namespace: (store.kind == StoreKind::SecretStore).then(|| namespace.to_string()),
            name: store.name.clone(),
        };
        match &found {
            Some((seen, key)) if *seen != id || *key != remote.key => return None,
            Some(_) => {}
            None => found = Some((id, remote.key.as_str())),
        }
    }
    found
}

/// What an ExternalSecret reads, as a stable text: the sorted, de-duplicated (store, key) pairs
/// of `data` and `dataFrom` (`find` by its whole spec). `None` when it uses a generator (nothing
/// to coalesce) or reads nothing.
pub fn read_group(es: &ExternalSecret) -> Option<String> {
    let namespace = es.metadata.namespace.as_deref().unwrap_or_default();
    let default_store = es.spec.secret_store_ref.as_ref();
    let store = |r: Option<&SecretStoreRef>| -> String {
        match r.or(default_store) {
            Some(s) if s.kind == StoreKind::ClusterSecretStore => {
                format!("ClusterSecretStore/{}", s.name)
            }
            Some(s) => format!("SecretStore/{namespace}/{}", s.name),
            None => String::new(),
        }
    };
    let mut reads = Vec::new();
    for d in &es.spec.data {
        let source = d.source_ref.as_ref();
        if source.is_some_and(|s| s.generator_ref.is_some()) {
            return None;
        }
        let r = source.and_then(|s| s.store_ref.as_ref());
        reads.push(format!("{}\u{0}{}", store(r), d.remote_ref.key));
    }
    for d in &es.spec.data_from {
        let source = d.source_ref.as_ref();
        if source.is_some_and(|s| s.generator_ref.is_some()) {
            return None;
        }
        let r = store(source.and_then(|s| s.store_ref.as_ref()));
        if let Some(extract) = &d.extract {
            reads.push(format!("{r}\u{0}{}", extract.key));
        }
        if let Some(find) = &d.find {
            let spec = serde_json::to_string(find).unwrap_or_default();
            reads.push(format!("{r}\u{0}find:{spec}"));
        }
    }
    if reads.is_empty() {
        return None;
    }
    reads.sort();
    reads.dedup();
    Some(reads.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_group_read_is_kept_for_refreshes_through_the_longest_settle() {
        // A member refreshing up to MAX_SETTLE after its group's instant must still find the
        // read made then, or every late member reads its provider again.
        let reuse = crate::fetch::FetchConfig::default().refresh_reuse;
        assert!(MAX_SETTLE < reuse, "{MAX_SETTLE:?} >= {reuse:?}");
    }

    #[test]
    fn a_grid_instant_that_passed_before_the_object_was_seen_is_not_used() {
        let t = |secs: u64| Some(UNIX_EPOCH + Duration::from_secs(1_000_000 + secs));
        let lead = Duration::from_secs(3000);
        // Refreshed at 0 with a 1 h interval and this lead: the grid instant is at 600.
        // (refreshed, seen, kept)
        let cases = [
            (t(0), t(599), true),    // seen before the grid instant: aligned
            (t(0), t(600), false),   // the instant passed as it was seen: its own schedule
            (t(0), t(3500), false),  // a takeover long after ESO's refresh
            (t(0), None, true),      // not known when it was seen
            (None, t(3500), true),   // never refreshed
            (t(4000), t(100), true), // refreshed after it was seen (by this process)
        ];
        for (refreshed, seen, kept) in cases {
            assert_eq!(
                unless_missed(lead, HOUR, refreshed, seen),
                kept.then_some(lead),
                "refreshed {refreshed:?}, seen {seen:?}"
            );
        }
        // Far beyond what the clock represents: kept, never a panic.
        let far = UNIX_EPOCH.checked_add(Duration::from_secs(u64::from(u32::MAX) * 1000));
        assert_eq!(unless_missed(lead, Duration::MAX, far, t(0)), Some(lead));
    }

    #[test]
    fn members_settle_spread_within_a_thirtieth_of_the_interval() {
        // (interval, window the settle stays below)
        let cases = [
            (Duration::from_secs(120), Duration::from_secs(4)),
            (HOUR, MAX_SETTLE),
            (24 * HOUR, MAX_SETTLE),
            (Duration::from_secs(30), Duration::from_secs(1)),
            (Duration::ZERO, Duration::ZERO),
        ];
        for (interval, window) in cases {
            let settles: Vec<Duration> = (0..200)
                .map(|i| member_settle(&format!("ns/es-{i}"), interval))
                .collect();
            assert!(
                settles.iter().all(|s| *s < window || window.is_zero()),
                "{interval:?}"
            );
            assert_eq!(
                member_settle("ns/es-7", interval),
                settles[7],
                "deterministic"
            );
            if !window.is_zero() {
                // 200 members over two halves of the window: neither half holds more than 60 %
                let early = settles.iter().filter(|s| **s < window / 2).count();
                assert!(
                    (80..=120).contains(&early),
                    "{interval:?}: {early} of 200 early"
                );
            } else {
                assert!(settles.iter().all(Duration::is_zero));
            }
        }
    }

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// The next refresh the lead gives: `refreshTime + interval − lead`, in seconds.
    fn next(group: &str, interval: Duration, last: u64) -> Option<u64> {
        let lead = aligned_lead(group, interval, at(last))?;
        Some(last + interval.as_secs() - lead.as_secs())
    }

    #[test]
    fn members_of_a_group_meet_on_one_grid_within_one_interval() {
        let interval = Duration::from_secs(300);
        // Four members last refreshed at different moments of the same interval.
        let nexts: Vec<u64> = [1_000_000, 1_000_050, 1_000_123, 1_000_299]
            .iter()
            .map(|last| next("store\u{0}db", interval, *last).expect("aligned"))
            .collect();
        for (last, n) in [1_000_000u64, 1_000_050, 1_000_123, 1_000_299]
            .iter()
            .zip(&nexts)
        {
            assert!(*n > *last && *n <= last + 300, "{last} -> {n}");
        }
        // all on the group's grid
        for n in &nexts {
            assert_eq!(n % 300, nexts[0] % 300, "{nexts:?}");
        }
        // steady state: from a grid point, exactly one interval
        for n in &nexts {
            assert_eq!(next("store\u{0}db", interval, *n), Some(n + 300));
        }
    }

    #[test]
    fn groups_get_different_phases_spread_over_the_interval() {
        let interval = Duration::from_secs(60);
        let mut buckets = [0u32; 6];
        for k in 0..600 {
            let n = next(&format!("store\u{0}key-{k}"), interval, 6_000).expect("aligned");
            buckets[((n % 60) / 10) as usize] += 1;
        }
        // 600 groups over 6 buckets of 10 s: each near 100
        assert!(
            buckets.iter().all(|b| (60..=140).contains(b)),
            "{buckets:?}"
        );
    }

    #[test]
    fn nothing_to_align() {
        for (interval, last) in [
            (Duration::from_secs(1), at(10)),
            (Duration::from_millis(1500), at(10)),
            (HOUR, None),
        ] {
            assert_eq!(
                aligned_lead("g", interval, last),
                None,
                "{interval:?} {last:?}"
            );
        }
        // fractional intervals align on their whole seconds
        let lead = aligned_lead("g", Duration::from_millis(90_500), at(10)).expect("aligned");
        assert!(lead < Duration::from_secs(90));
    }

    #[test]
    fn slots_of_a_store_are_spread_evenly_and_members_meet() {
        use crate::fetch::Slot;
        let interval = Duration::from_secs(300);
        let next = |index: usize, last: u64| {
            let slot = Slot { index, count: 3 };
            let lead = slot_lead("ClusterSecretStore/aws", slot, interval, at(last)).expect("lead");
            last + 300 - lead.as_secs()
        };
        // members of a slot that last refreshed at different moments meet on one grid point
        let a = next(1, 1_000_000);
        let b = next(1, 1_000_170);
        assert_eq!(a % 300, b % 300);
        assert!(a > 1_000_000 && a <= 1_000_300 && b > 1_000_170 && b <= 1_000_470);
        // the three slots are 100 s apart on the interval
        let phases: Vec<u64> = (0..3).map(|i| next(i, 1_000_000) % 300).collect();
        for i in 0..3 {
            assert_eq!(
                (phases[(i + 1) % 3] + 300 - phases[i]) % 300,
                100,
                "{phases:?}"
            );
        }
        assert_eq!(
            slot_lead(
                "s",
                Slot { index: 0, count: 1 },
                Duration::from_secs(1),
                at(5)
            ),
            None
        );
    }

    #[test]
    fn single_reads() {
        let base = |spec: serde_json::Value| {
            es(serde_json::json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "a", "namespace": "ns"}, "spec": spec,
            }))
        };
        let cluster = serde_json::json!({"name": "aws", "kind": "ClusterSecretStore"});
        let local = serde_json::json!({"name": "aws", "kind": "SecretStore"});
        let data =
            |remote: serde_json::Value| serde_json::json!({"secretKey": "x", "remoteRef": remote});
        // (spec, expected (store kind, store namespace, key))
        let cases = [
            (
                serde_json::json!({"secretStoreRef": cluster, "data": [data(serde_json::json!({"key": "k"}))]}),
                Some((StoreKind::ClusterSecretStore, None, "k")),
            ),
            (
                serde_json::json!({"secretStoreRef": local, "data": [
                data(serde_json::json!({"key": "k", "property": "a"})),
                data(serde_json::json!({"key": "k", "property": "b"}))],
                "dataFrom": [{"extract": {"key": "k"}}]}),
                Some((StoreKind::SecretStore, Some("ns"), "k")),
            ),
            (
                serde_json::json!({"secretStoreRef": cluster, "data": [
                data(serde_json::json!({"key": "k"})), data(serde_json::json!({"key": "j"}))]}),
                None,
            ),
            (
                serde_json::json!({"secretStoreRef": cluster, "data": [
                data(serde_json::json!({"key": "k", "version": "v1"}))]}),
                None,
            ),
            (
                serde_json::json!({"secretStoreRef": cluster, "data": [
                data(serde_json::json!({"key": "k", "metadataPolicy": "Fetch"}))]}),
                None,
            ),
            (
                serde_json::json!({"secretStoreRef": cluster, "dataFrom": [
                {"find": {"name": {"regexp": ".*"}}}]}),
                None,
            ),
            (
                serde_json::json!({"secretStoreRef": cluster, "data": [
                {"secretKey": "x", "remoteRef": {"key": "k"},
                 "sourceRef": {"storeRef": {"name": "other", "kind": "ClusterSecretStore"}}},
                data(serde_json::json!({"key": "k"}))]}),
                None,
            ),
            (serde_json::json!({"secretStoreRef": cluster}), None),
        ];
        for (spec, expected) in cases {
            let object = base(spec.clone());
            let got = single_read(&object)
                .map(|(id, key)| (id.kind, id.namespace.clone(), key.to_string()));
            let expected =
                expected.map(|(kind, ns, key)| (kind, ns.map(str::to_string), key.to_string()));
            assert_eq!(got, expected, "{spec}");
        }
    }

    fn es(value: serde_json::Value) -> ExternalSecret {
        serde_json::from_value(value).expect("ExternalSecret")
    }

    #[test]
    fn read_groups() {
        let base = |spec: serde_json::Value| {
            es(serde_json::json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "a", "namespace": "ns"}, "spec": spec,
            }))
        };
        let store = serde_json::json!({"name": "s", "kind": "SecretStore"});
        let cluster = serde_json::json!({"name": "s", "kind": "ClusterSecretStore"});
        let one = |key: &str, store: &serde_json::Value| {
            base(serde_json::json!({"secretStoreRef": store, "data": [
                {"secretKey": "x", "remoteRef": {"key": key}}]}))
        };
        // same reads, different secretKey/property/order: same group
        let two_orders = [
            base(serde_json::json!({"secretStoreRef": store, "data": [
                {"secretKey": "a", "remoteRef": {"key": "k1"}},
                {"secretKey": "b", "remoteRef": {"key": "k2", "property": "p"}}]})),
            base(serde_json::json!({"secretStoreRef": store, "data": [
                {"secretKey": "z", "remoteRef": {"key": "k2"}},
                {"secretKey": "y", "remoteRef": {"key": "k1"}},
                {"secretKey": "w", "remoteRef": {"key": "k1", "property": "q"}}]})),
        ];
        assert_eq!(read_group(&two_orders[0]), read_group(&two_orders[1]));
        assert!(read_group(&two_orders[0]).is_some());
        // a different key, or the same name as a ClusterSecretStore: different groups
        assert_ne!(
            read_group(&one("k1", &store)),
            read_group(&one("k2", &store))
        );
        assert_ne!(
            read_group(&one("k1", &store)),
            read_group(&one("k1", &cluster))
        );
        // generators and empty specs: none
        let generated = base(
            serde_json::json!({"dataFrom": [{"sourceRef": {"generatorRef": {
            "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "p"}}}]}),
        );
        assert_eq!(read_group(&generated), None);
        assert_eq!(
            read_group(&base(serde_json::json!({"secretStoreRef": store}))),
            None
        );
        // dataFrom extract and find count as reads
        let from = base(serde_json::json!({"secretStoreRef": store, "dataFrom": [
            {"extract": {"key": "k1"}}, {"find": {"name": {"regexp": "^db"}}}]}));
        let group = read_group(&from).expect("group");
        assert!(group.contains("k1") && group.contains("find:"), "{group}");
    }
}
