//! Running the `secretsync` binary in tests: a clean environment (no credentials or cluster of
//! the machine leak in), manifests in temp dirs, and the exit code with both output streams.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A value no output, log or error may ever contain.
pub const CANARY: &str = "canary-7f3e9b21-never-print-me";

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// The `error:` lines of the summary.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }
}

/// The binary with an environment free of the machine's credentials and cluster.
pub fn secretsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secretsync"));
    for (key, _) in std::env::vars() {
        if key.starts_with("VAULT_")
            || key.starts_with("AWS_")
            || key.starts_with("AZURE_")
            || key.starts_with("SECRETSYNC_")
            || key.starts_with("KUBERNETES_")
            || key == "IDENTITY_ENDPOINT"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig");
    cmd
}

/// Runs `cmd`.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run secretsync");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `content` as `name` in a fresh temp dir.
pub fn manifest(content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("manifests.yaml");
    std::fs::write(&path, content).expect("write manifest");
    (dir, path)
}

/// `args` then `-f path`.
pub fn with_file(args: &[&str], path: &Path) -> Command {
    let mut cmd = secretsync();
    cmd.args(args).arg("-f").arg(path);
    cmd
}

/// Waits (polling, with a deadline) until `check` returns `Some`.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
