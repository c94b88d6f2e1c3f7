//! First-sync priority and deterministic refresh spreading for the ExternalSecret controller.
//!
//! - [`SyncGate`]: at most `concurrency` ExternalSecret reconciles run at once. When a slot
//!   frees up, a waiting first sync (never synced, or its spec changed) always gets it before a
//!   waiting refresh, like the engine's [`Scheduler`](secretsync_engine::Scheduler); within a
//!   class the order is first come, first served.
//! - [`refresh_lead`]: how much earlier than the interval an object's periodic refresh is
//!   scheduled, derived from the engine's [`phase_of`] hash of `namespace/name` instead of a
//!   random draw: the same object always gets the same offset, objects created together spread
//!   evenly over the jitter window.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secretsync_engine::scheduler::phase_of;
use tokio::sync::oneshot;

/// Which wait queue a reconcile joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncClass {
    /// Never synced, spec changed since the last sync, or being deleted: served first.
    First,
    /// Periodic refresh, forced refresh or drift repair.
    Refresh,
}

#[derive(Default)]
struct GateState {
    free: usize,
    first: VecDeque<oneshot::Sender<Permit>>,
    refresh: VecDeque<oneshot::Sender<Permit>>,
}

/// A counting gate whose waiting first syncs overtake waiting refreshes.
#[derive(Clone)]
pub struct SyncGate {
    state: Arc<Mutex<GateState>>,
}

/// A held slot of the [`SyncGate`]; dropping it hands the slot to the next waiter.
pub struct Permit {
    state: Option<Arc<Mutex<GateState>>>,
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

    /// Waits for a slot. A first sync only waits behind other first syncs.
    pub async fn acquire(&self, class: SyncClass) -> Permit {
        let rx = {
            let mut s = Self::lock(&self.state);
            let blocked = match class {
                SyncClass::First => !s.first.is_empty(),
                SyncClass::Refresh => !s.first.is_empty() || !s.refresh.is_empty(),
            };
            if s.free > 0 && !blocked {
                s.free -= 1;
                return Permit {
                    state: Some(self.state.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            match class {
                SyncClass::First => s.first.push_back(tx),
                SyncClass::Refresh => s.refresh.push_back(tx),
            }
            rx
        };
        match rx.await {
            Ok(permit) => permit,
            // The gate never drops a queued sender without sending; keep the type total anyway.
            Err(_) => Permit { state: None },
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
        loop {
            let next = s.first.pop_front().or_else(|| s.refresh.pop_front());
            let Some(tx) = next else {
                s.free += 1;
                return;
            };
            // A waiter whose reconcile was cancelled has dropped its receiver: the permit comes
            // back (with `state` unset so its drop is a no-op) and the next waiter is tried.
            let permit = Permit {
                state: Some(state.clone()),
            };
            match tx.send(permit) {
                Ok(()) => return,
                Err(mut unsent) => {
                    unsent.state = None;
                }
            }
        }
    }
}

/// The fraction of the refresh interval by which an object's refresh is scheduled early:
/// `jitter · phase(namespace/name) / interval`, in `[0, jitter]` (jitter clamped to 0..=0.5).
/// Deterministic: the engine's [`phase_of`] hash of the same key the engine's scheduler uses.
pub fn refresh_lead(namespace: &str, name: &str, interval: Duration, jitter: f64) -> f64 {
    let jitter = jitter.clamp(0.0, 0.5);
    if jitter == 0.0 || interval.is_zero() {
        return 0.0;
    }
    let key = format!("{namespace}/{name}");
    let phase = phase_of(&key, interval).as_secs_f64();
    jitter * (phase / interval.as_secs_f64()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_is_deterministic_and_bounded() {
        let i = Duration::from_secs(3600);
        let a = refresh_lead("ns", "a", i, 0.1);
        assert_eq!(a, refresh_lead("ns", "a", i, 0.1));
        assert!((0.0..=0.1).contains(&a));
        assert_eq!(refresh_lead("ns", "a", i, 0.0), 0.0);
        let leads: Vec<f64> = (0..200)
            .map(|n| refresh_lead("ns", &format!("es-{n}"), i, 0.1))
            .collect();
        assert!(leads.iter().all(|l| (0.0..=0.1).contains(l)));
        let low = leads.iter().filter(|l| **l < 0.05).count();
        assert!(
            (60..=140).contains(&low),
            "leads spread over the window: {low} of 200 below half"
        );
    }

    #[tokio::test]
    async fn first_syncs_overtake_waiting_refreshes() {
        let gate = SyncGate::new(1);
        let held = gate.acquire(SyncClass::Refresh).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, class) in [
            ("refresh-1", SyncClass::Refresh),
            ("refresh-2", SyncClass::Refresh),
            ("first-1", SyncClass::First),
            ("refresh-3", SyncClass::Refresh),
            ("first-2", SyncClass::First),
        ] {
            let waiter = gate.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _p = waiter.acquire(class).await;
                order.lock().unwrap_or_else(|e| e.into_inner()).push(name);
            }));
            // Queue them in this order.
            while gate.waiting().0 + gate.waiting().1 < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        for t in tasks {
            t.await.expect("task");
        }
        let order = order.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            order,
            ["first-1", "first-2", "refresh-1", "refresh-2", "refresh-3"]
        );
        assert_eq!(gate.waiting(), (0, 0));
    }

    #[tokio::test]
    async fn a_cancelled_waiter_does_not_leak_its_slot() {
        let gate = SyncGate::new(1);
        let held = gate.acquire(SyncClass::Refresh).await;
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _p = gate.acquire(SyncClass::First).await;
            })
        };
        while gate.waiting().0 == 0 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        drop(held);
        let again = tokio::time::timeout(Duration::from_secs(1), gate.acquire(SyncClass::Refresh))
            .await
            .expect("the slot came back");
        drop(again);
    }
}
