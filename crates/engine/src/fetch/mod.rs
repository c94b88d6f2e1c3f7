//! The shared fetch layer: one provider per store, coalesced reads, per-store limits, counters.
//!
//! Every ExternalSecret an [`Engine`](crate::Engine) syncs reads through one `FetchLayer`.
//! Identical reads (same store context, key, version and metadata flag, or the same `find`)
//! that are in flight, or that completed successfully less than
//! [`FetchConfig::coalesce_window`] ago, are served from that one provider call; a periodic
//! refresh is also served by a read that started after it fell due (the `table` module).
//!
//! Providers never sleep: a throttled or unavailable read comes back as an error and this layer
//! retries it under the provider's [`RetryPolicy`](secretsync_model::RetryPolicy) (the store's
//! `retrySettings`), waiting without holding a concurrency slot.

mod limits;
mod observe;
mod prefetch;
mod slots;
mod stores;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use secretsync_model::credentials::{CredentialResolver, shared_by_readers, shared_context};
use secretsync_model::provider::{ProviderFactory, StoreContext};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    FetchRequest, FindRequest, ProviderError, RemoteSecret, SharedProvider, StoreId,
};
use tokio::time::Instant;

pub use limits::RateLimit;
use limits::StoreGate;
pub(crate) use limits::lock;
pub(crate) use limits::lock as lock_std;
pub use observe::{CallLabels, CallStatus, FetchObserver, ProviderCall, ReadKind, call_labels};
use slots::StoreSlots;
pub use slots::{SLOT_SIZE, Slot};
use table::TableRead;

/// Settings of the fetch layer.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// How long a successful read is reused by identical reads (default 1 s). Zero coalesces
    /// only reads that are in flight at the same time.
    pub coalesce_window: Duration,
    /// Provider calls in flight per store (default 16).
    pub max_concurrent_per_store: usize,
    /// Token bucket per store; `None` (default) means no rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Pause after a throttling answer without `Retry-After` (default 1 s).
    pub throttle_pause: Duration,
    /// Longest pause honoured from a `Retry-After` (default 60 s).
    pub max_throttle_pause: Duration,
    /// Longest wait before a retry inside one read (default 10 s). A provider asking for a
    /// longer one gets no retry now: the error goes back to the caller, whose scheduler backs
    /// off (a sync is not held open for minutes).
    pub max_retry_wait: Duration,
    /// How long after a batch slot of a batching provider was read as a whole a read of one of
    /// its keys goes out on its own (default 1 s; see the `slots` module): bounds how often a
    /// slot's other keys are read along.
    pub slot_gap: Duration,
    /// How long a successful read is kept for the syncs served by reads since an instant before
    /// it started (default 3 min; see [`FetchLayer::fetch`]): the ExternalSecrets of one
    /// aligned refresh group, or of one mass first sync, share one read for as long as their
    /// wave takes, up to this. It covers the members' settle ([`crate::refresh::MAX_SETTLE`],
    /// 2 min) with room for a wave that queues.
    pub refresh_reuse: Duration,
    /// At most this many completed reads are kept past the coalescing window for such syncs
    /// (default 1,024; the oldest go first): bounds the values held when many objects refresh
    /// often over distinct keys (a tenant with 1 s intervals would otherwise keep 60 s of them).
    pub max_refresh_reads: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            coalesce_window: Duration::from_secs(1),
            max_concurrent_per_store: 16,
            rate_limit: None,
            throttle_pause: Duration::from_secs(1),
            max_throttle_pause: Duration::from_secs(60),
            max_retry_wait: Duration::from_secs(10),
            slot_gap: Duration::from_secs(1),
            refresh_reuse: Duration::from_secs(180),
            max_refresh_reads: 1024,
        }
    }
}

/// A snapshot of the fetch counters, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Reads asked for by syncs.
    pub reads_requested: u64,
    /// Calls actually made to providers.
    pub provider_calls: u64,
    /// Reads served by another identical read (in flight or within the window).
    pub coalesced: u64,
    /// Provider calls that failed.
    pub provider_errors: u64,
    /// Provider calls answered with throttling.
    pub throttled: u64,
    /// Providers built (first use or spec change).
    pub providers_built: u64,
    /// Provider calls repeated under a provider's retry policy.
    pub retries: u64,
}

