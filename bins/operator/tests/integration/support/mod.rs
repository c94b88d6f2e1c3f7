//! Shared end-to-end harness: a cluster (the API double, or a real cluster from
//! `SECRETSYNC_TEST_KUBECONFIG`), `kubectl`, and operator processes.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

pub mod overlay;

/// Repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The operator binary built by cargo for this package.
pub fn operator_bin() -> &'static str {
    env!("CARGO_BIN_EXE_secretsync-operator")
}

/// `kubectl`: `$SECRETSYNC_KUBECTL`, `<peers>/bin/kubectl`, else `kubectl` on PATH; fails clearly.
pub fn kubectl_path() -> PathBuf {
    tool_path("SECRETSYNC_KUBECTL", "kubectl")
}

/// `helm`: `$SECRETSYNC_HELM`, `<peers>/bin/helm`, else `helm` on PATH; fails clearly.
pub fn helm_path() -> PathBuf {
    tool_path("SECRETSYNC_HELM", "helm")
}

fn tool_path(env: &str, name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let peers = std::env::var("SECRETSYNC_PEERS_DIR")
        .map_or_else(|_| repo_root().join(".peers"), PathBuf::from);
    let local = peers.join("bin").join(name);
    if local.exists() {
        return local;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|k| k.exists())
        })
        .unwrap_or_default();
    on_path
        .unwrap_or_else(|| panic!("{name} not found: run `scripts/peers install` (or set {env})"))
}

/// Where the tests run.
pub struct Cluster {
    pub double: Option<KubeApiServer>,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    /// Namespaces created by this test, deleted on drop (real cluster).
    pub cleanup: Vec<Vec<String>>,
    /// This test's turn on a real cluster (one Kubernetes test at a time), released after the
    /// cleanup above.
    _turn: Option<std::sync::Arc<secretsync_testkit::cluster_lock::ClusterLock>>,
}

impl Cluster {
    /// The API double with the project's CRDs, or a real cluster when `SECRETSYNC_TEST_KUBECONFIG` is set.
    pub fn start() -> Cluster {
        Self::start_without(None)
    }

    /// Like [`Cluster::start`], but the CRD files whose name contains `missing` are not applied
    /// (the double only: a real cluster keeps its CRDs).
    pub fn start_without(missing: Option<&str>) -> Cluster {
        let cluster = Self::start_bare();
        Self::install_crds(&cluster, missing);
        cluster
    }

