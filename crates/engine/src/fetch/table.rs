//! The coalescing table's rules: which read, in flight or completed, may serve a new identical
//! read, and how long a completed read is kept.
//!
//! Two reasons to serve a read from another one:
//! - **the window** ([`FetchConfig::coalesce_window`](super::FetchConfig), 1 s): the other
//!   read is in flight, or succeeded less than the window ago — for every read;
//! - **an instant** ([`FetchConfig::refresh_reuse`](super::FetchConfig)): a sync that may be
//!   served by reads started since instant `t` (a periodic refresh that fell due at `t`; a
//!   first sync whose spec was first seen at `t`) may be served by a read that *started* at or
//!   after `t`. The value is then exactly as fresh as a read made at `t`, so nothing is served
//!   staler than ESO would serve it; but the ExternalSecrets of one aligned refresh group
//!   (same keys, same due instant: `crate::refresh::align`), or of one mass first sync, share
//!   one read however long they take to get through the sync slots (issue #20: reads per
//!   refresh cycle ≤ distinct keys).
//!
//! Only reads such a sync made or used are kept past the window (at most
//! [`FetchConfig::max_refresh_reads`](super::FetchConfig)); those of plain syncs are kept no
//! longer than the window, whatever their size.

use std::time::Duration;

use tokio::time::Instant;

use super::SharedRead;

/// Where a read in the table stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadState {
    /// Not completed: anyone may wait for it.
    InFlight,
    /// Succeeded: started (sent) at `started`, completed at `done`.
    Succeeded { started: Instant, done: Instant },
    /// Failed: never served again (the next read calls the provider, with retries).
    Failed,
}

/// One read in the table and when it started.
#[derive(Clone)]
pub(super) struct TableRead {
    /// The read, shared by every caller it serves.
    pub(super) read: SharedRead,
    /// When it was started.
    pub(super) started: Instant,
    /// A sync with an instant (a periodic refresh, a first sync) made or used it: kept for
    /// [`kept`]'s longer time.
    pub(super) kept_long: bool,
}

impl TableRead {
    /// A read started now, by a sync with an instant (`kept_long`) or not.
    pub(super) fn started_now(read: SharedRead, kept_long: bool) -> Self {
        TableRead {
            read,
            started: Instant::now(),
            kept_long,
        }
    }

    /// Where it stands.
    pub(super) fn state(&self) -> ReadState {
        match self.read.peek() {
            None => ReadState::InFlight,
            Some((Ok(_), done)) => ReadState::Succeeded {
                started: self.started,
                done: *done,
            },
            Some((Err(_), _)) => ReadState::Failed,
        }
    }
}

/// Whether a read in `state` may serve an identical read asked for at `now`: in flight,
/// succeeded less than `window` ago, or (for a sync served by reads since `fresh_since`)
/// started at or after that instant.
pub(super) fn serves(
    state: ReadState,
    now: Instant,
    window: Duration,
    fresh_since: Option<Instant>,
) -> bool {
    match state {
        ReadState::InFlight => true,
        ReadState::Failed => false,
        ReadState::Succeeded { started, done } => {
            now.saturating_duration_since(done) < window
                || fresh_since.is_some_and(|due| started >= due)
        }
    }
}

/// Whether a read in `state` is kept in the table at `now`: in flight, or succeeded less than
/// `window` ago, or, when a sync with an instant made or used it (`kept_long`), less than
/// `refresh_reuse` ago.
pub(super) fn kept(
    state: ReadState,
    kept_long: bool,
    now: Instant,
    window: Duration,
    refresh_reuse: Duration,
) -> bool {
    match state {
        ReadState::InFlight => true,
        ReadState::Failed => false,
        ReadState::Succeeded { done, .. } => {
            let kept_for = if kept_long {
                window.max(refresh_reuse)
            } else {
                window
            };
            now.saturating_duration_since(done) < kept_for
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_reads_serve_which() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let window = s(1);
        let ok = |started: u64, done: u64| ReadState::Succeeded {
            started: t0 + s(started),
            done: t0 + s(done),
        };
        // (state, asked at, refresh due at, served)
        let cases = [
            (ReadState::InFlight, 100, None, true),
            (ReadState::InFlight, 100, Some(200), true),
            (ReadState::Failed, 10, None, false),
            (ReadState::Failed, 10, Some(0), false),
            // the window, for any read
            (ok(10, 10), 10, None, true),
            (ok(10, 10), 11, None, false),
            // a refresh due at 8 takes a read started at or after 8, however old
            (ok(10, 10), 50, Some(8), true),
            (ok(10, 10), 50, Some(10), true),
            // but never one started before it fell due
            (ok(10, 12), 50, Some(11), false),
            // within the window it does not matter
            (ok(10, 12), 12, Some(11), true),
        ];
        for (i, (state, at, due, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                serves(state, t0 + s(at), window, due.map(|d| t0 + s(d))),
                expected,
                "case {i}: {state:?} at {at} due {due:?}"
            );
        }
    }

    #[test]
    fn completed_reads_are_kept_for_the_window_or_longer_kept_longes() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let done = ReadState::Succeeded {
            started: t0,
            done: t0 + s(1),
        };
        // (state, made or used by a refresh, at, window, refresh reuse, kept)
        let cases = [
            (ReadState::InFlight, false, 1_000, 1, 0, true),
            (ReadState::Failed, true, 1, 1, 60, false),
            (done, false, 1, 1, 60, true),
            (done, false, 2, 1, 60, false),
            (done, true, 2, 1, 60, true),
            (done, true, 60, 1, 60, true),
            (done, true, 61, 1, 60, false),
            (done, true, 30, 60, 0, true),
        ];
        for (i, (state, kept_long, at, window, reuse, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                kept(state, kept_long, t0 + s(at), s(window), s(reuse)),
                expected,
                "case {i}"
            );
        }
    }
}
