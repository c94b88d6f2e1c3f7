//! Reads made together: many reads of one store sent through the provider's batch API in one
//! go, served to the syncs that ask for them through the coalescing table. Two users: reads
//! planned before a run ([`FetchLayer::prefetch`], the CLI) and the batch slots of a batching
//! provider ([`super::slots`]), read as a whole when one of their keys is read.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, join_all};
use secretsync_model::{FetchRequest, ProviderError, RemoteSecret};
use tokio::time::Instant;

use super::slots::Slot;
use super::{
    CallStatus, FetchLayer, ProviderCall, ReadKey, ReadOp, ReadTable, ReadValue, SharedRead,
    StoreHandle, TableRead, lock,
};

type SharedBatch =
    Shared<BoxFuture<'static, (Arc<Vec<Result<RemoteSecret, ProviderError>>>, Instant)>>;

impl FetchLayer {
    /// Reads `requests` through `store` with one `fetch_many` call (the provider splits it into
    /// full batches), skipping duplicates and reads already held, and keeps each result for
    /// identical reads within [`FetchConfig::coalesce_window`](super::FetchConfig). Failures
    /// are not kept: the sync asking for that read calls the provider again, with retries, and
    /// reports the error itself. Returns the number of reads sent.
    pub async fn prefetch(&self, store: &StoreHandle, requests: Vec<FetchRequest>) -> usize {
        match self.start_batch(store, requests, None) {
            Some((sent, reads)) => {
                join_all(reads).await;
                sent
            }
            None => 0,
        }
    }

    /// The batch slot of `key` read through a batching provider of `store` (any reader
    /// namespace's, the shared one first), once a read registered it; for aligning refreshes.
    pub fn batch_slot(
        &self,
        store: &secretsync_model::StoreId,
        reader_namespace: &str,
        key: &str,
    ) -> Option<Slot> {
        let slots = lock(&self.slots);
        [None, Some(reader_namespace.to_string())]
            .into_iter()
            .find_map(|reader| {
                let context = secretsync_model::provider::StoreContext {
                    store: store.clone(),
                    reader_namespace: reader,
                };
                slots.get(&context)?.slot_of(key)
            })
    }

    /// Before a single read of `key` through a batching `store`: registers the key in its
    /// batch slot and, unless the key is held or the slot was read lately
    /// ([`FetchConfig::slot_gap`](super::FetchConfig)), reads the slot's keys in one call (a
    /// slot holding only this key is left to the read itself).
    pub(super) fn read_slot(&self, store: &StoreHandle, key: &str, fresh_since: Option<Instant>) {
        let request = FetchRequest::latest(key);
        if self.holds(store, &request, fresh_since) {
            return;
        }
        let now = Instant::now();
        let (slot, due) = {
            let mut slots = lock(&self.slots);
            let entry = slots.entry((*store.context).clone()).or_default();
            let slot = entry.register(key);
            (slot, entry.due(slot.index, now, self.config.slot_gap))
        };
        let Some(keys) = due else { return };
        let requests: Vec<FetchRequest> = keys.into_iter().map(FetchRequest::latest).collect();
        let others = {
            let table = lock(&self.reads);
            requests
                .iter()
                .filter(|r| r.key != key && !self.held(&table, store, r, fresh_since))
                .count()
        };
        if others == 0 {
            return;
        }
        if let Some(entry) = lock(&self.slots).get_mut(&*store.context) {
            entry.mark(slot.index, now);
        }
        if let Some((_, reads)) = self.start_batch(store, requests, fresh_since) {
            // Every read of the slot completes (and can be purged) even if no sync awaits it.
            tokio::spawn(join_all(reads));
        }
    }

    fn holds(
        &self,
        store: &StoreHandle,
        request: &FetchRequest,
        fresh_since: Option<Instant>,
    ) -> bool {
        let table = lock(&self.reads);
        self.held(&table, store, request, fresh_since)
    }

    /// Whether `table` holds a read that serves `request` now ([`FetchLayer::fetch`]'s rule).
    fn held(
        &self,
        table: &ReadTable,
        store: &StoreHandle,
        request: &FetchRequest,
        fresh_since: Option<Instant>,
    ) -> bool {
        table
            .entries
            .get(&self.key_of(store, request))
            .is_some_and(|read| self.serves(read, Instant::now(), fresh_since))
    }

    /// Puts one read per wanted request (not duplicated, not held) into the coalescing table,
    /// all served by one `fetch_many`; a read whose batch result is a transient failure is made
    /// again on its own, with retries. Returns the number of reads and the reads, or `None`
    /// when nothing was wanted.
    fn start_batch(
        &self,
        store: &StoreHandle,
        requests: Vec<FetchRequest>,
        fresh_since: Option<Instant>,
    ) -> Option<(usize, Vec<SharedRead>)> {
        let mut seen = HashSet::new();
        let mut table = lock(&self.reads);
        let wanted: Vec<FetchRequest> = requests
            .into_iter()
            .filter(|r| seen.insert(r.clone()) && !self.held(&table, store, r, fresh_since))
            .collect();
        if wanted.is_empty() {
            return None;
        }
        let batch = self.batch_call(store, wanted.clone());
        let mut reads = Vec::with_capacity(wanted.len());
        for (i, request) in wanted.iter().enumerate() {
            let batch = batch.clone();
            let alone = self.start_read(store.clone(), ReadOp::Fetch(request.clone()));
            let read = async move {
                let (results, done) = batch.await;
                match results.get(i) {
                    Some(Ok(value)) => (Ok(Arc::new(ReadValue::One(value.clone()))), done),
                    Some(Err(e)) if !e.is_transient() => (Err(e.clone()), done),
                    _ => alone.await,
                }
            }
            .boxed()
            .shared();
            table.entries.insert(
                self.key_of(store, request),
                TableRead::started_now(read.clone(), fresh_since.is_some()),
            );
            reads.push(read);
        }
        Some((wanted.len(), reads))
    }

    fn batch_call(&self, store: &StoreHandle, wanted: Vec<FetchRequest>) -> SharedBatch {
        let store = store.clone();
        let counters = self.counters.clone();
        let observer = self.observer.clone();
        async move {
            let _permit = store.gate.enter().await;
            let started = Instant::now();
            let results = store.provider.fetch_many(&wanted).await;
            let elapsed = started.elapsed();
            counters
                .provider_calls
                .fetch_add(wanted.len() as u64, Ordering::Relaxed);
            for result in &results {
                if result.is_err() {
                    counters.provider_errors.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(observer) = &observer {
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
            (Arc::new(results), Instant::now())
        }
        .boxed()
        .shared()
    }

    fn key_of(&self, store: &StoreHandle, request: &FetchRequest) -> ReadKey {
        ReadKey {
            context: store.context.clone(),
            provider_generation: store.generation,
            op: ReadOp::Fetch(request.clone()),
        }
    }
}
