//! Giving the system back the memory the process freed.
//!
//! glibc's allocator returns freed memory to the system only from the top of each arena. The
//! first sync of thousands of ExternalSecrets (initial lists, renders, API responses) leaves
//! its freed pages resident below live allocations, so the process stays at its peak while
//! nothing uses them: 25 MiB of the 166 MiB steady RSS at 10,000 ExternalSecrets
//! (`docs/benchmarks.md`). `malloc_trim(0)` returns the free pages of every arena. Other
//! allocators and platforms return memory themselves or have no such call: there, nothing is
//! done.

use std::time::{Duration, Instant};

/// Asks the allocator to return the free pages it holds to the system; whether anything was
/// returned. Live allocations are untouched. A no-op (`false`) off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
pub fn release_freed_memory() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and touches only the allocator's own free lists,
    // under the arenas' locks; it is safe to call from any thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Asks the allocator to return the free pages it holds to the system; whether anything was
/// returned. A no-op (`false`) off glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() -> bool {
    false
}

/// Calls [`release_freed_memory`] every `every`, on a blocking thread (it walks every arena
/// under its lock), for as long as the runtime runs. `every` of zero: never.
pub fn spawn_periodic_release(every: Duration) {
    spawn_periodic(every, release_freed_memory);
}

fn spawn_periodic(every: Duration, release: fn() -> bool) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let outcome = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                (release(), started.elapsed())
            })
            .await;
            if let Ok((released, took)) = outcome {
                tracing::debug!(
                    released,
                    took_ms = took.as_millis() as u64,
                    "freed memory released"
                );
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident set size of this process, from `/proc/self/status`.
    fn resident_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_pages_below_live_allocations_go_back_to_the_system() {
        // 64 MiB in 1 KiB blocks (below the mmap threshold: they come from the arena), every
        // block but one in 512 freed again: the kept ones pin the arena's top, so glibc returns
        // nothing by itself.
        let mut blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![(i % 251) as u8; 1024]).collect();
        let mut kept = Vec::new();
        for (i, block) in blocks.drain(..).enumerate() {
            if i % 512 == 511 {
                kept.push(block);
            }
        }
        let before = resident_kib().unwrap_or(0);
        assert!(release_freed_memory(), "glibc returned nothing");
        let after = resident_kib().unwrap_or(u64::MAX);
        assert!(
            after + 32 * 1024 < before,
            "RSS {before} KiB before, {after} KiB after"
        );
        assert_eq!(kept.len(), 128);
        assert!(kept.iter().all(|b| b.len() == 1024));
    }

    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn counted() -> bool {
        CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    }

    #[tokio::test(start_paused = true)]
    async fn released_once_per_period_from_the_first_period_on_and_never_at_zero() {
        let calls = || CALLS.load(std::sync::atomic::Ordering::SeqCst);
        assert!(spawn_periodic(Duration::ZERO, counted).is_none());
        let task = spawn_periodic(Duration::from_secs(60), counted);
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert_eq!(calls(), 0, "nothing before the first period ends");
        for period in 1..=2 {
            tokio::time::timeout(Duration::from_secs(90), async {
                while calls() < period {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("release {period} within its period"));
        }
        assert_eq!(calls(), 2);
        if let Some(task) = task {
            task.abort();
        }
    }
}
