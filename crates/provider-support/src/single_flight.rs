//! Single-flight: identical concurrent requests are made once and every caller gets the result
//! (a failure too).
//!
//! The first caller of a key runs the work in its own task; callers arriving while it runs
//! wait for its result. If that first caller is cancelled before it finishes, a waiting caller
//! takes over and runs the work itself, so nobody is left without an answer. Nothing is
//! spawned and the work may borrow from its caller.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// Requests in flight by key; `V` is what one request produces (usually a `Result`).
pub struct SingleFlight<K, V> {
    waiting: Mutex<HashMap<K, Vec<oneshot::Sender<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> std::fmt::Debug for SingleFlight<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SingleFlight")
    }
}

enum Role<V> {
    Leader,
    Follower(oneshot::Receiver<V>),
}

/// Removes the key when the leader finishes or is cancelled (its followers then retry).
struct LeaderGuard<'a, K: Hash + Eq, V> {
    flight: &'a SingleFlight<K, V>,
    key: &'a K,
}

impl<K: Hash + Eq, V> Drop for LeaderGuard<'_, K, V> {
    fn drop(&mut self) {
        // Reached only when the leader was cancelled: dropping the senders wakes the
        // followers, and the first of them becomes the new leader.
        self.flight
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.key);
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Vec<oneshot::Sender<V>>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` unless a request with the same key is in flight, in which case this call
    /// waits for that one's result.
    pub async fn run<F, Fut>(&self, key: K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let mut work = Some(work);
        loop {
            let role = {
                let mut waiting = self.lock();
                match waiting.get_mut(&key) {
                    Some(list) => {
                        let (tx, rx) = oneshot::channel();
                        list.push(tx);
                        Role::Follower(rx)
                    }
                    None => {
                        waiting.insert(key.clone(), Vec::new());
                        Role::Leader
                    }
                }
            };
            match role {
                Role::Leader => {
                    let guard = LeaderGuard {
                        flight: self,
                        key: &key,
                    };
                    let Some(work) = work.take() else {
                        unreachable!("a caller leads at most once: it returns after leading")
                    };
                    let value = work().await;
                    let waiters = self.lock().remove(&key).unwrap_or_default();
                    std::mem::forget(guard);
                    for waiter in waiters {
                        let _ = waiter.send(value.clone());
                    }
                    return value;
                }
                Role::Follower(rx) => match rx.await {
                    Ok(value) => return value,
                    // The leader was cancelled: try again (possibly as the leader).
                    Err(_) => continue,
                },
            }
        }
    }

    /// Number of keys in flight (tests).
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn identical_requests_run_once_and_share_failures() {
        let flights = SingleFlight::<&str, Result<u32, String>>::new();
        let runs = AtomicUsize::new(0);
        let call = || {
            flights.run("k", || async {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err::<u32, String>("down".into())
            })
        };
        let results = futures::future::join_all((0..50).map(|_| call())).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for 50 callers");
        assert!(results.iter().all(|r| r == &Err("down".to_string())));
        assert_eq!(flights.in_flight(), 0);
        // Finished requests are forgotten: the next call runs again.
        let again = flights.run("k", || async { Ok(7) }).await;
        assert_eq!(again, Ok(7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_leader_hands_over_to_a_waiter() {
        let flights = SingleFlight::<u8, u32>::new();
        let runs = AtomicUsize::new(0);
        let work = || async {
            let n = runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            n as u32
        };
        let leader = flights.run(1, work);
        let follower = flights.run(1, work);
        // The leader gives up after 10 ms; the follower must still get an answer.
        let (led, followed) = tokio::join!(
            tokio::time::timeout(Duration::from_millis(10), leader),
            follower
        );
        assert!(led.is_err(), "the leader was cancelled");
        assert_eq!(followed, 1, "the follower ran the work itself");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(flights.in_flight(), 0);
    }
}
