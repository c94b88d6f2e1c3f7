//! Shared process plumbing for the peer launchers: free ports, spawning a peer in its own
//! process group tied to the test process, readiness polling, PID files and stopping.

use std::ffi::OsString;
use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

use super::{PeerError, paths};

/// How long a launcher waits for a peer to become ready. Generous: CI has two shared cores.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping peer gets after its stop signal before the whole group is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often a start is retried when another process took the chosen port first.
const PORT_ATTEMPTS: usize = 4;
/// Lines of the log shown in errors.
const TAIL_LINES: usize = 40;

/// Returns a currently free TCP port on 127.0.0.1 (bind :0, read the port, release it).
///
/// Another process may take the port before the peer binds it; launchers retry on that.
pub fn free_loopback_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Runs `attempt` with fresh free ports until it succeeds or fails for a reason other than
/// "address already in use".
pub(crate) async fn with_free_port<T, F, Fut>(
    peer: &'static str,
    mut attempt: F,
) -> Result<T, PeerError>
where
    F: FnMut(u16) -> Fut,
    Fut: Future<Output = Result<T, PeerError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let port =
            free_loopback_port().map_err(PeerError::io(peer, "finding a free loopback port"))?;
        match attempt(port).await {
            Err(err) if err.is_port_conflict() && tries < PORT_ATTEMPTS => continue,
            other => return other,
        }
    }
}

impl PeerError {
    /// Whether the peer failed because its port was taken (a lost race after [`free_loopback_port`]).
    pub(crate) fn is_port_conflict(&self) -> bool {
        match self {
            Self::ExitedEarly { tail, .. } | Self::NotReady { tail, .. } => {
                tail.to_ascii_lowercase().contains("address already in use")
            }
            _ => false,
        }
    }
}

/// A system user to run a peer as (postgres refuses to run as root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunAs {
    /// Numeric user id.
    pub uid: u32,
    /// Numeric group id.
    pub gid: u32,
}

impl RunAs {
    /// Looks a user up in `/etc/passwd`.
    pub(crate) fn lookup(user: &str) -> Option<Self> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4 && fields[0] == user {
                Some(Self {
                    uid: fields[2].parse().ok()?,
                    gid: fields[3].parse().ok()?,
                })
            } else {
                None
            }
        })
    }
}

/// Whether this process runs as root.
pub(crate) fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// What to start.
pub(crate) struct ProcessSpec {
    /// Peer name, used in errors and PID file names.
    pub peer: &'static str,
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments (never secrets: they are visible in `ps`).
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub envs: Vec<(OsString, OsString)>,
    /// Working directory.
    pub dir: PathBuf,
    /// Log file that receives stdout and stderr (appended).
    pub log: PathBuf,
    /// User to run as, if not the current one.
    pub run_as: Option<RunAs>,
    /// Signal that asks the peer to shut down.
    pub stop_signal: Signal,
    /// Strings removed from log tails shown in errors (tokens, passwords).
    pub redact: Vec<String>,
}

/// A running peer process: leader of its own process group, killed with its group on drop.
pub(crate) struct PeerProcess {
    peer: &'static str,
    child: Child,
    log: PathBuf,
    pid_file: Option<PathBuf>,
    stop_signal: Signal,
    redact: Vec<String>,
    stopped: bool,
}

