//! The `secretsync` binary (release build) on 1,000 ExternalSecrets:
//! - `render` from OpenBao (2 keys each from 1,000 distinct KV v2 secrets): wall time;
//! - `render` from moto (Secrets Manager, 1,000 distinct secrets): wall time and the calls
//!   moto recorded (batched into `BatchGetSecretValue`);
//! - `sync --from-cluster` to the Kubernetes API double (fake provider): wall time and requests.
//!
//! `cargo bench -p secretsync-cli --bench cli` (plain harness; peers started by the bench).
//! `CLI_BENCH_ROUNDS=n` sets the rounds per scenario (default 5). Results: docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use secretsync_testkit::peers::{Bao, Moto};
use serde_json::json;

const OBJECTS: usize = 1_000;

fn rounds() -> usize {
    std::env::var("CLI_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
}

fn external_secrets(store: &str, out: &mut String) {
    for i in 0..OBJECTS {
        out.push_str(&format!(
            "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: app-{i}, namespace: team-{ns}}}\nspec:\n  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}\n  data:\n    - {{secretKey: user, remoteRef: {{key: app-{i}, property: user}}}}\n    - {{secretKey: password, remoteRef: {{key: app-{i}, property: password}}}}\n",
            ns = i % 10
        ));
    }
}

/// Runs the binary `rounds` times; returns the sorted wall times (all runs must succeed).
fn time_runs(what: &str, mut cmd: impl FnMut() -> Command) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..rounds() {
        let start = Instant::now();
        let out = cmd().output().expect("run secretsync");
        let elapsed = start.elapsed();
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(elapsed);
    }
    times.sort();
    times
}

fn report(what: &str, times: &[Duration], extra: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs{extra}",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn secretsync(files: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secretsync"));
    cmd.env("KUBECONFIG", "/nonexistent")
        .args(["-q"])
        .arg("render")
        .arg("-f")
        .arg(files);
    cmd
}

async fn openbao(dir: &Path) {
    let bao = Bao::start().await.expect("OpenBao");
    for i in 0..OBJECTS {
        bao.sys_request(
            reqwest::Method::POST,
            &format!("secret/data/app-{i}"),
            Some(json!({"data": {"user": format!("user-{i}"), "password": format!("p@ss-{i}")}})),
        )
        .await
        .expect("seed");
    }
    let mut manifests = format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {{name: vault}}\nspec:\n  provider:\n    vault: {{server: \"{}\", path: secret, version: v2}}\n",
        bao.addr()
    );
    external_secrets("vault", &mut manifests);
    let file = dir.join("vault.yaml");
    std::fs::write(&file, manifests).unwrap();
    let token = bao.root_token().expose_secret().to_string();
    let times = time_runs("render from OpenBao", || {
        let mut cmd = secretsync(&file);
        cmd.env("VAULT_TOKEN", &token);
        cmd
    });
    report("render 1,000 ExternalSecrets from OpenBao", &times, "");
}

async fn moto(dir: &Path) {
    let moto = Moto::start().await.expect("moto");
    let client = reqwest::Client::new();
    for i in 0..OBJECTS {
        client
            .post(moto.endpoint())
            .header("X-Amz-Target", "secretsmanager.CreateSecret")
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
            .body(json!({"Name": format!("app-{i}"), "SecretString": json!({"user": format!("user-{i}"), "password": format!("p@ss-{i}")}).to_string()}).to_string())
            .send()
            .await
            .expect("seed");
    }
    let mut manifests = String::from(
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: aws}\nspec:\n  provider:\n    aws: {service: SecretsManager, region: us-east-1}\n",
    );
    external_secrets("aws", &mut manifests);
    let file = dir.join("aws.yaml");
    std::fs::write(&file, manifests).unwrap();
    let none = dir.join("none");
    let command = || {
        let mut cmd = secretsync(&file);
        cmd.env("SECRETSYNC_AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    };
    moto.start_recording().await.expect("record");
    let out = command().output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = moto.recorded_calls().await.expect("calls");
    let sm: Vec<_> = calls
        .iter()
        .filter(|c| c.service == "secretsmanager")
        .collect();
    let batch = sm
        .iter()
        .filter(|c| c.action == "BatchGetSecretValue")
        .count();
    moto.stop_recording().await.expect("stop");
    let times = time_runs("render from moto", command);
    report(
        "render 1,000 ExternalSecrets from moto",
        &times,
        &format!(
            "; Secrets Manager calls in one run: {} ({batch} BatchGetSecretValue)",
            sm.len()
        ),
    );
}

async fn kube(dir: &Path) {
    let namespaces: Vec<String> = (0..10).map(|i| format!("team-{i}")).collect();
    let mut all = namespaces.clone();
    all.push("secretsync-system".into());
    let server = KubeApiServer::start(KubeApiOptions {
        crd_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")),
        namespaces: all,
        ..Default::default()
    })
    .await
    .expect("API double");
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let client = server.client().unwrap();
    let data: Vec<_> = (0..OBJECTS)
        .map(|i| json!({"key": format!("app-{i}"), "value": json!({"user": format!("user-{i}"), "password": format!("p@ss-{i}")}).to_string()}))
        .collect();
    let store = json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "fake"}, "spec": {"provider": {"fake": {"data": data}}}});
    let mut manifests = format!("---\n{}", serde_yaml::to_string(&store).unwrap());
    external_secrets("fake", &mut manifests);
    // The ExternalSecrets are in the cluster (status is written); the store comes from the file.
    for doc in serde_yaml::Deserializer::from_str(&manifests).skip(1) {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
        let es: secretsync_model::external_secret::ExternalSecret =
            serde_json::from_value(value).unwrap();
        let ns = es.metadata.namespace.clone().unwrap();
        kube::Api::<secretsync_model::external_secret::ExternalSecret>::namespaced(
            client.clone(),
            &ns,
        )
        .create(&Default::default(), &es)
        .await
        .expect("create ExternalSecret");
    }
    let store_file = dir.join("store.yaml");
    std::fs::write(
        &store_file,
        format!("---\n{}", serde_yaml::to_string(&store).unwrap()),
    )
    .unwrap();
    let command = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_secretsync"));
        cmd.args(["-q", "sync", "--from-cluster", "--kubeconfig"])
            .arg(&kubeconfig)
            .arg("-f")
            .arg(&store_file);
        cmd
    };
    server.reset_counters();
    let first = time_runs_once("first sync to the API double", command());
    let created = server.request_log().len();
    report(
        "sync --from-cluster of 1,000 ExternalSecrets to the API double, first run (creates 1,000 Secrets, writes 1,000 statuses)",
        &[first],
        &format!("; API requests: {created}"),
    );
    server.reset_counters();
    let times = time_runs("sync to the API double", command);
    let requests = server.request_log().len() / times.len();
    report(
        "sync --from-cluster of 1,000 ExternalSecrets to the API double, later runs (Secrets intact, statuses refreshed)",
        &times,
        &format!("; API requests per run: {requests}"),
    );
}

fn time_runs_once(what: &str, mut cmd: Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("run secretsync");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    openbao(dir.path()).await;
    moto(dir.path()).await;
    kube(dir.path()).await;
}
