use std::time::Duration;

use super::*;

#[test]
fn fair_queue_table() {
    // (namespace pushes in order, slots held per namespace, expected pop order)
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, usize)],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "one namespace: first come, first served",
            &["a", "a", "a"],
            &[],
            &["a", "a", "a"],
        ),
        (
            "round robin between namespaces",
            &["a", "a", "a", "b", "c"],
            &[],
            &["a", "b", "c", "a", "a"],
        ),
        (
            "the namespace holding fewer slots goes first",
            &["a", "b"],
            &[("a", 2)],
            &["b", "a"],
        ),
        (
            "ties: the one waiting longest",
            &["b", "a"],
            &[("a", 1), ("b", 1)],
            &["b", "a"],
        ),
        (
            "a flooding tenant does not delay a late one",
            &["t", "t", "t", "t", "late"],
            &[],
            &["t", "late", "t", "t", "t"],
        ),
        ("empty", &[], &[], &[]),
    ];
    for (name, pushes, held, expected) in cases {
        let mut q = FairQueue::default();
        for (i, ns) in pushes.iter().enumerate() {
            q.push(ns, i);
        }
        let held: HashMap<String, usize> = held.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        let mut order = Vec::new();
        while let Some((ns, _)) = q.pop(&held) {
            order.push(ns);
        }
        assert_eq!(order, *expected, "{name}");
        assert!(q.is_empty(), "{name}");
    }
}

#[test]
fn fair_queue_keeps_order_within_a_namespace() {
    let mut q = FairQueue::default();
    for i in 0..5 {
        q.push("a", i);
        q.push("b", 10 + i);
    }
    let held = HashMap::new();
    let popped: Vec<(String, i32)> = std::iter::from_fn(|| q.pop(&held)).collect();
    let a: Vec<i32> = popped
        .iter()
        .filter(|(n, _)| n == "a")
        .map(|(_, w)| *w)
        .collect();
    assert_eq!(a, [0, 1, 2, 3, 4]);
    assert_eq!(popped.len(), 10);
}

/// Holds the only slot (for `holder`'s namespace), queues `waiters` in this order, releases the
/// slot and returns the order in which the waiters got it.
async fn admission_order(
    holder: &str,
    waiters: &[(&'static str, SyncClass, &'static str)],
) -> Vec<&'static str> {
    let gate = SyncGate::new(1);
    let held = gate.acquire(SyncClass::Refresh, holder).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (name, class, namespace) in waiters.iter().copied() {
        let waiter = gate.clone();
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let _p = waiter.acquire(class, namespace).await;
            order.lock().unwrap_or_else(|e| e.into_inner()).push(name);
        }));
        // Queue them in this order.
        while gate.waiting().0 + gate.waiting().1 < tasks.len() {
            tokio::task::yield_now().await;
        }
    }
    drop(held);
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(gate.waiting(), (0, 0));
    order.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

#[tokio::test]
async fn first_syncs_overtake_waiting_refreshes() {
    let order = admission_order(
        "ns",
        &[
            ("refresh-1", SyncClass::Refresh, "ns"),
            ("refresh-2", SyncClass::Refresh, "ns"),
            ("first-1", SyncClass::First, "ns"),
            ("refresh-3", SyncClass::Refresh, "ns"),
            ("first-2", SyncClass::First, "ns"),
        ],
    )
    .await;
    assert_eq!(
        order,
        ["first-1", "first-2", "refresh-1", "refresh-2", "refresh-3"]
    );
}

#[tokio::test]
async fn namespaces_share_the_slots_within_a_class() {
    let order = admission_order(
        "busy",
        &[
            ("busy-1", SyncClass::Refresh, "busy"),
            ("busy-2", SyncClass::Refresh, "busy"),
            ("busy-3", SyncClass::Refresh, "busy"),
            ("quiet-1", SyncClass::Refresh, "quiet"),
            ("new-busy", SyncClass::First, "busy"),
            ("new-quiet", SyncClass::First, "quiet"),
        ],
    )
    .await;
    assert_eq!(
        order,
        [
            "new-busy",
            "new-quiet",
            "busy-1",
            "quiet-1",
            "busy-2",
            "busy-3"
        ],
        "first syncs first, then the quiet namespace's refresh right after one of the busy one's"
    );
}

#[tokio::test]
async fn a_cancelled_waiter_does_not_leak_its_slot() {
    let gate = SyncGate::new(1);
    let held = gate.acquire(SyncClass::Refresh, "ns").await;
    let waiter = {
        let gate = gate.clone();
        tokio::spawn(async move {
            let _p = gate.acquire(SyncClass::First, "ns").await;
        })
    };
    while gate.waiting().0 == 0 {
        tokio::task::yield_now().await;
    }
    waiter.abort();
    let _ = waiter.await;
    drop(held);
    let again = tokio::time::timeout(
        Duration::from_secs(1),
        gate.acquire(SyncClass::Refresh, "other"),
    )
    .await
    .expect("the slot came back");
    drop(again);
    assert!(
        SyncGate::lock(&gate.state).held.is_empty(),
        "no slot counted as held"
    );
}