impl std::fmt::Debug for PeerProcess {
    // By hand: `redact` holds secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProcess")
            .field("peer", &self.peer)
            .field("pid", &self.child.id())
            .field("log", &self.log)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl PeerProcess {
    /// Starts the process described by `spec`.
    ///
    /// The peer runs under `setpriv --pdeathsig KILL` from a long-lived spawner thread, so it is
    /// killed even when the test process dies without running destructors.
    pub(crate) fn spawn(spec: ProcessSpec) -> Result<Self, PeerError> {
        let peer = spec.peer;
        let log = File::options()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(PeerError::io(
                peer,
                format!("opening log {}", spec.log.display()),
            ))?;
        let log_err = log
            .try_clone()
            .map_err(PeerError::io(peer, "duplicating the log handle"))?;
        let setpriv = paths::setpriv()?;
        let mut command = Command::new(&setpriv);
        command.arg("--pdeathsig").arg("KILL");
        if let Some(user) = spec.run_as {
            command
                .arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--clear-groups");
        }
        command
            .arg("--")
            .arg(&spec.program)
            .args(&spec.args)
            .envs(spec.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = spawn_from_long_lived_thread(command).map_err(|source| PeerError::Spawn {
            peer,
            program: spec.program.clone(),
            source,
        })?;
        let mut process = Self {
            peer,
            child,
            log: spec.log,
            pid_file: None,
            stop_signal: spec.stop_signal,
            redact: spec.redact,
            stopped: false,
        };
        process.pid_file = record_pid(peer, process.pid());
        Ok(process)
    }

    /// The process id (also its process group id).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file receiving stdout and stderr.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        !self.stopped && matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of the log, with known secrets redacted.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log, &self.redact)
    }

    /// Polls `probe` until it succeeds; fails early when the process exits, or after `timeout`.
    pub(crate) async fn wait_ready<F, Fut>(
        &mut self,
        timeout: Duration,
        mut probe: F,
    ) -> Result<(), PeerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(PeerError::ExitedEarly {
                    peer: self.peer,
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            let last_probe = match probe().await {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            if start.elapsed() >= timeout {
                return Err(PeerError::NotReady {
                    peer: self.peer,
                    waited: start.elapsed(),
                    last_probe,
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the process group: the stop signal first, SIGKILL after a grace period. Idempotent.
    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if matches!(self.child.try_wait(), Ok(None)) {
            signal_group(self.pid(), self.stop_signal);
            let deadline = Instant::now() + STOP_GRACE;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                signal_group(self.pid(), Signal::KILL);
                let _ = self.child.wait();
            }
        }
        if let Some(pid_file) = self.pid_file.take() {
            let _ = std::fs::remove_file(pid_file);
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // ESRCH (already gone) is fine.
        let _ = kill_process_group(pid, signal);
    }
}

/// Spawns `command` from one thread that lives as long as the process.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits; test harnesses run
/// each test on its own short-lived thread, so spawning there would kill peers shared beyond it.
fn spawn_from_long_lived_thread(command: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("peer-spawner".into())
            .spawn(move || {
                for (mut command, reply) in inbox {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok()
            .map(|_| jobs)
    });
    let mut command = command;
    let Some(jobs) = spawner else {
        return command.spawn();
    };
    let (reply, answer) = mpsc::channel();
    if let Err(mpsc::SendError((mut command, _))) = jobs.send((command, reply)) {
        return command.spawn();
    }
    answer
        .recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("peer spawner thread is gone")))
}

/// Records `<pid> <start time>` in `<peers>/run/<peer>-<pid>.pid` so `scripts/peers running`
/// and `stop-all` can find leftovers. Best effort: a missing run dir never fails a test.
fn record_pid(peer: &str, pid: u32) -> Option<PathBuf> {
    let dir = paths::run_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let start_time = process_start_time(pid)?;
    let path = dir.join(format!("{peer}-{pid}.pid"));
    let mut file = File::create(&path).ok()?;
    writeln!(file, "{pid} {start_time}").ok()?;
    Some(path)
}

/// Field 22 of `/proc/PID/stat` (start time in clock ticks), which tells a reused PID apart.
pub(crate) fn process_start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// Whether a process with this PID exists (zombies count as gone).
pub fn pid_is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Last [`TAIL_LINES`] lines of a log file with each `redact` string replaced.
pub(crate) fn log_tail(path: &Path, redact: &[String]) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return format!("(no log at {})", path.display());
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    for secret in redact.iter().filter(|secret| !secret.is_empty()) {
        tail = tail.replace(secret.as_str(), "[redacted]");
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let port = free_loopback_port().expect("port");
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("port is free again");
    }

    #[test]
    fn log_tail_redacts_and_keeps_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let body: String = (0..100)
            .map(|i| format!("line {i} token=s3cr3t\n"))
            .collect();
        std::fs::write(&log, body).expect("write");
        let tail = log_tail(&log, &["s3cr3t".to_string()]);
        assert!(!tail.contains("s3cr3t"));
        assert!(tail.contains("line 99 token=[redacted]"));
        assert!(!tail.contains("line 59 "));
        assert_eq!(tail.lines().count(), TAIL_LINES);
    }

    #[test]
    fn port_conflict_is_recognised_from_the_log() {
        let err = PeerError::ExitedEarly {
            peer: "x",
            status: "exit status: 1".into(),
            log: PathBuf::from("/dev/null"),
            tail: "Error: listen tcp 127.0.0.1:1: bind: Address already in use".into(),
        };
        assert!(err.is_port_conflict());
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(process_start_time(std::process::id()).is_some());
        assert!(pid_is_alive(std::process::id()));
    }
}
