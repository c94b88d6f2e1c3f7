//! A pure, time-injected refresh scheduler.
//!
//! - Objects never synced are due immediately and always come before due refreshes.
//! - A synced object with interval `I` is refreshed at the first instant after its last sync
//!   whose offset into the interval (`t mod I`, counted from the UNIX epoch) equals the
//!   object's phase, a deterministic hash of its key. So a refresh is never later than
//!   `last_sync + I`, and objects created together spread evenly over the interval.
//! - Failures back off exponentially (`base · 2^(n-1)`, capped), or by the provider's
//!   `Retry-After` when longer.
//! - No object gets more than `max_attempts_per_hour` sync attempts in any hour.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

/// Scheduler settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// First retry delay after a failure (default 5 s).
    pub backoff_base: Duration,
    /// Longest retry delay (default 5 min).
    pub backoff_cap: Duration,
    /// Sync attempts allowed per object in any sliding hour (default 60).
    pub max_attempts_per_hour: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(300),
            max_attempts_per_hour: 60,
        }
    }
}

/// The last known sync state of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Never synced (new, or its spec changed and it must sync now).
    NeverSynced,
    /// The last sync succeeded.
    Synced,
    /// The last `consecutive_failures` syncs failed.
    Failed {
        /// How many syncs failed in a row (at least 1).
        consecutive_failures: u32,
        /// The provider's requested delay, if any.
        retry_after: Option<Duration>,
    },
}

#[derive(Clone, Debug)]
struct Entry {
    due: Option<SystemTime>,
    class: u8,
    attempts: VecDeque<SystemTime>,
}

/// The refresh scheduler (see the module docs). `K` is the object key, e.g. `namespace/name`.
#[derive(Clone, Debug)]
pub struct Scheduler<K: Ord + Clone + Hash> {
    config: SchedulerConfig,
    entries: HashMap<K, Entry>,
    queue: BTreeSet<(u8, SystemTime, K)>,
}

const CLASS_NEW: u8 = 0;
const CLASS_REFRESH: u8 = 1;
const HOUR: Duration = Duration::from_secs(3600);

impl<K: Ord + Clone + Hash> Scheduler<K> {
    /// An empty scheduler.
    pub fn new(config: SchedulerConfig) -> Self {
        Scheduler {
            config,
            entries: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }

    /// Number of objects known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no object is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds or updates an object after creation, a spec change or a sync attempt.
    /// `interval` `None` (or zero) means no periodic refresh (CreatedOnce, OnChange, `0`).
    /// `last_sync` is when the last attempt started (success or failure).
    pub fn upsert(
        &mut self,
        key: K,
        interval: Option<Duration>,
        last_sync: Option<SystemTime>,
        state: SyncState,
    ) {
        let attempts = match self.entries.remove(&key) {
            Some(old) => {
                if let Some(due) = old.due {
                    self.queue.remove(&(old.class, due, key.clone()));
                }
                old.attempts
            }
            None => VecDeque::new(),
        };
        let interval = interval.filter(|i| !i.is_zero());
        let (class, due) = match (state, last_sync) {
            (SyncState::NeverSynced, _) | (SyncState::Synced, None) => {
                (CLASS_NEW, Some(SystemTime::UNIX_EPOCH))
            }
            (SyncState::Synced, Some(last)) => (
                CLASS_REFRESH,
                interval.map(|i| next_phase_time(&key, i, last)),
            ),
            (
                SyncState::Failed {
                    consecutive_failures,
                    retry_after,
                },
                last,
            ) => {
                let last = last.unwrap_or(SystemTime::UNIX_EPOCH);
                let exp = consecutive_failures.saturating_sub(1).min(30);
                let backoff = self
                    .config
                    .backoff_base
                    .saturating_mul(1u32 << exp)
                    .min(self.config.backoff_cap);
                let delay = retry_after.map_or(backoff, |r| r.max(backoff));
                (CLASS_REFRESH, Some(last + delay))
            }
        };
        let mut entry = Entry {
            due,
            class,
            attempts,
        };
        self.apply_ceiling(&mut entry);
        if let Some(due) = entry.due {
            self.queue.insert((entry.class, due, key.clone()));
        }
        self.entries.insert(key, entry);
    }

    /// Moves a due time past the hourly attempt ceiling.
    fn apply_ceiling(&self, entry: &mut Entry) {
        let max = self.config.max_attempts_per_hour.max(1);
        if let Some(due) = entry.due
            && entry.attempts.len() >= max
        {
            let idx = entry.attempts.len() - max;
            let earliest_allowed = entry.attempts[idx] + HOUR;
            if earliest_allowed > due {
                entry.due = Some(earliest_allowed);
                entry.class = CLASS_REFRESH;
            }
        }
    }

    /// Forgets an object.
    pub fn remove(&mut self, key: &K) {
        if let Some(old) = self.entries.remove(key)
            && let Some(due) = old.due
        {
            self.queue.remove(&(old.class, due, key.clone()));
        }
    }

    /// When the object is due next (`None`: not scheduled, or popped and not yet upserted).
    pub fn due_at(&self, key: &K) -> Option<SystemTime> {
        self.entries.get(key).and_then(|e| e.due)
    }

    /// The earliest due time of any object. New objects report the UNIX epoch (due at once).
    pub fn next_due(&self) -> Option<SystemTime> {
        self.queue.iter().next().map(|(_, due, _)| *due)
    }

    /// Takes the next object due at `now`: new objects first, then refreshes by due time.
    /// The object stays known but unscheduled until the next [`upsert`](Self::upsert).
    pub fn pop_due(&mut self, now: SystemTime) -> Option<K> {
        let first = self.queue.iter().next()?.clone();
        if first.1 > now {
            return None;
        }
        self.queue.remove(&first);
        let key = first.2;
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.due = None;
            entry.attempts.push_back(now);
            while entry
                .attempts
                .front()
                .is_some_and(|t| now.duration_since(*t).unwrap_or_default() >= HOUR)
            {
                entry.attempts.pop_front();
            }
        }
        Some(key)
    }
}

