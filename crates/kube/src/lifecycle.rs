//! Steering and observing the controllers: a shutdown token and a readiness signal.
//!
//! - [`Lifecycle::shutdown`]: cancel it and every controller stops taking new work, lets the
//!   reconciles in flight finish (their Secret and status writes included), then
//!   [`crate::run_with`] returns.
//! - [`Ready`]: turns true once every watch the controllers depend on has completed its first
//!   list (reflector stores filled, trigger watches established), and false again when the
//!   controllers stop.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use tokio::sync::{oneshot, watch};
pub use tokio_util::sync::CancellationToken;

/// Handles the caller keeps to stop and observe the controllers.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    /// Cancel to shut down gracefully (in-flight reconciles finish first).
    pub shutdown: CancellationToken,
    /// Set once every controller's watches have listed.
    pub ready: Ready,
}

/// Whether the controllers' watches are established. Cheap to clone; all clones share state.
#[derive(Clone, Debug)]
pub struct Ready {
    state: Arc<watch::Sender<bool>>,
}

impl Default for Ready {
    fn default() -> Self {
        Ready {
            state: Arc::new(watch::channel(false).0),
        }
    }
}

impl Ready {
    /// True once every watch has completed its first list (and the controllers still run).
    pub fn is_ready(&self) -> bool {
        *self.state.borrow()
    }

    /// Resolves when [`Ready::is_ready`] turns true.
    pub async fn wait(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|ready| *ready).await;
    }

    pub(crate) fn set(&self, ready: bool) {
        self.state.send_replace(ready);
    }
}

/// Collects the initial-list signals of every watch; resolves when all have listed once.
#[derive(Default)]
pub(crate) struct InitialLists {
    pending: Vec<BoxFuture<'static, bool>>,
}

impl InitialLists {
    /// Tracks a reflector store (a controller's own cache).
    pub(crate) fn store<K>(&mut self, store: Store<K>)
    where
        K: kube::runtime::reflector::Lookup + Clone + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
    {
        self.pending
            .push(async move { store.wait_until_ready().await.is_ok() }.boxed());
    }

    /// Wraps a raw watcher stream; its first `InitDone` counts as listed.
    pub(crate) fn watch<K, S>(
        &mut self,
        stream: S,
    ) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
    where
        K: Send + 'static,
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<()>();
        self.pending.push(async move { rx.await.is_ok() }.boxed());
        let signal = Mutex::new(Some(tx));
        stream.inspect(move |event| {
            if let Ok(watcher::Event::InitDone) = event
                && let Some(tx) = signal
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
            {
                let _ = tx.send(());
            }
        })
    }

    /// Number of tracked watches.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Resolves (setting `ready`) once all tracked watches listed; never when one of them
    /// stopped before listing.
    pub(crate) fn into_future(self, ready: Ready) -> BoxFuture<'static, ()> {
        async move {
            let listed = futures::future::join_all(self.pending).await;
            if listed.iter().all(|ok| *ok) {
                tracing::info!(watches = listed.len(), "every watch listed: ready");
                ready.set(true);
            }
        }
        .boxed()
    }
}