    /// The API double without CRDs, or a real cluster (which keeps its CRDs).
    pub fn start_bare() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        if let Ok(path) = std::env::var("SECRETSYNC_TEST_KUBECONFIG") {
            Cluster {
                double: None,
                kubeconfig: PathBuf::from(path),
                _dir: dir,
                cleanup: Vec::new(),
                _turn: secretsync_testkit::cluster_lock::take_turn_blocking(),
            }
        } else {
            let double = KubeApiServer::start_blocking(KubeApiOptions::default())
                .expect("starting the Kubernetes API double");
            let kubeconfig = dir.path().join("kubeconfig");
            double.write_kubeconfig(&kubeconfig).unwrap();
            Cluster {
                double: Some(double),
                kubeconfig,
                _dir: dir,
                cleanup: Vec::new(),
                _turn: None,
            }
        }
    }

    fn install_crds(cluster: &Cluster, missing: Option<&str>) {
        match missing {
            // The CRDs go in the way users install them: client-side `kubectl apply -k`.
            // On a shared real cluster other tests apply the same CRDs at the same time, and
            // client-side apply answers AlreadyExists to the one that loses the race to create
            // them; applied again, they exist and are updated.
            None => {
                let crds = repo_root().join("deploy/crds");
                let args = ["apply", "-k", &*crds.to_string_lossy()];
                let mut out = cluster.kubectl(&args, None);
                for _ in 0..3 {
                    if out.status.success()
                        || !String::from_utf8_lossy(&out.stderr).contains("AlreadyExists")
                    {
                        break;
                    }
                    out = cluster.kubectl(&args, None);
                }
                assert!(
                    out.status.success(),
                    "kubectl {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Some(missing) => {
                for entry in std::fs::read_dir(repo_root().join("deploy/crds")).unwrap() {
                    let path = entry.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    if name.ends_with(".external-secrets.io.yaml") && !name.contains(missing) {
                        cluster.kubectl_ok(&["apply", "-f", &path.to_string_lossy()]);
                    }
                }
            }
        }
    }

    pub fn is_double(&self) -> bool {
        self.double.is_some()
    }

    /// A namespace name unique to this run (created, and deleted at the end on a real cluster).
    pub fn namespace(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{:08x}", rand_u32());
        self.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"
        ));
        self.cleanup.push(vec![
            "delete".into(),
            "namespace".into(),
            name.clone(),
            "--wait=false".into(),
        ]);
        name
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running kubectl");
        if let Some(text) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args, None);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `helm --kubeconfig <cluster> args...`; panics with helm's stderr on failure.
    pub fn helm_ok(&self, args: &[&str]) -> String {
        let out = Command::new(helm_path())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running helm");
        assert!(
            out.status.success(),
            "helm {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn apply(&self, yaml: &str) {
        let out = self.kubectl(&["apply", "-f", "-"], Some(yaml));
        assert!(
            out.status.success(),
            "kubectl apply failed: {}\n{yaml}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `kubectl get -o json`, or `None` when not found.
    pub fn get_json(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.kubectl(&all, None);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.double.is_none() {
            for args in self.cleanup.iter().rev() {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let _ = self.kubectl(&args, None);
            }
        }
    }
}

pub fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos ^ std::process::id().rotate_left(16)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 100 ms until it returns `Some`, panicking with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running operator process (killed on drop).
pub struct Operator {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Operator {
    /// Starts the binary with the cluster's kubeconfig; metrics and probes on one free port.
    pub fn start(cluster: &Cluster, args: &[String]) -> Operator {
        Self::start_as(&cluster.kubeconfig, args, &[])
    }

    /// Starts the binary with `kubeconfig` (e.g. a ServiceAccount's) and extra environment.
    pub fn start_as(kubeconfig: &Path, args: &[String], env: &[(&str, &str)]) -> Operator {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("operator.log");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(operator_bin())
            .env("KUBECONFIG", kubeconfig)
            .env_remove("POD_NAME")
            .env_remove("POD_NAMESPACE")
            .envs(env.iter().copied())
            .arg(format!("--metrics-addr={addr}"))
            .arg(format!("--health-addr={addr}"))
            .arg("--log-level=info,secretsync_kube=debug")
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting secretsync-operator");
        Operator {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let resp = reqwest::Client::new()
                .get(url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .ok()?;
            let code = resp.status().as_u16();
            Some((code, resp.text().await.ok()?))
        })
    }

    pub fn metrics(&self) -> Option<String> {
        self.get("/metrics")
            .filter(|(c, _)| *c == 200)
            .map(|(_, t)| t)
    }

    pub fn ready(&self) -> bool {
        self.get("/readyz").is_some_and(|(c, _)| c == 200)
    }

    /// The value of one sample line `name{labels}` (exact text before the value).
    pub fn metric(&self, series: &str) -> Option<f64> {
        let text = self.metrics()?;
        sample(&text, series)
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        wait_for(timeout, "the operator to exit after SIGTERM", || {
            self.child.try_wait().unwrap()
        })
    }

    /// SIGKILL (kill -9).
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- operator log ({}) ---\n{}", self.pid(), self.log_text());
        }
    }
}

/// The value of `series` in a text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

/// The sum of every sample of `family` (all label sets), or `None` when the family is not
/// declared at all (no `# TYPE` line).
pub fn family_sum(text: &str, family: &str) -> Option<f64> {
    // OpenMetrics (prometheus-client) declares counters without their `_total` suffix.
    let base = family.strip_suffix("_total").unwrap_or(family);
    let declared = text.lines().any(|l| {
        l.starts_with(&format!("# TYPE {family} ")) || l.starts_with(&format!("# TYPE {base} "))
    });
    if !declared {
        return None;
    }
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (head, value) = l.rsplit_once(' ')?;
                let name = head.split('{').next()?;
                (name == family).then(|| value.trim().parse::<f64>().ok())?
            })
            .sum(),
    )
}
