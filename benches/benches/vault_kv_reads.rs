//! Throughput of 1,000 KV v2 reads through the Vault provider against a live OpenBao dev
//! server: one at a time vs bounded concurrency (4, 16, 64), one shared provider (one login).
//!
//! Run: `cargo bench -p secretsync-benches --bench vault_kv_reads`
//! Needs `bao` from `scripts/peers install` (or `SECRETSYNC_PEERS_DIR` / `SECRETSYNC_BAO`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use secretsync_model::SecretValue;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::SecretKeySelector;
use secretsync_model::provider::{FetchRequest, SecretProvider, StoreContext, StoreId};
use secretsync_model::providers::{VaultAuth, VaultKvVersion, VaultSpec};
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use serde_json::json;

const KEYS: usize = 1000;
const ROUNDS: usize = 5;
const TOKEN: &str = "bench-root-token";

fn bao_binary() -> PathBuf {
    if let Ok(p) = std::env::var("SECRETSYNC_BAO") {
        return PathBuf::from(p);
    }
    let peers = std::env::var("SECRETSYNC_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.peers"));
    let bin = peers.join("bin/bao");
    assert!(
        bin.exists(),
        "{} not found: run scripts/peers install",
        bin.display()
    );
    bin
}

async fn admin(
    http: &reqwest::Client,
    addr: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) {
    for _ in 0..100 {
        let resp = http
            .request(method.clone(), format!("{addr}/v1/{path}"))
            .header("X-Vault-Token", TOKEN)
            .json(&body)
            .send()
            .await
            .expect("bao reachable");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return;
        }
        assert!(text.contains("Upgrading"), "{path}: {status} {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run(provider: &Arc<VaultProvider>, concurrency: usize) -> Duration {
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..KEYS)
        .map(|i| {
            let p = provider.clone();
            // spawned, as the engine's workers are: client work spreads over the runtime
            tokio::spawn(async move {
                p.fetch(&FetchRequest::latest(format!("bench/k{i:04}")))
                    .await
            })
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed();
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|inner| inner.is_ok())),
        "all reads succeed"
    );
    elapsed
}

#[tokio::main]
async fn main() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = std::env::temp_dir().join(format!("secretsync-bench-bao-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut child = tokio::process::Command::new(bao_binary())
        .args([
            "server",
            "-dev",
            "-dev-no-store-token",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ])
        .env("BAO_DEV_ROOT_TOKEN_ID", TOKEN)
        .env("HOME", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn bao");
    let addr = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{addr}/v1/sys/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "bao did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin(
        &http,
        &addr,
        reqwest::Method::POST,
        "sys/mounts/kv2",
        json!({"type": "kv", "options": {"version": "2"}}),
    )
    .await;
    for i in 0..KEYS {
        admin(
            &http,
            &addr,
            reqwest::Method::POST,
            &format!("kv2/data/bench/k{i:04}"),
            json!({"data": {"user": format!("u{i}"), "password": "p".repeat(32)}}),
        )
        .await;
    }

    let mut creds = StaticCredentials::new();
    creds.add_secret(
        Some("bench".into()),
        "vault-token",
        [("token".to_string(), SecretValue::from(TOKEN))].into(),
    );
    let spec = VaultSpec {
        server: addr.clone(),
        path: Some("kv2".into()),
        version: VaultKvVersion::V2,
        auth: Some(VaultAuth {
            token_secret_ref: Some(SecretKeySelector {
                name: "vault-token".into(),
                namespace: None,
                key: None,
            }),
            ..VaultAuth::default()
        }),
        ..VaultSpec::default()
    };
    let context = StoreContext {
        store: StoreId {
            kind: StoreKind::SecretStore,
            namespace: Some("bench".into()),
            name: "vault".into(),
        },
        reader_namespace: Some("bench".into()),
    };
    let provider = Arc::new(
        VaultProvider::new(context, spec, Arc::new(creds), VaultOptions::default())
            .expect("provider"),
    );
    run(&provider, 16).await; // warm-up: token, connection pool

    println!("vault_kv_reads: {KEYS} KV v2 reads per round, {ROUNDS} rounds, median");
    println!(
        "{:>12} {:>12} {:>14}",
        "concurrency", "time (ms)", "reads/s"
    );
    for concurrency in [1, 4, 16, 64] {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..ROUNDS {
            times.push(run(&provider, concurrency).await);
        }
        times.sort();
        let median = times[ROUNDS / 2];
        println!(
            "{:>12} {:>12.1} {:>14.0}",
            concurrency,
            median.as_secs_f64() * 1000.0,
            KEYS as f64 / median.as_secs_f64()
        );
    }
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
