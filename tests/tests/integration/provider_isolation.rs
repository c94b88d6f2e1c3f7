//! #14 acceptance: a tenant's endpoint that drip-feeds or returns 500 MB cannot exhaust the
//! operator's memory or stall other stores. One test per binary, so the process's peak RSS
//! (`VmHWM`) is this test's own.

use std::sync::Arc;
use std::time::Duration;

use secretsync_engine::{Engine, EngineConfig, MemoryEnvironment, SyncResult};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_providers::{AllProviders, ProviderOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HALF_GIGABYTE: usize = 500 * 1024 * 1024;

/// A hostile "Vault": `/v1/kv/data/huge` streams 500 MB (no length), `/v1/kv/data/declared`
/// announces 500 MB, `/v1/kv/data/drip` sends one byte every 100 ms for ever.
async fn hostile_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let read = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                if head.starts_with("GET /v1/kv/data/huge") {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"data\":{\"data\":{\"x\":\"")
                        .await;
                    let chunk = vec![b'a'; 64 * 1024];
                    let mut sent = 0;
                    while sent < HALF_GIGABYTE {
                        if socket.write_all(&chunk).await.is_err() {
                            return; // the client gave up
                        }
                        sent += chunk.len();
                    }
                } else if head.starts_with("GET /v1/kv/data/declared") {
                    let _ = socket
                        .write_all(format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {HALF_GIGABYTE}\r\n\r\n").as_bytes())
                        .await;
                    let _ = socket.write_all(&vec![b'a'; 64 * 1024]).await;
                } else if head.starts_with("GET /v1/kv/data/drip") {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
                        .await;
                    loop {
                        if socket.write_all(b" ").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            });
        }
    });
    addr
}

fn external_secret(namespace: &str, store: &str, key: &str) -> ExternalSecret {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": key, "namespace": namespace},
        "spec": {"secretStoreRef": {"name": store},
                 "data": [{"secretKey": "v", "remoteRef": {"key": key}}]}
    }))
    .expect("ExternalSecret")
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_endpoint_gets_bounded_memory_a_clear_error_and_stalls_nobody() {
    let hostile = hostile_server().await;
    // No retries: each hostile read is one call (the engine would retry a timeout).
    let tenant: SecretStoreSpec = serde_json::from_value(json!({
        "retrySettings": {"maxRetries": 0},
        "provider": {"vault": {"server": hostile, "path": "kv",
            "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}))
    .expect("tenant store");
    let other: SecretStoreSpec = serde_json::from_value(json!({"provider": {"fake": {
        "data": [{"key": "app", "value": "fine"}]}}}))
    .expect("other store");
    let env = MemoryEnvironment::new()
        .with_secret_store("evil", "tenant", tenant)
        .with_secret_store("good", "other", other)
        .with_secret("evil", "vault-token", [("token", "t")]);
    let mut options = ProviderOptions::default();
    options.vault.request_timeout = Duration::from_secs(3);
    let engine = Engine::new(
        Arc::new(AllProviders::new(options)),
        EngineConfig::default(),
    );

    let (huge, declared, drip) = (
        external_secret("evil", "tenant", "huge"),
        external_secret("evil", "tenant", "declared"),
        external_secret("evil", "tenant", "drip"),
    );
    let app = external_secret("good", "other", "app");
    let hostile_reads = async {
        tokio::join!(
            engine.sync(&huge, &env),
            engine.sync(&declared, &env),
            engine.sync(&drip, &env)
        )
    };
    let other_read = async {
        let outcome = engine.sync(&app, &env).await;
        (outcome, tokio::time::Instant::now())
    };
    let ((huge, declared, drip), (app, app_done)) = tokio::join!(hostile_reads, other_read);
    let drip_done = tokio::time::Instant::now();

    // Another namespace's store read went through while the drip-feed still held its call.
    match app.result {
        Ok(SyncResult::Write(desired)) => {
            assert_eq!(desired.data["v"].expose_str(), Some("fine"));
        }
        other => panic!("the other store's read failed: {other:?}"),
    }
    assert!(
        app_done < drip_done,
        "the other read did not wait for the tenant's"
    );

    // Clear errors, naming the limit or the timeout.
    for (what, outcome, expected) in [
        ("streamed 500 MB", huge, "--provider-max-response-bytes"),
        ("declared 500 MB", declared, "--provider-max-response-bytes"),
        ("drip-feed", drip, "timed out"),
    ] {
        let err = outcome.result.expect_err(what).to_string();
        assert!(err.contains(expected), "{what}: {err}");
    }

    // Never more than the 8 MiB cap (plus the test's own footprint) was held.
    let peak = peak_rss();
    eprintln!("peak RSS {} MiB", peak / (1024 * 1024));
    assert!(
        peak < 200 * 1024 * 1024,
        "peak RSS {} MiB: the 500 MB body was buffered",
        peak / (1024 * 1024)
    );
}
