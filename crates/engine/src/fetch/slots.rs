//! Batch slots: the distinct keys read through one batching provider (AWS Secrets Manager's
//! `BatchGetSecretValue`, 20 ids per call), kept sorted and cut into slots of one batch each.
//!
//! A read of a key of a slot whose keys were not read together lately reads the whole slot in
//! one `fetch_many` ([`FetchLayer::fetch`](super::FetchLayer::fetch)), and refreshes are
//! aligned per slot ([`FetchLayer::batch_slot`](super::FetchLayer::batch_slot),
//! [`crate::refresh::slot_lead`]), so that a refresh cycle over K distinct keys costs about
//! ⌈K/20⌉ calls instead of K (issue #20). Slots are ranks in the sorted key list: a new key
//! moves at most one key of each later slot into the next one.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Ids per slot: the `BatchGetSecretValue` limit.
pub const SLOT_SIZE: usize = 20;

/// Distinct keys remembered per store context; past it the list starts again (keys of deleted
/// ExternalSecrets are never removed one by one).
const MAX_KEYS: usize = 65_536;

/// Where a key sits: its slot and the store's number of slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index of the key's slot, `0..count`.
    pub index: usize,
    /// Slots of the store.
    pub count: usize,
}

/// The keys and slot prefetch times of one store context.
#[derive(Default)]
pub(super) struct StoreSlots {
    /// Sorted, distinct.
    keys: Vec<String>,
    /// When each slot was last read as a whole.
    read_at: HashMap<usize, Instant>,
}

impl StoreSlots {
    /// Records `key` and returns its slot.
    pub(super) fn register(&mut self, key: &str) -> Slot {
        let rank = match self.keys.binary_search_by(|k| k.as_str().cmp(key)) {
            Ok(rank) => rank,
            Err(rank) => {
                if self.keys.len() >= MAX_KEYS {
                    self.keys.clear();
                    self.read_at.clear();
                    self.keys.push(key.to_string());
                    0
                } else {
                    self.keys.insert(rank, key.to_string());
                    rank
                }
            }
        };
        self.slot_at(rank)
    }

    /// The slot of `key`, if it was registered.
    pub(super) fn slot_of(&self, key: &str) -> Option<Slot> {
        let rank = self.keys.binary_search_by(|k| k.as_str().cmp(key)).ok()?;
        Some(self.slot_at(rank))
    }

    fn slot_at(&self, rank: usize) -> Slot {
        Slot {
            index: rank / SLOT_SIZE,
            count: self.keys.len().div_ceil(SLOT_SIZE),
        }
    }

    /// The keys of `slot` when it was not read as a whole within `gap` of `now`; `None`
    /// otherwise (or when there is no such slot).
    pub(super) fn due(&self, slot: usize, now: Instant, gap: Duration) -> Option<Vec<String>> {
        if self
            .read_at
            .get(&slot)
            .is_some_and(|at| now.saturating_duration_since(*at) < gap)
        {
            return None;
        }
        let start = slot.checked_mul(SLOT_SIZE)?;
        let keys = self
            .keys
            .get(start..(start + SLOT_SIZE).min(self.keys.len()))?;
        Some(keys.to_vec())
    }

    /// Records that `slot` was read as a whole at `now`.
    pub(super) fn mark(&mut self, slot: usize, now: Instant) {
        self.read_at.insert(slot, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> String {
        format!("key-{i:04}")
    }

    #[test]
    fn keys_fill_slots_of_twenty_in_sorted_order() {
        let mut slots = StoreSlots::default();
        // registered out of order
        for i in (0..45).rev() {
            slots.register(&key(i));
        }
        // (key, expected slot index)
        let cases = [(0, 0), (19, 0), (20, 1), (39, 1), (40, 2), (44, 2)];
        for (i, index) in cases {
            assert_eq!(
                slots.slot_of(&key(i)),
                Some(Slot { index, count: 3 }),
                "{i}"
            );
        }
        assert_eq!(slots.slot_of("unknown"), None);
        // registering again changes nothing
        assert_eq!(slots.register(&key(20)), Slot { index: 1, count: 3 });
        // a new key moves the last key of each later slot into the next one
        slots.register("key-0000a");
        assert_eq!(slots.slot_of(&key(19)).map(|s| s.index), Some(1));
        assert_eq!(slots.slot_of(&key(18)).map(|s| s.index), Some(0));
    }

    #[test]
    fn a_slot_is_read_as_a_whole_at_most_once_per_gap() {
        let mut slots = StoreSlots::default();
        for i in 0..25 {
            slots.register(&key(i));
        }
        let gap = Duration::from_secs(10);
        let t0 = Instant::now();
        let first = slots.due(0, t0, gap).expect("due");
        assert_eq!(first, (0..20).map(key).collect::<Vec<_>>());
        assert!(slots.due(0, t0, gap).is_some(), "due until marked");
        slots.mark(0, t0);
        assert_eq!(slots.due(0, t0 + Duration::from_secs(9), gap), None);
        // another slot is independent; the last slot holds the rest
        assert_eq!(
            slots.due(1, t0, gap),
            Some((20..25).map(key).collect::<Vec<_>>())
        );
        assert!(slots.due(0, t0 + gap, gap).is_some());
        // a slot past the end has nothing to read
        assert_eq!(slots.due(7, t0, gap), None);
    }

    #[test]
    fn the_key_list_is_bounded() {
        let mut slots = StoreSlots::default();
        for i in 0..MAX_KEYS {
            slots.keys.push(format!("{i:08}"));
        }
        let slot = slots.register("zzz");
        assert_eq!(slot, Slot { index: 0, count: 1 });
        assert_eq!(slots.keys.len(), 1);
    }
}
