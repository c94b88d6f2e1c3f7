//! Template rendering off the async workers.
//!
//! Rendering is synchronous CPU work that can take up to the render deadline (bcrypt, key
//! generation, long loops), so the engine never runs it on a tokio worker: each render runs
//! on tokio's blocking pool (`spawn_blocking`, threads with the runtime's 2 MiB stack, which
//! the template engine's nesting limits fit), and a semaphore lets at most `concurrency`
//! renders run at once, so a flood of expensive templates takes that many cores and no more.
//! The permit travels with the render: a render the caller stopped waiting for keeps its
//! permit until it ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Runs renders on the blocking pool, a bounded number at a time.
#[derive(Clone)]
pub struct RenderPool {
    permits: Arc<Semaphore>,
    wait: Option<Duration>,
}

/// A render that did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderPoolError {
    /// The render panicked (a bug: templates are total).
    #[error("template rendering failed unexpectedly")]
    Panicked,
    /// The render outlived the time the caller waits (its deadline plus a grace period).
    #[error("template rendering did not finish within {0:?}")]
    TimedOut(Duration),
}

impl RenderPool {
    /// At most `concurrency` renders at once; callers wait at most `wait` for a result.
    pub fn new(concurrency: usize, wait: Option<Duration>) -> Self {
        RenderPool {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// Runs `render` on the blocking pool once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        render: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RenderPoolError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RenderPoolError::Panicked)?;
        let task = tokio::task::spawn_blocking(move || {
            let out = render();
            drop(permit);
            out
        });
        let joined = match self.wait {
            Some(wait) => tokio::time::timeout(wait, task)
                .await
                .map_err(|_| RenderPoolError::TimedOut(wait))?,
            None => task.await,
        };
        joined.map_err(|_| RenderPoolError::Panicked)
    }
}

impl Default for RenderPool {
    /// One render per available core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        RenderPool::new(cores, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_run_off_the_async_worker_one_slot_at_a_time() {
        let pool = RenderPool::new(1, None);
        let caller = std::thread::current().id();
        let ran_on = pool.run(move || std::thread::current().id()).await.unwrap();
        assert_ne!(ran_on, caller);
        // With one slot, a second render waits for the first to give its permit back.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || rx.recv().is_ok()).await })
        };
        while pool.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(true));
        assert_eq!(second.await.unwrap(), Ok(2));
    }

    #[tokio::test]
    async fn a_panicking_render_is_an_error() {
        let pool = RenderPool::new(1, None);
        let r: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(r, Err(RenderPoolError::Panicked));
        assert_eq!(pool.run(|| 1).await, Ok(1), "the slot was given back");
    }
}
