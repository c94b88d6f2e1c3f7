#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::channel::mpsc;
use tokio::sync::Semaphore;

use super::*;

fn es(name: &str, generation: i64) -> ExternalSecret {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "generation": generation},
        "spec": {"target": {"name": name}}
    }))
    .unwrap()
}

fn object_ref(namespace: &str, name: &str) -> ObjectRef<ExternalSecret> {
    ObjectRef::new(name).within(namespace)
}

fn generation(es: &ExternalSecret) -> u64 {
    es.metadata.generation.unwrap_or_default().unsigned_abs()
}

/// The loop under test, its inputs, and what its reconciles saw.
struct Harness {
    cache: CompactStore<ExternalSecret>,
    objects: mpsc::UnboundedSender<watcher::Event<ExternalSecret>>,
    triggers: mpsc::UnboundedSender<ObjectRef<ExternalSecret>>,
    shutdown: CancellationToken,
    /// Names reconciled, in start order.
    started: Arc<Mutex<Vec<String>>>,
    /// What each of those reconciles was told about its object.
    seen: Arc<Mutex<Vec<Observed>>>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    /// Permits let reconciles finish (one each).
    finish: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
}

impl Harness {
    fn start(in_flight: usize, action: Action) -> Self {
        let cache = CompactStore::default();
        let (objects, object_rx) = mpsc::unbounded();
        let (triggers, trigger_rx) = mpsc::unbounded();
        let shutdown = CancellationToken::new();
        let started = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let most_running = Arc::new(AtomicUsize::new(0));
        let finish = Arc::new(Semaphore::new(0));
        let reconcile = {
            let (started, seen, running, most_running, finish) = (
                started.clone(),
                seen.clone(),
                running.clone(),
                most_running.clone(),
                finish.clone(),
            );
            move |es: Arc<ExternalSecret>, told: Observed| {
                started
                    .lock()
                    .unwrap()
                    .push(es.metadata.name.clone().unwrap());
                seen.lock().unwrap().push(told);
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most_running.fetch_max(now, Ordering::SeqCst);
                let (running, finish) = (running.clone(), finish.clone());
                async move {
                    finish.acquire().await.unwrap().forget();
                    running.fetch_sub(1, Ordering::SeqCst);
                    action
                }
            }
        };
        let task = tokio::spawn(run(
            cache.clone(),
            object_rx,
            trigger_rx,
            generation,
            in_flight,
            shutdown.clone(),
            reconcile,
        ));
        Harness {
            cache,
            objects,
            triggers,
            shutdown,
            started,
            seen,
            running,
            most_running,
            finish,
            task,
        }
    }

    /// Feeds `event` to the cache and to the loop, as the reflector does.
    fn event(&mut self, event: watcher::Event<ExternalSecret>) {
        self.cache.apply(&event);
        self.objects.unbounded_send(event).unwrap();
    }

    fn list(&mut self, objects: &[ExternalSecret]) {
        self.event(watcher::Event::Init);
        for es in objects {
            self.event(watcher::Event::InitApply(es.clone()));
        }
        self.event(watcher::Event::InitDone);
    }

    fn started(&self) -> Vec<String> {
        self.started.lock().unwrap().clone()
    }

    /// Waits (on the paused clock) until `n` reconciles have started.
    async fn until_started(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(3600), async {
            while self.started.lock().unwrap().len() < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} reconciles never started: {:?}", self.started()));
    }

