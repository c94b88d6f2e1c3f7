//! The one error type of the peer launchers.

use std::path::PathBuf;
use std::time::Duration;

/// Why a peer could not be started, reached or stopped.
///
/// Log tails carried here are already redacted (the launcher removes the secrets it knows of).
/// `Debug` prints the same readable text as `Display`, so `expect()` shows log tails legibly.
#[derive(thiserror::Error)]
pub enum PeerError {
    /// A binary or the Python environment is missing.
    #[error("{what} not found at {path}: run scripts/peers install")]
    NotInstalled {
        /// What is missing (a binary name, "python venv", a system user).
        what: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The process could not be started at all.
    #[error("could not start {peer} ({program}): {source}")]
    Spawn {
        /// Peer name.
        peer: &'static str,
        /// Program that failed to start.
        program: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The process exited before it became ready.
    #[error("{peer} exited before it was ready ({status}); tail of {log}:\n{tail}")]
    ExitedEarly {
        /// Peer name.
        peer: &'static str,
        /// Exit status as text.
        status: String,
        /// Log file of the process.
        log: PathBuf,
        /// Last lines of the log.
        tail: String,
    },
    /// The process did not become ready in time.
    #[error("{peer} not ready after {waited:?} (last probe: {last_probe}); tail of {log}:\n{tail}")]
    NotReady {
        /// Peer name.
        peer: &'static str,
        /// How long the launcher waited.
        waited: Duration,
        /// The last readiness probe's failure.
        last_probe: String,
        /// Log file of the process.
        log: PathBuf,
        /// Last lines of the log.
        tail: String,
    },
    /// A request to a running peer failed or returned an unexpected answer.
    #[error("{peer} request {request} failed: {detail}")]
    Request {
        /// Peer name.
        peer: &'static str,
        /// Method and path (never a secret).
        request: String,
        /// What went wrong (status and body, or transport error).
        detail: String,
    },
    /// A helper command (initdb, psql, ...) failed.
    #[error("{peer}: `{command}` failed ({status}): {stderr}")]
    Command {
        /// Peer name.
        peer: &'static str,
        /// Program and non-secret arguments.
        command: String,
        /// Exit status as text.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// Local file-system or OS error while preparing or stopping a peer.
    #[error("{peer}: {action}: {source}")]
    Io {
        /// Peer name.
        peer: &'static str,
        /// What the launcher was doing.
        action: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The peer is stopped; start it again first.
    #[error("{peer} is not running")]
    NotRunning {
        /// Peer name.
        peer: &'static str,
    },
}

impl std::fmt::Debug for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl PeerError {
    /// Builds an [`PeerError::Io`] from an action description.
    pub(crate) fn io(
        peer: &'static str,
        action: impl Into<String>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let action = action.into();
        move |source| Self::Io {
            peer,
            action,
            source,
        }
    }
}
