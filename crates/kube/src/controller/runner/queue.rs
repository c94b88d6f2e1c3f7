//! [`DueQueue`]: when each ExternalSecret is next due, which are being reconciled, and what
//! each object last looked like to the trigger filter — one compact slot per object.
//!
//! kube-runtime's scheduler kept two copies of every requeue (a map entry and a delay-queue
//! entry, each with an `ObjectRef` of four strings) plus a predicate cache entry and its
//! runner's table of pending objects; none of those tables shrinks after the first sync put
//! every object in them. Here an object costs one [`NsMap`] slot and at most one live heap
//! entry.
//!
//! Decisions are plain data: the runner ([`super::run`]) feeds in triggers, reconcile results
//! and the time; the queue answers what to start. The time is passed in, so tests need no
//! clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tokio::time::Instant;

use crate::cache::ns_map::NsMap;

/// An object's key: namespace and name.
pub(crate) type Key = (Box<str>, Box<str>);

/// One object's place in the queue.
#[derive(Debug, Default)]
struct Slot {
    /// When it is next due; `None`: when something changes.
    due: Option<Instant>,
    /// A reconcile of it is running (it is not started twice at once).
    running: bool,
    /// The trigger fingerprint of the object last seen; `None` once deleted.
    fingerprint: Option<u64>,
    /// When that fingerprint was first seen: the object's spec, labels and annotations as the
    /// cache holds them now were all written before this instant.
    changed_at: Option<Instant>,
}

/// A heap entry: `namespace/name` is due at `at` (stale once the slot says otherwise).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    namespace: Box<str>,
    name: Box<str>,
}

/// Heap entries beyond twice the slots (plus this) are rebuilt away.
const STALE_ALLOWANCE: usize = 1024;

/// When each object is due; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct DueQueue {
    slots: NsMap<Slot>,
    heap: BinaryHeap<Reverse<Due>>,
}

impl DueQueue {
    /// Records `fingerprint` as what `namespace/name` looks like at `now`; whether it differs
    /// from the one recorded before (a first sight, or a sight after deletion, differs). A
    /// difference also moves [`DueQueue::changed_at`] to `now`.
    pub(crate) fn changed(
        &mut self,
        namespace: &str,
        name: &str,
        fingerprint: u64,
        now: Instant,
    ) -> bool {
        let slot = self
            .slots
            .get_or_insert_with(namespace, name, Slot::default);
        let changed = slot.fingerprint.replace(fingerprint) != Some(fingerprint);
        if changed {
            slot.changed_at = Some(now);
        }
        changed
    }

    /// When the fingerprint `namespace/name` has now was first seen (`None`: never seen, or
    /// known only from a trigger).
    pub(crate) fn changed_at(&self, namespace: &str, name: &str) -> Option<Instant> {
        self.slots.get(namespace, name)?.changed_at
    }

    /// Makes `namespace/name` due at `at`, unless it is due earlier already. While it runs,
    /// the time is kept for when it finishes.
    pub(crate) fn schedule(&mut self, namespace: &str, name: &str, at: Instant) {
        let slot = self
            .slots
            .get_or_insert_with(namespace, name, Slot::default);
        if slot.due.is_some_and(|due| due <= at) {
            return;
        }
        slot.due = Some(at);
        if !slot.running {
            self.push(at, namespace, name);
        }
    }

    /// The next object due at `now` that is not running, now marked running; `None` when
    /// nothing is due.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Key> {
        while self.heap.peek().is_some_and(|Reverse(top)| top.at <= now) {
            let Reverse(due) = self.heap.pop()?;
            let Some(slot) = self.slots.get_mut(&due.namespace, &due.name) else {
                continue;
            };
            if slot.running || slot.due != Some(due.at) {
                continue;
            }
            slot.due = None;
            slot.running = true;
            return Some((due.namespace, due.name));
        }
        None
    }

    /// When the next heap entry falls due (it may be stale: popping it then yields nothing).
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(due)| due.at)
    }

    /// Marks the reconcile of `namespace/name` finished; `again`: when it asked to run next.
    /// A trigger that arrived meanwhile keeps its time if earlier. An object deleted while it
    /// ran and not due again is dropped.
    pub(crate) fn finish(&mut self, namespace: &str, name: &str, again: Option<Instant>) {
        let Some(slot) = self.slots.get_mut(namespace, name) else {
            return;
        };
        slot.running = false;
        let due = match (slot.due, again) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        slot.due = due;
        match due {
            Some(at) => self.push(at, namespace, name),
            None if slot.fingerprint.is_none() => {
                self.slots.remove(namespace, name);
            }
            None => {}
        }
    }

    /// Forgets `namespace/name` (deleted, or gone from the cache): nothing is due for it any
    /// more. A running reconcile finishes first ([`DueQueue::finish`]).
    pub(crate) fn forget(&mut self, namespace: &str, name: &str) {
        match self.slots.get_mut(namespace, name) {
            Some(slot) if slot.running => {
                slot.due = None;
                slot.fingerprint = None;
            }
            Some(_) => {
                self.slots.remove(namespace, name);
            }
            None => {}
        }
    }

    /// Keeps only the objects `exists` confirms, and those running (after a watch re-list,
    /// which reports no deletion for objects that went away meanwhile).
    pub(crate) fn retain_existing(&mut self, mut exists: impl FnMut(&str, &str) -> bool) {
        self.slots
            .retain(|namespace, name, slot| slot.running || exists(namespace, name));
        self.rebuild();
    }

    /// How many objects have a slot.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn push(&mut self, at: Instant, namespace: &str, name: &str) {
        self.heap.push(Reverse(Due {
            at,
            namespace: namespace.into(),
            name: name.into(),
        }));
        if self.heap.len() > 2 * self.slots.len() + STALE_ALLOWANCE {
            self.rebuild();
        }
    }

    /// Rebuilds the heap from the slots: one entry per object due and not running.
    fn rebuild(&mut self) {
        let mut live: Vec<Reverse<Due>> = Vec::with_capacity(self.slots.len());
        for (namespace, name, slot) in self.slots.iter() {
            if let (Some(at), false) = (slot.due, slot.running) {
                live.push(Reverse(Due {
                    at,
                    namespace: namespace.into(),
                    name: name.into(),
                }));
            }
        }
        self.heap = BinaryHeap::from(live);
    }

    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
