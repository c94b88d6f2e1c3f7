//! Runs the independent-client fidelity suites (kubectl script, Python `kubernetes` client)
//! against the API double, or against a real cluster when `SECRETSYNC_TEST_KUBECONFIG` is set.

use secretsync_testkit::cluster_lock::{ClusterLock, take_turn_blocking};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use secretsync_testkit::peers::paths;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const INSTALL_HINT: &str = "run scripts/peers install";

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// kubectl: `$SECRETSYNC_KUBECTL`, else `<peers>/bin/kubectl`, else `kubectl` on `PATH`.
fn kubectl() -> PathBuf {
    if let Some(k) = std::env::var_os("SECRETSYNC_KUBECTL").filter(|k| !k.is_empty()) {
        return PathBuf::from(k);
    }
    paths::peer_binary("kubectl")
        .ok()
        .or_else(|| find_on_path("kubectl"))
        .unwrap_or_else(|| {
            panic!("kubectl not found ($SECRETSYNC_KUBECTL, <peers>/bin, PATH): {INSTALL_HINT}")
        })
}

/// Python with `kubernetes` and `pytest`: `$SECRETSYNC_PYTHON`, else `<peers>/venv/bin/python`.
fn python() -> PathBuf {
    let python = paths::python().unwrap_or_else(|e| panic!("{e}: {INSTALL_HINT}"));
    let ok = Command::new(&python)
        .args(["-c", "import kubernetes, pytest"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} lacks the `kubernetes` and `pytest` packages: {INSTALL_HINT}",
        python.display()
    );
    python
}

fn fresh_namespace() -> String {
    format!("fidelity-{}", &uuid_like()[..8])
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:016x}", nanos ^ u128::from(std::process::id()) << 64)
        .chars()
        .rev()
        .collect()
}

/// The kubeconfig to test against: a real cluster's, or a fresh double's.
/// Where a suite runs: the double (with its kubeconfig's directory), or a real cluster during
/// this test's turn.
struct Target {
    _double: Option<(KubeApiServer, tempfile::TempDir)>,
    _turn: Option<Arc<ClusterLock>>,
}

fn target() -> (Target, PathBuf) {
    if let Some(kc) = std::env::var_os("SECRETSYNC_TEST_KUBECONFIG") {
        let target = Target {
            _double: None,
            _turn: take_turn_blocking(),
        };
        return (target, PathBuf::from(kc));
    }
    let server =
        KubeApiServer::start_blocking(KubeApiOptions::default()).expect("start API double");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("write kubeconfig");
    let target = Target {
        _double: Some((server, dir)),
        _turn: None,
    };
    (target, path)
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kubectl_suite_passes() {
    let kubectl = kubectl();
    let (_target, kubeconfig) = target();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fidelity/kube/kubectl_suite.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .env("SECRETSYNC_TEST_KUBECONFIG", &kubeconfig)
        .env("SECRETSYNC_TEST_NAMESPACE", fresh_namespace())
        .env("KUBECTL", kubectl);
    run(cmd, "kubectl fidelity suite");
}

#[test]
fn python_client_suite_passes() {
    let python = python();
    let (_target, kubeconfig) = target();
    let test_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fidelity/kube/test_python_client.py");
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(test_file)
        .env("SECRETSYNC_TEST_KUBECONFIG", &kubeconfig)
        .env("SECRETSYNC_TEST_NAMESPACE", fresh_namespace());
    run(cmd, "python client fidelity suite");
}
