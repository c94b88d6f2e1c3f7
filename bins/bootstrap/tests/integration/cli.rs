//! The binary's flags and documented exit codes, against the Kubernetes API double.

use std::process::Command;

use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

const BIN: &str = env!("CARGO_BIN_EXE_secretsync-bootstrap");

fn example(name: &str) -> String {
    format!(
        "{}/../../examples/bootstrap/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn run(kubeconfig: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("VAULT_TOKEN")
        .output()
        .expect("run secretsync-bootstrap");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn plan_status_and_exit_codes() {
    let server = KubeApiServer::start_blocking(KubeApiOptions::default()).expect("API double");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let kind = example("kind.yaml");

    let (code, out, err) = run(&kubeconfig, &["plan", "-f", &kind]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "phase1: create CustomResourceDefinition externalsecrets.external-secrets.io (absent)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "phase2: create vault sys/mounts/secret (no Vault setup token given: not observed)"
        ),
        "{out}"
    );

    let (code, _, _) = run(&kubeconfig, &["plan", "--exit-code", "-f", &kind]);
    assert_eq!(code, 1);

    let (code, out, _) = run(&kubeconfig, &["status", "-f", &kind]);
    assert_eq!(code, 1);
    assert!(out.contains("phase1: pending"), "{out}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: secretsync.io/v1alpha1\nkind: Bootstrap\nvault: {address: nope}\n",
    )
    .expect("write");
    let (code, _, err) = run(&kubeconfig, &["plan", "-f", bad.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("vault.address: expected an http(s) URL"),
        "{err}"
    );

    let (code, _, err) = run(&dir.path().join("none"), &["plan", "-f", &kind]);
    assert_eq!(code, 3, "{err}");
}
