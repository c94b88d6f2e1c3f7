//! The operator binary as a separate process, and its memory and CPU read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How often `/proc/<pid>` is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// One reading of `/proc/<pid>`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// Resident set size, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size so far, KiB (`VmHWM`).
    pub hwm_kib: u64,
    /// User + system CPU time so far.
    pub cpu: Duration,
}

/// How to start the operator.
#[derive(Debug, Clone)]
pub struct OperatorSpec {
    /// The `secretsync-operator` binary.
    pub binary: PathBuf,
    /// Kubeconfig of the cluster.
    pub kubeconfig: PathBuf,
    /// Arguments (the harness's and the user's).
    pub args: Vec<String>,
    /// Extra environment (provider endpoints, CA bundle).
    pub env: Vec<(String, String)>,
    /// Where stderr goes.
    pub log: PathBuf,
}

/// A running operator, killed on drop, sampled in the background.
pub struct Operator {
    child: Mutex<Child>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    /// When the process was started.
    pub started: Instant,
}

impl Operator {
    /// Starts the process and its sampler.
    pub fn start(spec: &OperatorSpec) -> anyhow::Result<Operator> {
        let log = std::fs::File::create(&spec.log)
            .with_context(|| format!("creating {}", spec.log.display()))?;
        let started = Instant::now();
        let child = Command::new(&spec.binary)
            .env("KUBECONFIG", &spec.kubeconfig)
            .env_remove("POD_NAME")
            .env_remove("POD_NAMESPACE")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .args(&spec.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", spec.binary.display()))?;
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pid = child.id();
        let (s, st) = (samples.clone(), stop.clone());
        std::thread::Builder::new()
            .name("proc-sampler".into())
            .spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    match read_proc(pid) {
                        Ok(sample) => s.lock().unwrap_or_else(|p| p.into_inner()).push(sample),
                        Err(_) => break,
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })?;
        Ok(Operator {
            child: Mutex::new(child),
            samples,
            stop,
            started,
        })
    }

    /// Fails when the process has exited.
    pub fn check_alive(&self) -> anyhow::Result<()> {
        if let Some(status) = self.child().try_wait()? {
            bail!("the operator exited: {status}");
        }
        Ok(())
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reading taken now.
    pub fn sample(&self) -> anyhow::Result<Sample> {
        read_proc(self.child().id())
    }

    /// The background readings taken in `[from, to]`.
    pub fn samples_between(&self, from: Instant, to: Instant) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .copied()
            .collect()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let mut child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn read_proc(pid: u32) -> anyhow::Result<Sample> {
    let at = Instant::now();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (rss_kib, hwm_kib) = parse_status(&status);
    let ticks = parse_stat_cpu_ticks(&stat).context("parsing /proc/<pid>/stat")?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Ok(Sample {
        at,
        rss_kib,
        hwm_kib,
        cpu: Duration::from_secs_f64(ticks as f64 / per_second as f64),
    })
}

/// `(VmRSS, VmHWM)` in KiB from `/proc/<pid>/status` (0 when absent).
pub fn parse_status(text: &str) -> (u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `utime + stime` (clock ticks) from `/proc/<pid>/stat`; the command name may hold spaces
/// and parentheses, so fields are counted after its last `)`.
pub fn parse_stat_cpu_ticks(text: &str) -> Option<u64> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The operator binary next to this one (`target/<profile>/secretsync-operator`).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().unwrap_or(Path::new("."));
    Ok(dir.join("secretsync-operator"))
}

/// A free loopback port for the operator's metrics and probes.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(secretsync_testkit::peers::free_loopback_port()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let status = "Name:\tsecretsync-oper\nVmHWM:\t   40960 kB\nVmRSS:\t   32768 kB\n";
        assert_eq!(parse_status(status), (32768, 40960));
        assert_eq!(parse_status(""), (0, 0));
        let stat =
            "4242 (secret sync) op) S 1 4242 4242 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(175));
        assert_eq!(parse_stat_cpu_ticks("4242 (x) S 1"), None);
    }
}
