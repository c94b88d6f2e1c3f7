//! What the harness sees of the operator's work through one watch of its ExternalSecrets: when
//! each became `Ready=True` the first time, and every later change of `status.refreshTime`
//! (one refresh).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use serde_json::Value;

use crate::workload::RUN_LABEL;

/// How often waiters look at the tracked state.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
struct Tracked {
    ready_at: Option<Instant>,
    refresh_time: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    objects: HashMap<String, Tracked>,
    ready: usize,
    refreshes: Vec<Instant>,
}

/// The watch's view, shared with its task.
#[derive(Clone)]
pub struct Observer {
    state: Arc<Mutex<State>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

/// `(Ready=True, status.refreshTime)` of an ExternalSecret.
pub fn readiness(es: &Value) -> (bool, Option<String>) {
    let status = &es["status"];
    let ready = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    (ready, status["refreshTime"].as_str().map(str::to_string))
}

impl Observer {
    /// Starts watching the run's ExternalSecrets in every namespace.
    pub fn start(client: &kube::Client, run: &str) -> Observer {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "external-secrets.io",
            "v1",
            "ExternalSecret",
        ));
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let config = watcher::Config::default().labels(&format!("{RUN_LABEL}={run}"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher(api, config));
            while let Some(event) = events.next().await {
                let object = match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                    Ok(_) => continue,
                    Err(e) => {
                        eprintln!("ExternalSecret watch: {e} (resuming)");
                        continue;
                    }
                };
                let key = format!(
                    "{}/{}",
                    object.metadata.namespace.as_deref().unwrap_or_default(),
                    object.metadata.name.as_deref().unwrap_or_default()
                );
                let (ready, refresh_time) = readiness(&object.data);
                let now = Instant::now();
                let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
                let tracked = s.objects.entry(key).or_default();
                let mut first_ready = false;
                let mut refreshed = false;
                if ready && tracked.ready_at.is_none() {
                    tracked.ready_at = Some(now);
                    first_ready = true;
                } else if ready && refresh_time.is_some() && tracked.refresh_time.is_some() {
                    refreshed = refresh_time != tracked.refresh_time;
                }
                if ready && refresh_time.is_some() {
                    tracked.refresh_time = refresh_time;
                }
                if first_ready {
                    s.ready += 1;
                }
                if refreshed {
                    s.refreshes.push(now);
                }
            }
        });
        Observer {
            state,
            task: Arc::new(task),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When `namespace/name` was first seen ready.
    pub fn ready_at(&self, key: &str) -> Option<Instant> {
        self.lock().objects.get(key).and_then(|t| t.ready_at)
    }

    /// The first time any ExternalSecret turned ready.
    pub fn first_ready(&self) -> Option<Instant> {
        self.lock()
            .objects
            .values()
            .filter_map(|t| t.ready_at)
            .min()
    }

    /// The last time any ExternalSecret turned ready.
    pub fn last_ready(&self) -> Option<Instant> {
        self.lock()
            .objects
            .values()
            .filter_map(|t| t.ready_at)
            .max()
    }

    /// Refreshes seen in `[from, to)`, as offsets from `from`.
    pub fn refreshes_between(&self, from: Instant, to: Instant) -> Vec<Duration> {
        self.lock()
            .refreshes
            .iter()
            .filter(|t| **t >= from && **t < to)
            .map(|t| t.duration_since(from))
            .collect()
    }

    /// Waits until `done` holds for the number of ready objects and of refreshes since
    /// `since`, checking `alive` (the operator) meanwhile; fails after `timeout`, printing
    /// progress every 10 s under `what`.
    pub async fn wait(
        &self,
        what: &str,
        since: Instant,
        timeout: Duration,
        mut alive: impl FnMut() -> anyhow::Result<()>,
        done: impl Fn(usize, usize) -> bool,
    ) -> anyhow::Result<Instant> {
        let started = Instant::now();
        let mut last_report = started;
        loop {
            let (ready, refreshed) = {
                let s = self.lock();
                let refreshed = s.refreshes.iter().filter(|t| **t >= since).count();
                (s.ready, refreshed)
            };
            if done(ready, refreshed) {
                return Ok(Instant::now());
            }
            alive()?;
            if started.elapsed() > timeout {
                anyhow::bail!(
                    "{what}: not done after {timeout:?} ({ready} ready, {refreshed} refreshes)"
                );
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                eprintln!("  {what}: {ready} ready, {refreshed} refreshes");
                last_report = Instant::now();
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readiness_reads_the_ready_condition_and_refresh_time() {
        let table = [
            (json!({}), (false, None)),
            (
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
                (false, None),
            ),
            (
                json!({"status": {"refreshTime": "2026-01-01T00:00:00Z",
                    "conditions": [{"type": "Other", "status": "True"}, {"type": "Ready", "status": "True"}]}}),
                (true, Some("2026-01-01T00:00:00Z".to_string())),
            ),
        ];
        for (es, expected) in table {
            assert_eq!(readiness(&es), expected, "{es}");
        }
    }
}
