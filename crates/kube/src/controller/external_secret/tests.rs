use super::*;

/// The size of the future an `async fn` of three arguments returns.
fn future_size<A, B, C, F>(_: fn(A, B, C) -> F) -> usize {
    std::mem::size_of::<F>()
}

#[test]
fn a_reconcile_waiting_for_its_slot_stays_small() {
    // Up to `reconciles_in_flight` (1,024) reconciles wait at the gate, each a task allocated at
    // this size; the admitted part (the sync, the write, the status) is boxed when it starts.
    // Inline, it was 4.4 KB: 4.5 MB for a full gate.
    let size = future_size(reconcile);
    assert!(size <= 1024, "the reconcile future is {size} bytes");
}
