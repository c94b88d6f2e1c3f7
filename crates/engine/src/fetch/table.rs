//! The coalescing table's rules: which read, in flight or completed, may serve a new identical
//! read, and how long a completed read is kept.
//!
//! Two reasons to serve a read from another one:
//! - **the window** ([`FetchConfig::coalesce_window`](super::FetchConfig), 1 s): the other
//!   read is in flight, or succeeded less than the window ago — for every read;
//! - **a due time** ([`FetchConfig::refresh_reuse`](super::FetchConfig)): a periodic refresh
//!   that fell due at instant `t` may be served by a read that *started* at or after `t`. The
//!   value is then exactly as fresh as a read made the moment the refresh fell due, so nothing
//!   is served staler than ESO would serve it; but the ExternalSecrets of one aligned refresh
//!   group (same keys, same due instant: `crate::refresh::align`) share one read however
//!   long the wave of refreshes takes to get through the sync slots (issue #20: reads per
//!   refresh cycle ≤ distinct keys).

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
}

impl TableRead {
    /// A read started now.
    pub(super) fn started_now(read: SharedRead) -> Self {
        TableRead {
            read,
            started: Instant::now(),
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
/// succeeded less than `window` ago, or (for a periodic refresh due at `fresh_since`) started
/// at or after the refresh fell due.
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
/// the longer of `window` and `refresh_reuse` ago.
pub(super) fn kept(
    state: ReadState,
    now: Instant,
    window: Duration,
    refresh_reuse: Duration,
) -> bool {
    match state {
        ReadState::InFlight => true,
        ReadState::Failed => false,
        ReadState::Succeeded { done, .. } => {
            now.saturating_duration_since(done) < window.max(refresh_reuse)
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
    fn completed_reads_are_kept_for_the_longer_of_both_times() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let done = ReadState::Succeeded {
            started: t0,
            done: t0 + s(1),
        };
        // (state, at, window, refresh reuse, kept)
        let cases = [
            (ReadState::InFlight, 1_000, 1, 0, true),
            (ReadState::Failed, 1, 1, 60, false),
            (done, 1, 1, 0, true),
            (done, 2, 1, 0, false),
            (done, 60, 1, 60, true),
            (done, 61, 1, 60, false),
            (done, 30, 60, 0, true),
        ];
        for (i, (state, at, window, reuse, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                kept(state, t0 + s(at), s(window), s(reuse)),
                expected,
                "case {i}"
            );
        }
    }
}