    /// Lets time pass on the paused clock with the loop idle.
    async fn idle(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_starts_before_the_cache_has_listed() {
    let mut h = Harness::start(4, Action::await_change());
    h.event(watcher::Event::Init);
    h.event(watcher::Event::InitApply(es("a", 1)));
    h.idle(Duration::from_secs(10)).await;
    assert!(h.started().is_empty(), "{:?}", h.started());
    h.event(watcher::Event::InitDone);
    h.until_started(1).await;
    assert_eq!(h.started(), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn at_most_in_flight_reconciles_run_and_each_object_once() {
    let mut h = Harness::start(2, Action::await_change());
    let objects: Vec<_> = (0..6).map(|i| es(&format!("es{i}"), 1)).collect();
    h.list(&objects);
    h.until_started(2).await;
    h.idle(Duration::from_secs(1)).await;
    assert_eq!(h.started().len(), 2, "capped: {:?}", h.started());
    h.finish.add_permits(6);
    h.until_started(6).await;
    h.idle(Duration::from_secs(60)).await;
    let mut started = h.started();
    started.sort();
    assert_eq!(started, ["es0", "es1", "es2", "es3", "es4", "es5"]);
    assert_eq!(h.most_running.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_trigger_during_a_reconcile_runs_it_again_after_not_beside() {
    let mut h = Harness::start(4, Action::await_change());
    h.list(&[es("a", 1)]);
    h.until_started(1).await;
    h.triggers.unbounded_send(object_ref("ns", "a")).unwrap();
    h.event(watcher::Event::Apply(es("a", 2)));
    h.idle(Duration::from_secs(1)).await;
    assert_eq!(h.started().len(), 1, "not beside the running one");
    h.finish.add_permits(1);
    h.until_started(2).await;
    h.finish.add_permits(1);
    h.idle(Duration::from_secs(60)).await;
    assert_eq!(h.started(), ["a", "a"], "the two triggers ran it once more");
    assert_eq!(h.most_running.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_requeue_runs_it_again_when_due_and_an_unchanged_object_does_not() {
    let mut h = Harness::start(4, Action::requeue(Duration::from_secs(120)));
    h.finish.add_permits(100);
    h.list(&[es("a", 1)]);
    h.until_started(1).await;
    // The same object again (a re-list, or a status write): no reconcile.
    h.event(watcher::Event::Apply(es("a", 1)));
    h.idle(Duration::from_secs(119)).await;
    assert_eq!(h.started().len(), 1);
    h.idle(Duration::from_secs(2)).await;
    assert_eq!(h.started().len(), 2, "due 120 s after the first");
}

#[tokio::test(start_paused = true)]
async fn each_reconcile_is_told_when_its_objects_current_spec_was_first_seen() {
    let mut h = Harness::start(4, Action::requeue(Duration::from_secs(60)));
    h.finish.add_permits(100);
    let listed = Instant::now();
    h.list(&[es("a", 1)]);
    h.until_started(1).await;
    // A status write (same fingerprint) 10 s later, then the requeue at 60 s: still the list's
    // instant.
    h.idle(Duration::from_secs(10)).await;
    h.event(watcher::Event::Apply(es("a", 1)));
    h.until_started(2).await;
    // A spec change at 70 s: its own instant.
    h.idle(Duration::from_secs(10)).await;
    let changed = Instant::now();
    h.event(watcher::Event::Apply(es("a", 2)));
    h.until_started(3).await;
    // A trigger from another watch does not move it.
    h.idle(Duration::from_secs(5)).await;
    h.triggers.unbounded_send(object_ref("ns", "a")).unwrap();
    h.until_started(4).await;
    let seen: Vec<Option<Instant>> = h
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.changed_at)
        .collect();
    assert_eq!(
        seen,
        [Some(listed), Some(listed), Some(changed), Some(changed)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_requeue_beyond_the_clock_waits_for_a_change() {
    let mut h = Harness::start(4, Action::requeue(Duration::MAX));
    h.finish.add_permits(100);
    h.list(&[es("a", 1)]);
    h.until_started(1).await;
    h.idle(Duration::from_secs(3600)).await;
    assert!(!h.task.is_finished(), "the loop still runs");
    h.event(watcher::Event::Apply(es("a", 2)));
    h.until_started(2).await;
}

#[tokio::test(start_paused = true)]
async fn a_deleted_object_is_not_reconciled_again() {
    let mut h = Harness::start(4, Action::requeue(Duration::from_secs(10)));
    h.finish.add_permits(100);
    h.list(&[es("a", 1), es("b", 1)]);
    h.until_started(2).await;
    h.event(watcher::Event::Delete(es("a", 1)));
    // A trigger for an object no longer cached starts nothing either.
    h.triggers.unbounded_send(object_ref("ns", "gone")).unwrap();
    h.idle(Duration::from_secs(25)).await;
    let started = h.started();
    assert_eq!(
        started.iter().filter(|n| *n == "a").count(),
        1,
        "{started:?}"
    );
    assert!(
        started.iter().filter(|n| *n == "b").count() >= 3,
        "{started:?}"
    );
    assert!(!started.iter().any(|n| n == "gone"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_running_reconciles_finish_and_starts_no_more() {
    let mut h = Harness::start(1, Action::await_change());
    h.list(&[es("a", 1), es("b", 1)]);
    h.until_started(1).await;
    h.shutdown.cancel();
    h.idle(Duration::from_secs(1)).await;
    assert!(!h.task.is_finished(), "waits for the running reconcile");
    h.finish.add_permits(10);
    tokio::time::timeout(Duration::from_secs(60), &mut h.task)
        .await
        .expect("the loop ends once the reconcile finished")
        .unwrap();
    assert_eq!(h.started().len(), 1, "{:?}", h.started());
    assert_eq!(h.running.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_reconcile_is_retried() {
    let cache = CompactStore::default();
    let (objects, object_rx) = mpsc::unbounded();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let task = tokio::spawn(run(
        cache.clone(),
        object_rx,
        futures::stream::pending(),
        generation,
        1,
        CancellationToken::new(),
        move |_es: Arc<ExternalSecret>, _observed: Observed| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n > 0, "the first reconcile panics");
                Action::await_change()
            }
        },
    ));
    for event in [
        watcher::Event::Init,
        watcher::Event::InitApply(es("a", 1)),
        watcher::Event::InitDone,
    ] {
        cache.apply(&event);
        objects.unbounded_send(event).unwrap();
    }
    tokio::time::sleep(PANIC_RETRY + Duration::from_secs(1)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    task.abort();
}
