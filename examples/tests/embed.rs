//! `examples/embed.rs` against OpenBao: the embedding program reads its manifests, logs in with
//! `VAULT_TOKEN` and prints each Secret's keys (never a value).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use secrecy::ExposeSecret;
use secretsync_testkit::peers::Bao;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_example_syncs_from_openbao() {
    let bao = Bao::start().await.expect("OpenBao");
    bao.sys_request(
        reqwest::Method::POST,
        "secret/data/app",
        Some(serde_json::json!({"data": {"user": "admin", "password": "canary-embed-51c2"}})),
    )
    .await
    .expect("seed");
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: vault, namespace: apps}}
spec:
  provider:
    vault: {{server: "{}", path: secret, version: v2}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: apps}}
spec:
  secretStoreRef: {{name: vault}}
  dataFrom: [{{extract: {{key: app}}}}]
"#,
            bao.addr()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_embed"))
        .arg(&manifests)
        .env("VAULT_TOKEN", bao.root_token().expose_secret())
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "apps/app: password,user", "{stderr}");
    assert!(!stdout.contains("canary-embed") && !stderr.contains("canary-embed"));
}
