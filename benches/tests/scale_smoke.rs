//! The scale harness at its smoke size (issue #20), so it never rots: the operator binary as its
//! own process against the API double and the three providers' peers, N=200, one refresh
//! cycle. Fails unless every figure is produced and no Vault login, STS `AssumeRole*` call or
//! second Azure token happens in the steady cycle (`--check`); no performance target is
//! asserted (performance figures live in docs/benchmarks.md).
//!
//! The operator binary is the one next to the harness (`target/debug/secretsync-operator`),
//! which a workspace test build (`cargo nextest run --workspace`, as `scripts/test` runs it)
//! builds in the same invocation; run alone, build it first with
//! `cargo build -p secretsync-operator`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_smoke_size_produces_every_figure() {
    let scale = PathBuf::from(env!("CARGO_BIN_EXE_scale"));
    let operator = scale.with_file_name("secretsync-operator");
    assert!(
        operator.is_file(),
        "{} is missing: run the workspace's tests (cargo nextest run --workspace) or \
         `cargo build -p secretsync-operator` first",
        operator.display()
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let report = dir.path().join("smoke.json");
    let output = Command::new(&scale)
        .args(["--n", "200", "--k", "30", "--m", "20", "--namespaces", "4"])
        .args([
            "--refresh-interval",
            "10",
            "--cycles",
            "1",
            "--new",
            "10",
            "--drift",
            "5",
        ])
        .args([
            "--operator-arg=--concurrency=8",
            "--operator-arg=--kube-api-qps=1000",
            "--operator-arg=--kube-api-burst=1000",
        ])
        .args(["--label", "smoke", "--check", "--timeout", "600"])
        .arg("--operator")
        .arg(&operator)
        .arg("--out")
        .arg(&report)
        .env_remove("SECRETSYNC_TEST_KUBECONFIG")
        .output()
        .expect("the scale harness starts");
    assert!(
        output.status.success(),
        "scale harness failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the JSON report is written"))
            .expect("the report is JSON");
    assert_eq!(json["run"]["n"], 200, "report of another run: {json}");
    let synced_per_second = json["first_sync"]["per_second"].as_f64();
    assert!(
        synced_per_second.is_some_and(|rate| rate > 0.0),
        "no first-sync rate in the report: {json}"
    );
}
