//! Single-flight: identical requests in flight are made once and every caller gets the result.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use secretsync_model::{ProviderError, RemoteSecret};
use tokio::sync::oneshot;

/// What one fetch produces.
pub(crate) type FetchResult = Result<RemoteSecret, ProviderError>;

/// The error a caller sees when the task doing its request disappeared (runtime shutdown).
pub(crate) fn dropped() -> ProviderError {
    ProviderError::Unavailable("the request was abandoned before it completed".into())
}

/// Requests in flight by key.
pub(crate) struct SingleFlight<K> {
    waiting: Mutex<HashMap<K, Vec<oneshot::Sender<FetchResult>>>>,
}

impl<K: Hash + Eq + Clone + Send + 'static> SingleFlight<K> {
    /// An empty set.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(SingleFlight {
            waiting: Mutex::new(HashMap::new()),
        })
    }

    /// Runs `work` unless a request with the same key is in flight, in which case this call
    /// waits for that one's result. The work runs on its own task, so a caller that gives up
    /// does not cancel it for the others.
    pub(crate) async fn run<F, Fut>(self: &Arc<Self>, key: K, work: F) -> FetchResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = FetchResult> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let leader = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            match waiting.get_mut(&key) {
                Some(list) => {
                    list.push(tx);
                    false
                }
                None => {
                    waiting.insert(key.clone(), vec![tx]);
                    true
                }
            }
        };
        if leader {
            let future = work();
            let this = self.clone();
            tokio::spawn(async move {
                let result = future.await;
                let waiters = this
                    .waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key)
                    .unwrap_or_default();
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            });
        }
        rx.await.unwrap_or_else(|_| Err(dropped()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn identical_requests_run_once() {
        let flights = SingleFlight::<String>::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let calls = (0..50).map(|_| {
            let runs = runs.clone();
            let flights = flights.clone();
            async move {
                flights
                    .run("k".to_string(), move || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(RemoteSecret::new("v"))
                    })
                    .await
            }
        });
        let results = futures::future::join_all(calls).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_ok_and(|s| s.value.expose() == b"v"))
        );
        // Finished requests are forgotten: the next call runs again.
        let again = flights
            .run("k".to_string(), || async {
                Err(ProviderError::NotFound("k".into()))
            })
            .await;
        assert_eq!(again, Err(ProviderError::NotFound("k".into())));
    }
}
