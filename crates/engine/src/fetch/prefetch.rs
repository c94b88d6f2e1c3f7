//! Reads planned ahead: many known reads of one store sent through the provider's batch API in
//! one go, then served to the syncs that ask for them through the coalescing table.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt;
use secretsync_model::FetchRequest;
use tokio::time::Instant;

use super::{
    CallStatus, FetchLayer, ProviderCall, ReadKey, ReadOp, ReadTable, ReadValue, StoreHandle, lock,
    reusable,
};

impl FetchLayer {
    /// Reads `requests` through `store` with one `fetch_many` call (the provider splits it into
    /// full batches), skipping duplicates and reads already held, and keeps each result for
    /// identical reads within [`FetchConfig::coalesce_window`](super::FetchConfig). Failures
    /// are not kept: the sync asking for that read calls the provider again, with retries, and
    /// reports the error itself. Returns the number of reads sent.
    pub async fn prefetch(&self, store: &StoreHandle, requests: Vec<FetchRequest>) -> usize {
        let mut seen = HashSet::new();
        let window = self.config.coalesce_window;
        let held = |table: &ReadTable, request: &FetchRequest| {
            table
                .entries
                .get(&self.key_of(store, request))
                .is_some_and(|read| reusable(read, Instant::now(), window))
        };
        let wanted: Vec<FetchRequest> = {
            let table = lock(&self.reads);
            requests
                .into_iter()
                .filter(|r| seen.insert(r.clone()) && !held(&table, r))
                .collect()
        };
        if wanted.is_empty() {
            return 0;
        }
        let results = {
            let _permit = store.gate.enter().await;
            let started = Instant::now();
            let results = store.provider.fetch_many(&wanted).await;
            let elapsed = started.elapsed();
            self.counters
                .provider_calls
                .fetch_add(wanted.len() as u64, Ordering::Relaxed);
            for result in &results {
                if result.is_err() {
                    self.counters
                        .provider_errors
                        .fetch_add(1, Ordering::Relaxed);
                }
                if let Some(observer) = &self.observer {
                    observer.provider_call(&ProviderCall {
                        labels: store.fetch_labels,
                        status: if result.is_ok() {
                            CallStatus::Success
                        } else {
                            CallStatus::Error
                        },
                        elapsed,
                    });
                }
            }
            results
        };
        let done = Instant::now();
        let mut table = lock(&self.reads);
        for (request, result) in wanted.iter().zip(results) {
            let Ok(value) = result else { continue };
            let read = futures::future::ready((Ok(Arc::new(ReadValue::One(value))), done))
                .boxed()
                .shared();
            if !held(&table, request) {
                table.entries.insert(self.key_of(store, request), read);
            }
        }
        wanted.len()
    }

    fn key_of(&self, store: &StoreHandle, request: &FetchRequest) -> ReadKey {
        ReadKey {
            context: store.context.clone(),
            provider_generation: store.generation,
            op: ReadOp::Fetch(request.clone()),
        }
    }
}