#[derive(Default)]
struct Counters {
    reads_requested: AtomicU64,
    provider_calls: AtomicU64,
    coalesced: AtomicU64,
    provider_errors: AtomicU64,
    throttled: AtomicU64,
    providers_built: AtomicU64,
    retries: AtomicU64,
}

/// What a read returns.
#[derive(Clone, Debug)]
pub enum ReadValue {
    /// One value (`fetch`).
    One(RemoteSecret),
    /// Found values by remote name (`find`).
    Many(BTreeMap<String, RemoteSecret>),
}

/// The result of a read, shared between coalesced callers.
pub type ReadResult = Result<Arc<ReadValue>, ProviderError>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ReadOp {
    Fetch(FetchRequest),
    Find(FindRequest),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadKey {
    context: Arc<StoreContext>,
    provider_generation: u64,
    op: ReadOp,
}

type SharedRead = Shared<BoxFuture<'static, (ReadResult, Instant)>>;

struct ProviderEntry {
    context: Arc<StoreContext>,
    spec: Arc<SecretStoreSpec>,
    provider: SharedProvider,
    gate: Arc<StoreGate>,
    generation: u64,
    fetch_labels: CallLabels,
    find_labels: CallLabels,
    batch: bool,
}

/// A provider handle for one store context, as returned by [`FetchLayer::provider`].
#[derive(Clone)]
pub struct StoreHandle {
    context: Arc<StoreContext>,
    provider: SharedProvider,
    gate: Arc<StoreGate>,
    generation: u64,
    fetch_labels: CallLabels,
    find_labels: CallLabels,
    batch: bool,
}

impl StoreHandle {
    /// The store context this handle reads for.
    pub fn context(&self) -> &StoreContext {
        &self.context
    }

    /// The provider's capabilities.
    pub fn capabilities(&self) -> secretsync_model::ProviderCapabilities {
        self.provider.capabilities()
    }

    /// The provider's own naming of `dataFrom[].extract` with `metadataPolicy: Fetch`, if it
    /// has one (see [`SecretProvider::extract_metadata`](secretsync_model::SecretProvider::extract_metadata)).
    pub fn extract_metadata(
        &self,
        key: &str,
        property: Option<&str>,
        metadata: &RemoteSecret,
    ) -> Option<Result<secretsync_model::SecretData, ProviderError>> {
        self.provider.extract_metadata(key, property, metadata)
    }

    /// Checks the store through this provider, reusing its session (store validation).
    pub async fn validate(&self) -> Result<secretsync_model::provider::Validation, ProviderError> {
        self.provider.validate().await
    }

    /// The provider's write path, when it has one (PushSecret).
    pub fn writer(&self) -> Option<&dyn secretsync_model::writer::SecretWriter> {
        self.provider.writer()
    }

    fn labels_of(&self, op: &ReadOp) -> CallLabels {
        match op {
            ReadOp::Fetch(_) => self.fetch_labels,
            ReadOp::Find(_) => self.find_labels,
        }
    }
}

/// The shared fetch layer (see the module docs).
pub struct FetchLayer {
    factory: Arc<dyn ProviderFactory>,
    config: FetchConfig,
    providers: Mutex<HashMap<StoreContext, Arc<ProviderEntry>>>,
    /// One build at a time per store context (never one lock for all: a slow build of one
    /// tenant's provider must not hold up the others).
    build_locks: Mutex<HashMap<StoreContext, Arc<tokio::sync::Mutex<()>>>>,
    reads: Mutex<ReadTable>,
    /// Batch slots per store context of batching providers.
    slots: Mutex<HashMap<StoreContext, StoreSlots>>,
    /// Per ClusterSecretStore: the spec last judged and whether its providers serve every
    /// reader namespace.
    sharing: Mutex<HashMap<StoreId, (Arc<SecretStoreSpec>, bool)>>,
    counters: Arc<Counters>,
    next_generation: AtomicU64,
    observer: Option<Arc<dyn FetchObserver>>,
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<crate::stable_hash::StableHasher>>;

struct ReadTable {
    entries: FastMap<ReadKey, TableRead>,
    last_purge: Instant,
}

impl FetchLayer {
    /// A fetch layer building providers with `factory`.
    pub fn new(factory: Arc<dyn ProviderFactory>, config: FetchConfig) -> Self {
        FetchLayer {
            factory,
            config,
            providers: Mutex::new(HashMap::new()),
            build_locks: Mutex::new(HashMap::new()),
            reads: Mutex::new(ReadTable {
                entries: FastMap::default(),
                last_purge: Instant::now(),
            }),
            slots: Mutex::new(HashMap::new()),
            sharing: Mutex::new(HashMap::new()),
            counters: Arc::new(Counters::default()),
            next_generation: AtomicU64::new(1),
            observer: None,
        }
    }

    /// Reports every provider call and coalesced read to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn FetchObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// The provider for `context`, built on first use and rebuilt when `spec` changed (the
    /// replaced provider is closed, so its sessions are revoked). A store whose reads do not
    /// depend on the reader's namespace ([`shared_by_readers`], judged once per store spec) has
    /// one provider for every
    /// reader and for store validation (`reader_namespace: None`): one session, and one read
    /// per key whichever namespaces read it. `credentials` is called with the context the
    /// provider is built for.
    pub async fn provider(
        &self,
        context: &StoreContext,
        spec: &Arc<SecretStoreSpec>,
        credentials: impl FnOnce(&StoreContext) -> Arc<dyn CredentialResolver>,
    ) -> Result<StoreHandle, ProviderError> {
        let context = &shared_context(context, || self.shared_by_readers(&context.store, spec));
        if let Some(handle) = self.cached_provider(context, spec) {
            return Ok(handle);
        }
        let build_lock = lock(&self.build_locks)
            .entry(context.clone())
            .or_default()
            .clone();
        let _guard = build_lock.lock().await;
        if let Some(handle) = self.cached_provider(context, spec) {
            return Ok(handle);
        }
        let provider = self
            .factory
            .build(context, spec, credentials(context))
            .await?;
        self.counters
            .providers_built
            .fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(ProviderEntry {
            context: Arc::new(context.clone()),
            spec: spec.clone(),
            gate: Arc::new(StoreGate::new(
                self.config.max_concurrent_per_store,
                self.config.rate_limit,
            )),
            generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
            fetch_labels: call_labels(spec, ReadKind::Fetch),
            find_labels: call_labels(spec, ReadKind::Find),
            batch: provider.capabilities().batch,
            provider,
        });
        let handle = handle_of(&entry);
        let replaced: Vec<Arc<ProviderEntry>> = {
            let mut providers = lock(&self.providers);
            // Providers of this store built from another spec are stale, whatever reader they
            // were built for (a change may also move the store between shared and per-reader).
            let stale: Vec<StoreContext> = providers
                .iter()
                .filter(|(c, e)| c.store == context.store && *c != context && e.spec != *spec)
                .map(|(c, _)| c.clone())
                .collect();
            let mut replaced: Vec<_> = stale.iter().filter_map(|c| providers.remove(c)).collect();
            replaced.extend(providers.insert(context.clone(), entry));
            replaced
        };
        if !replaced.is_empty() {
            // Reads still running on the old providers keep their handle; new ones use the new
            // provider. Closing revokes the old sessions (Vault tokens) instead of leaking them.
            tokio::spawn(async move {
                for old in replaced {
                    old.provider.close().await;
                }
            });
        }
        Ok(handle)
    }

    /// [`shared_by_readers`] of `store` configured by `spec`, remembered per store until its
    /// spec changes (the judgement serialises the provider block; this runs on every read).
    fn shared_by_readers(&self, store: &StoreId, spec: &Arc<SecretStoreSpec>) -> bool {
        if store.kind == secretsync_model::external_secret::StoreKind::SecretStore {
            // Always shared, and nothing is remembered for a tenant's stores (a tenant
            // creating and deleting SecretStores must not grow this map).
            return shared_by_readers(store.kind, spec);
        }
        let mut sharing = lock(&self.sharing);
        if let Some((seen, shared)) = sharing.get(store)
            && (Arc::ptr_eq(seen, spec) || **seen == **spec)
        {
            return *shared;
        }
        let shared = shared_by_readers(store.kind, spec);
        sharing.insert(store.clone(), (spec.clone(), shared));
        shared
    }

    fn cached_provider(
        &self,
        context: &StoreContext,
        spec: &Arc<SecretStoreSpec>,
    ) -> Option<StoreHandle> {
        let providers = lock(&self.providers);
        let entry = providers.get(context)?;
        if Arc::ptr_eq(&entry.spec, spec) || *entry.spec == **spec {
            Some(handle_of(entry))
        } else {
            None
        }
    }

    /// Reads one value through `store`, coalescing identical reads: one in flight, one that
    /// succeeded within the coalescing window, or, given `fresh_since` (the instant a periodic
    /// refresh fell due, a first sync's spec was first seen), one that started at or after it. Through a batching provider, a read
    /// of the latest value also reads the other keys of its batch slot, when they were not
    /// read lately (see the `slots` module).
    pub async fn fetch(
        &self,
        store: &StoreHandle,
        request: &FetchRequest,
        fresh_since: Option<Instant>,
    ) -> ReadResult {
        if store.batch && request.version.is_none() && !request.metadata {
            self.read_slot(store, &request.key, fresh_since);
        }
        self.read(store, ReadOp::Fetch(request.clone()), fresh_since)
            .await
    }

    /// Runs a `find` through `store`, coalescing identical finds as [`FetchLayer::fetch`]
    /// coalesces reads.
    pub async fn find(
        &self,
        store: &StoreHandle,
        request: &FindRequest,
        fresh_since: Option<Instant>,
    ) -> ReadResult {
        self.read(store, ReadOp::Find(request.clone()), fresh_since)
            .await
    }

    async fn read(
        &self,
        store: &StoreHandle,
        op: ReadOp,
        fresh_since: Option<Instant>,
    ) -> ReadResult {
        self.counters
            .reads_requested
            .fetch_add(1, Ordering::Relaxed);
        let key = ReadKey {
            context: store.context.clone(),
            provider_generation: store.generation,
            op,
        };
        let shared = {
            let mut table = lock(&self.reads);
            let now = Instant::now();
            self.purge_expired(&mut table, now);
            let reusable = table
                .entries
                .get_mut(&key)
                .filter(|s| self.serves(s, now, fresh_since));
            match reusable {
                Some(s) => {
                    s.kept_long |= fresh_since.is_some();
                    self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    if let Some(observer) = &self.observer {
                        observer.read_coalesced(store.labels_of(&key.op));
                    }
                    s.read.clone()
                }
                None => {
                    let s = self.start_read(store.clone(), key.op.clone());
                    table.entries.insert(
                        key,
                        TableRead::started_now(s.clone(), fresh_since.is_some()),
                    );
                    s
                }
            }
        };
        shared.await.0
    }

    /// Forgets every completed read older than the coalescing window and
    /// [`FetchConfig::refresh_reuse`] now (reads also purge lazily; a host may call this from a
    /// timer so an idle engine does not keep values).
    pub fn purge(&self) {
        let mut table = lock(&self.reads);
        let now = Instant::now();
        table.last_purge = now;
        self.drop_unkept(&mut table, now);
    }

    /// Completed reads currently held for coalescing (for tests and metrics).
    pub fn cached_reads(&self) -> usize {
        lock(&self.reads).entries.len()
    }

    fn purge_expired(&self, table: &mut ReadTable, now: Instant) {
        let window = self.config.coalesce_window;
        if now.saturating_duration_since(table.last_purge) < window.max(Duration::from_millis(100))
        {
            return;
        }
        table.last_purge = now;
        self.drop_unkept(table, now);
    }

    /// Drops the reads [`table::kept`] does not keep, then the oldest of those kept past the
    /// window beyond [`FetchConfig::max_refresh_reads`].
    fn drop_unkept(&self, table: &mut ReadTable, now: Instant) {
        table.entries.retain(|_, s| self.kept(s, now));
        let window = self.config.coalesce_window;
        let past_window = |read: &TableRead| match read.state() {
            table::ReadState::Succeeded { done, .. } => {
                (now.saturating_duration_since(done) >= window).then_some(done)
            }
            _ => None,
        };
        let count = table.entries.values().filter_map(past_window).count();
        let Some(excess) = count.checked_sub(self.config.max_refresh_reads) else {
            return;
        };
        let mut oldest: Vec<(Instant, ReadKey)> = table
            .entries
            .iter()
            .filter_map(|(key, read)| past_window(read).map(|done| (done, key.clone())))
            .collect();
        oldest.sort_by_key(|(done, _)| *done);
        for (_, key) in oldest.into_iter().take(excess) {
            table.entries.remove(&key);
        }
    }

    /// Whether `read` may serve an identical read at `now` ([`table::serves`]).
    fn serves(&self, read: &TableRead, now: Instant, fresh_since: Option<Instant>) -> bool {
        table::serves(read.state(), now, self.config.coalesce_window, fresh_since)
    }

    /// Whether `read` stays in the table at `now` ([`table::kept`]).
    fn kept(&self, read: &TableRead, now: Instant) -> bool {
        table::kept(
            read.state(),
            read.kept_long,
            now,
            self.config.coalesce_window,
            self.config.refresh_reuse,
        )
    }

    fn start_read(&self, store: StoreHandle, op: ReadOp) -> SharedRead {
        let config = self.config.clone();
        let stats = self.counters.clone();
        let observer = self.observer.clone();
        async move {
            let policy = store.provider.retry_policy();
            let mut retry = 0u32;
            let result = loop {
                let result = {
                    let _permit = store.gate.enter().await;
                    stats.provider_calls.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    let result = match &op {
                        ReadOp::Fetch(r) => store.provider.fetch(r).await.map(ReadValue::One),
                        ReadOp::Find(r) => store.provider.find(r).await.map(ReadValue::Many),
                    };
                    if let Some(observer) = &observer {
                        observer.provider_call(&ProviderCall {
                            labels: store.labels_of(&op),
                            status: if result.is_ok() {
                                CallStatus::Success
                            } else {
                                CallStatus::Error
                            },
                            elapsed: started.elapsed(),
                        });
                    }
                    result
                };
                let Err(e) = &result else {
                    break result;
                };
                stats.provider_errors.fetch_add(1, Ordering::Relaxed);
                let mut wait = None;
                if let ProviderError::Throttled { retry_after, .. } = e {
                    stats.throttled.fetch_add(1, Ordering::Relaxed);
                    let delay = retry_after
                        .unwrap_or(config.throttle_pause)
                        .min(config.max_throttle_pause);
                    // Every call to this store waits the pause out in the gate, this retry too.
                    store.gate.pause(delay);
                    wait = Some(delay);
                }
                if !e.is_transient() || retry >= policy.max_retries {
                    break result;
                }
                retry += 1;
                let wait = wait.unwrap_or_else(|| policy.delay(retry));
                if wait > config.max_retry_wait {
                    break result;
                }
                stats.retries.fetch_add(1, Ordering::Relaxed);
                if !matches!(e, ProviderError::Throttled { .. }) {
                    // No concurrency slot is held while waiting.
                    tokio::time::sleep(wait).await;
                }
            };
            (result.map(Arc::new), Instant::now())
        }
        .boxed()
        .shared()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> FetchStats {
        let c = &self.counters;
        FetchStats {
            reads_requested: c.reads_requested.load(Ordering::Relaxed),
            provider_calls: c.provider_calls.load(Ordering::Relaxed),
            coalesced: c.coalesced.load(Ordering::Relaxed),
            provider_errors: c.provider_errors.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            providers_built: c.providers_built.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }
}

fn handle_of(entry: &ProviderEntry) -> StoreHandle {
    StoreHandle {
        context: entry.context.clone(),
        provider: entry.provider.clone(),
        gate: entry.gate.clone(),
        generation: entry.generation,
        fetch_labels: entry.fetch_labels,
        find_labels: entry.find_labels,
        batch: entry.batch,
    }
}
