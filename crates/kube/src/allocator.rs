//! Tuning glibc's allocator for the operator, and giving the system back the memory the
//! process freed.
//!
//! - **Arenas.** glibc's malloc creates up to 8 arenas per core as threads contend. The first
//!   sync of 10,000 ExternalSecrets ran at 237–254/s with that default and at 286–321/s with
//!   one arena per core (`docs/benchmarks.md`): fewer arenas reuse memory another thread just
//!   freed instead of touching new pages. [`limit_arenas`] sets that at start, unless the
//!   environment tunes it already (`MALLOC_ARENA_MAX`, `glibc.malloc.arena_max` in
//!   `GLIBC_TUNABLES`).
//! - **Freed memory.** glibc returns freed memory to the system only from the top of each
//!   arena. The first sync leaves its freed pages resident below live allocations, so the
//!   process stays at its peak while nothing uses them: 24 MiB of the 162 MiB steady RSS at
//!   10,000 ExternalSecrets. `malloc_trim(0)` returns the free pages of every arena
//!   ([`release_freed_memory`], periodically: [`spawn_periodic_release`]).
//!
//! Other allocators and platforms: nothing is done.

use std::time::{Duration, Instant};

/// Whether the process environment already sets glibc's arena count (`MALLOC_ARENA_MAX`, or
/// `glibc.malloc.arena_max` in `GLIBC_TUNABLES`); `var` reads an environment variable.
pub fn arenas_tuned_by(var: impl Fn(&str) -> Option<String>) -> bool {
    var("MALLOC_ARENA_MAX").is_some()
        || var("GLIBC_TUNABLES").is_some_and(|t| t.contains("glibc.malloc.arena_max"))
}

/// Limits glibc's malloc to `arenas` arenas (at least one), unless the process environment
/// sets the count ([`arenas_tuned_by`]); whether the limit was set. Call before the runtime
/// starts its threads. A no-op (`false`) off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallopt has no safe binding")]
pub fn limit_arenas(arenas: usize) -> bool {
    if arenas_tuned_by(|name| std::env::var(name).ok()) {
        return false;
    }
    let arenas = libc::c_int::try_from(arenas.max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` takes no pointer; it sets a parameter of the allocator under its lock
    // and is safe to call from any thread at any time.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) == 1 }
}

/// Limits the allocator's arenas: a no-op (`false`) off glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas(_arenas: usize) -> bool {
    false
}

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

    #[test]
    fn the_environment_tuning_the_arenas_wins() {
        let cases: [(&[(&str, &str)], bool); 5] = [
            (&[], false),
            (&[("MALLOC_ARENA_MAX", "4")], true),
            (&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")], true),
            (
                &[(
                    "GLIBC_TUNABLES",
                    "glibc.malloc.trim_threshold=0:glibc.malloc.arena_max=8",
                )],
                true,
            ),
            (
                &[("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")],
                false,
            ),
        ];
        for (vars, tuned) in cases {
            let var = |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(arenas_tuned_by(var), tuned, "{vars:?}");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_arena_limit_is_accepted_unless_the_environment_sets_it() {
        let tuned = arenas_tuned_by(|name| std::env::var(name).ok());
        assert_eq!(limit_arenas(2), !tuned);
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