/// The object's phase inside an interval: a stable FNV-1a hash of its key.
pub fn phase_of<K: Hash>(key: &K, interval: Duration) -> Duration {
    let mut h = Fnv1a::default();
    key.hash(&mut h);
    let nanos = interval.as_nanos().max(1);
    Duration::from_nanos((u128::from(h.finish()) % nanos) as u64)
}

/// The first time after `last` whose offset into `interval` equals the key's phase.
fn next_phase_time<K: Hash>(key: &K, interval: Duration, last: SystemTime) -> SystemTime {
    let phase = phase_of(key, interval).as_nanos();
    let i = interval.as_nanos();
    let since_epoch = last
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let offset = since_epoch % i;
    let wait = if phase > offset {
        phase - offset
    } else {
        i - offset + phase
    };
    last + Duration::from_nanos(wait.min(u128::from(u64::MAX)) as u64)
}

/// A stable, fast 64-bit hasher (FNV-1a with a final mix), the same across runs and builds.
#[derive(Clone, Copy)]
pub struct StableHasher(u64);

type Fnv1a = StableHasher;

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        // Final avalanche (splitmix64) so nearby keys land far apart.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn refresh_never_later_than_interval() {
        let mut s = Scheduler::new(SchedulerConfig::default());
        let hour = Duration::from_secs(3600);
        for i in 0..100 {
            let key = format!("ns/es-{i}");
            s.upsert(
                key.clone(),
                Some(hour),
                Some(t(1_000_000)),
                SyncState::Synced,
            );
            let due = s.due_at(&key).unwrap();
            assert!(due > t(1_000_000) && due <= t(1_000_000) + hour);
        }
    }

    #[test]
    fn failures_back_off_and_cap() {
        let mut s = Scheduler::new(SchedulerConfig::default());
        let key = "ns/a".to_string();
        for (n, expected) in [(1, 5), (2, 10), (3, 20), (10, 300)] {
            s.upsert(
                key.clone(),
                Some(Duration::from_secs(3600)),
                Some(t(100)),
                SyncState::Failed {
                    consecutive_failures: n,
                    retry_after: None,
                },
            );
            assert_eq!(s.due_at(&key), Some(t(100 + expected)), "failures {n}");
        }
        s.upsert(
            key.clone(),
            None,
            Some(t(100)),
            SyncState::Failed {
                consecutive_failures: 1,
                retry_after: Some(Duration::from_secs(42)),
            },
        );
        assert_eq!(s.due_at(&key), Some(t(142)));
    }

    #[test]
    fn hourly_ceiling_holds() {
        let config = SchedulerConfig {
            max_attempts_per_hour: 3,
            ..Default::default()
        };
        let mut s = Scheduler::new(config);
        let key = "ns/flappy".to_string();
        s.upsert(key.clone(), None, None, SyncState::NeverSynced);
        let mut now = t(10_000);
        let mut pops = Vec::new();
        for _ in 0..2000 {
            if let Some(k) = s.pop_due(now) {
                pops.push(now);
                s.upsert(
                    k,
                    Some(Duration::from_secs(60)),
                    Some(now),
                    SyncState::Failed {
                        consecutive_failures: 1,
                        retry_after: None,
                    },
                );
            }
            now += Duration::from_secs(5);
        }
        for w in pops.windows(4) {
            assert!(
                w[3].duration_since(w[0]).unwrap() >= HOUR,
                "more than 3 attempts in an hour"
            );
        }
        assert!(pops.len() >= 3);
    }
}
