//! Combines concurrent reads of the latest version of distinct secrets into
//! `BatchGetSecretValue` calls.
//!
//! The first read of an id opens a batch and starts a timer of `batch_window`; reads arriving
//! before it fires join the batch, which goes out when the timer fires or as soon as it holds
//! `batch_size` ids. A read of an id that is already waiting or in flight joins that request
//! (single-flight), so N readers of one secret cost one id in one call. Each id's result —
//! value or its own `errors()` entry — goes to exactly the callers that asked for it.
//!
//! A batch of one id is sent as `GetSecretValue`. If the identity may not call
//! `BatchGetSecretValue`, or the call is rejected as invalid as a whole, the ids are read one by
//! one (and after a denial, batching stays off for this provider instance).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::oneshot;

use super::api::{BatchFailure, SecretsManagerApi};
use crate::error::{FetchResult, dropped};

#[derive(Default)]
struct State {
    /// Callers per id, from the moment the id is queued until its result is delivered.
    waiters: HashMap<String, Vec<oneshot::Sender<FetchResult>>>,
    /// Ids of the batch being collected.
    open: Vec<String>,
    /// Bumped whenever `open` is taken, so a stale timer does nothing.
    generation: u64,
}

/// The batcher of one provider instance.
pub(crate) struct Batcher {
    api: Arc<SecretsManagerApi>,
    window: Duration,
    size: usize,
    state: Mutex<State>,
    one_by_one: AtomicBool,
}

impl Batcher {
    /// A batcher sending at most `size` (1..=20) ids per call.
    pub(crate) fn new(api: Arc<SecretsManagerApi>, window: Duration, size: usize) -> Arc<Self> {
        Arc::new(Batcher {
            api,
            window,
            size: size.clamp(1, super::MAX_BATCH_SIZE),
            state: Mutex::new(State::default()),
            one_by_one: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the `AWSCURRENT` version of `id` through the batch.
    pub(crate) async fn get(self: &Arc<Self>, id: String) -> FetchResult {
        let receiver = self.enqueue_many(vec![id]).pop();
        match receiver {
            Some(rx) => rx.await.unwrap_or_else(|_| Err(dropped())),
            None => Err(dropped()),
        }
    }

    /// Queues many reads at once (one lock, batches sent only after every id is queued, so
    /// `fetch_many` batches deterministically); returns one receiver per id, in order.
    pub(crate) fn enqueue_many(
        self: &Arc<Self>,
        ids: Vec<String>,
    ) -> Vec<oneshot::Receiver<FetchResult>> {
        let mut receivers = Vec::with_capacity(ids.len());
        let mut full_batches = Vec::new();
        let mut timer_for = None;
        {
            let mut state = self.lock();
            for id in ids {
                let (tx, rx) = oneshot::channel();
                receivers.push(rx);
                if let Some(list) = state.waiters.get_mut(&id) {
                    list.push(tx);
                    continue;
                }
                state.waiters.insert(id.clone(), vec![tx]);
                state.open.push(id);
                if state.open.len() >= self.size {
                    state.generation += 1;
                    full_batches.push(std::mem::take(&mut state.open));
                    timer_for = None;
                } else if state.open.len() == 1 {
                    timer_for = Some(state.generation);
                }
            }
        }
        for ids in full_batches {
            tokio::spawn(self.clone().flush(ids));
        }
        if let Some(generation) = timer_for {
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(this.window).await;
                let ids = {
                    let mut state = this.lock();
                    if state.generation != generation || state.open.is_empty() {
                        return;
                    }
                    state.generation += 1;
                    std::mem::take(&mut state.open)
                };
                this.flush(ids).await;
            });
        }
        receivers
    }

    async fn one_by_one(&self, ids: &[String]) -> Vec<FetchResult> {
        join_all(ids.iter().map(|id| self.api.get_secret_value(id, None))).await
    }

    async fn flush(self: Arc<Self>, ids: Vec<String>) {
        let results = if ids.len() == 1 || self.one_by_one.load(Ordering::Relaxed) {
            self.one_by_one(&ids).await
        } else {
            match self.api.batch_get(&ids).await {
                Ok(results) => results,
                Err(BatchFailure::BatchDenied) => {
                    if !self.one_by_one.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            region = %self.api.region,
                            "secretsmanager:BatchGetSecretValue is denied for this store's \
                             identity; reading secrets one by one (grant it to batch reads)"
                        );
                    }
                    self.one_by_one(&ids).await
                }
                Err(BatchFailure::Rejected) => self.one_by_one(&ids).await,
                Err(BatchFailure::Failed(err)) => vec![Err(err); ids.len()],
            }
        };
        let mut state = self.lock();
        for (id, result) in ids.iter().zip(results) {
            for waiter in state.waiters.remove(id).unwrap_or_default() {
                let _ = waiter.send(result.clone());
            }
        }
    }
}
