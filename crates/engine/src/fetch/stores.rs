//! What the fetch layer keeps per store, and letting go of it: when a credential a store reads
//! changes ([`FetchLayer::forget_store`]), when the store is deleted
//! ([`FetchLayer::remove_store`]) and at shutdown ([`FetchLayer::close_all`]).

use std::collections::HashSet;
use std::sync::Arc;

use secretsync_model::StoreId;

use super::{FetchLayer, ProviderEntry, lock};

impl FetchLayer {
    /// Forgets the providers of `store` (every reader namespace) and closes them in the
    /// background, so the next use builds them again: a credential the store reads changed.
    /// Reads still running keep their handle. Returns how many were dropped.
    pub fn forget_store(&self, store: &StoreId) -> usize {
        let entries: Vec<Arc<ProviderEntry>> = {
            let mut providers = lock(&self.providers);
            let contexts: Vec<_> = providers
                .keys()
                .filter(|c| c.store == *store)
                .cloned()
                .collect();
            contexts
                .iter()
                .filter_map(|c| providers.remove(c))
                .collect()
        };
        let dropped = entries.len();
        if dropped > 0 {
            // Closing revokes the old sessions (Vault tokens) instead of leaking them.
            tokio::spawn(async move {
                for e in entries {
                    e.provider.close().await;
                }
            });
        }
        dropped
    }

    /// Forgets everything kept for `store`, which was deleted: its providers (closed in the
    /// background, as [`FetchLayer::forget_store`] does), the build locks nobody holds or
    /// waits for, its batch slots and whether it is shared by readers. A tenant creating and
    /// deleting stores leaves nothing behind; reads kept for coalescing expire on their own.
    /// Returns how many providers were dropped.
    pub fn remove_store(&self, store: &StoreId) -> usize {
        let dropped = self.forget_store(store);
        lock(&self.build_locks)
            .retain(|context, build| context.store != *store || Arc::strong_count(build) > 1);
        lock(&self.slots).retain(|context, _| context.store != *store);
        lock(&self.sharing).remove(store);
        dropped
    }

    /// How many distinct stores this layer keeps providers, build locks, batch slots or a
    /// sharing judgement for (for tests and metrics).
    pub fn stores_held(&self) -> usize {
        let mut stores: HashSet<StoreId> = HashSet::new();
        stores.extend(lock(&self.providers).keys().map(|c| c.store.clone()));
        stores.extend(lock(&self.build_locks).keys().map(|c| c.store.clone()));
        stores.extend(lock(&self.slots).keys().map(|c| c.store.clone()));
        stores.extend(lock(&self.sharing).keys().cloned());
        stores.len()
    }

    /// Closes every cached provider (revokes sessions) and forgets them.
    pub async fn close_all(&self) {
        let entries: Vec<Arc<ProviderEntry>> =
            lock(&self.providers).drain().map(|(_, e)| e).collect();
        for e in entries {
            e.provider.close().await;
        }
    }
}
