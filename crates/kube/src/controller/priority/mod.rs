//! First-sync priority and fair sharing of the ExternalSecret sync slots.
//!
//! [`SyncGate`]: at most `concurrency` ExternalSecret reconciles run at once. When a slot frees
//! up, a waiting first sync (never synced, or its spec changed) always gets it before a waiting
//! refresh. Within a class, namespaces share fairly: the next slot goes to a waiting namespace
//! holding the fewest slots, ties broken by which namespace has waited longest (round robin), and
//! within a namespace first come, first served. So one tenant with many (or slow) ExternalSecrets
//! cannot keep the others waiting behind its queue. The choice is [`FairQueue`], a pure data
//! structure.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Which wait queue a reconcile joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncClass {
    /// Never synced, spec changed since the last sync, or being deleted: served first.
    First,
    /// Periodic refresh, forced refresh or drift repair.
    Refresh,
}

/// Waiters of one class, per namespace. `T` is what a waiter is woken with.
#[derive(Debug)]
pub struct FairQueue<T> {
    queues: BTreeMap<String, VecDeque<T>>,
    /// Namespaces with waiters, longest-waiting first.
    order: VecDeque<String>,
    len: usize,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        FairQueue {
            queues: BTreeMap::new(),
            order: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> FairQueue<T> {
    /// Queues a waiter of `namespace`.
    pub fn push(&mut self, namespace: &str, waiter: T) {
        let queue = self.queues.entry(namespace.to_string()).or_default();
        if queue.is_empty() {
            self.order.push_back(namespace.to_string());
        }
        queue.push_back(waiter);
        self.len += 1;
    }

    /// Takes the next waiter: from the waiting namespace holding the fewest slots (`held`),
    /// ties to the one waiting longest; that namespace then goes to the back of the order.
    pub fn pop(&mut self, held: &HashMap<String, usize>) -> Option<(String, T)> {
        let slots = |ns: &String| held.get(ns).copied().unwrap_or(0);
        let (position, _) = self
            .order
            .iter()
            .enumerate()
            .min_by_key(|(i, ns)| (slots(ns), *i))?;
        let namespace = self.order.remove(position)?;
        let queue = self.queues.get_mut(&namespace)?;
        let waiter = queue.pop_front()?;
        self.len -= 1;
        if queue.is_empty() {
            self.queues.remove(&namespace);
        } else {
            self.order.push_back(namespace.clone());
        }
        Some((namespace, waiter))
    }

    /// Number of waiters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True without waiters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Default)]
struct GateState {
    free: usize,
    held: HashMap<String, usize>,
    first: FairQueue<oneshot::Sender<Permit>>,
    refresh: FairQueue<oneshot::Sender<Permit>>,
}

impl GateState {
    fn take(&mut self, namespace: &str) {
        *self.held.entry(namespace.to_string()).or_default() += 1;
    }

    fn release(&mut self, namespace: &str) {
        if let Some(n) = self.held.get_mut(namespace) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(namespace);
            }
        }
    }
}

/// A counting gate whose waiting first syncs overtake waiting refreshes, fair between
/// namespaces within each class.
#[derive(Clone)]
pub struct SyncGate {
    state: Arc<Mutex<GateState>>,
}

/// A held slot of the [`SyncGate`]; dropping it hands the slot to the next waiter.
pub struct Permit {
    state: Option<Arc<Mutex<GateState>>>,
    namespace: String,
}

impl SyncGate {
    /// A gate with `slots` concurrent holders (at least one).
    pub fn new(slots: usize) -> Self {
        SyncGate {
            state: Arc::new(Mutex::new(GateState {
                free: slots.max(1),
                ..GateState::default()
            })),
        }
    }

    fn lock(state: &Mutex<GateState>) -> std::sync::MutexGuard<'_, GateState> {
        state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a slot for a reconcile of `namespace`. A first sync only waits behind other
    /// first syncs.
    pub async fn acquire(&self, class: SyncClass, namespace: &str) -> Permit {
        let rx = {
            let mut s = Self::lock(&self.state);
            let blocked = match class {
                SyncClass::First => !s.first.is_empty(),
                SyncClass::Refresh => !s.first.is_empty() || !s.refresh.is_empty(),
            };
            if s.free > 0 && !blocked {
                s.free -= 1;
                s.take(namespace);
                return Permit {
                    state: Some(self.state.clone()),
                    namespace: namespace.to_string(),
                };
            }
            let (tx, rx) = oneshot::channel();
            match class {
                SyncClass::First => s.first.push(namespace, tx),
                SyncClass::Refresh => s.refresh.push(namespace, tx),
            }
            rx
        };
        match rx.await {
            Ok(permit) => permit,
            // The gate never drops a queued sender without sending; keep the type total anyway.
            Err(_) => Permit {
                state: None,
                namespace: namespace.to_string(),
            },
        }
    }

    /// Waiters currently queued: (first syncs, refreshes).
    pub fn waiting(&self) -> (usize, usize) {
        let s = Self::lock(&self.state);
        (s.first.len(), s.refresh.len())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let mut s = SyncGate::lock(&state);
        s.release(&self.namespace);
        loop {
            let GateState {
                held,
                first,
                refresh,
                ..
            } = &mut *s;
            let next = first.pop(held).or_else(|| refresh.pop(held));
            let Some((namespace, tx)) = next else {
                s.free += 1;
                return;
            };
            // A waiter whose reconcile was cancelled has dropped its receiver: the permit comes
            // back (with `state` unset so its drop is a no-op) and the next waiter is tried.
            s.take(&namespace);
            let permit = Permit {
                state: Some(state.clone()),
                namespace: namespace.clone(),
            };
            match tx.send(permit) {
                Ok(()) => return,
                Err(mut unsent) => {
                    unsent.state = None;
                    s.release(&namespace);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
