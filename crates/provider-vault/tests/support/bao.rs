//! A throw-away OpenBao dev server for tests and benchmarks, plus a root-token admin client.
//!
//! The binary is `<peers>/bin/bao` (peers = `$SECRETSYNC_PEERS_DIR`, else `<workspace>/.peers`),
//! or `$SECRETSYNC_BAO`. A missing binary fails with "run scripts/peers install".
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

/// Root token of every dev server started here.
pub const ROOT_TOKEN: &str = "root";

/// Locates the `bao` binary or panics with the install hint.
pub fn bao_binary() -> PathBuf {
    if let Ok(p) = std::env::var("SECRETSYNC_BAO") {
        return PathBuf::from(p);
    }
    let peers = std::env::var("SECRETSYNC_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(".peers")
        });
    let bin = peers.join("bin").join("bao");
    assert!(
        bin.exists(),
        "OpenBao binary not found at {}: run scripts/peers install (or set SECRETSYNC_PEERS_DIR / SECRETSYNC_BAO)",
        bin.display()
    );
    bin
}

/// A running `bao server -dev`.
pub struct Bao {
    child: Option<Child>,
    port: u16,
    tls: bool,
    dir: tempfile::TempDir,
    admin: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Bao {
    /// Starts a plain-HTTP dev server.
    pub async fn start() -> Bao {
        Self::launch(false).await
    }

    /// Starts a dev server with TLS (`-dev-tls`: generated CA, certificate for 127.0.0.1).
    pub async fn start_tls() -> Bao {
        Self::launch(true).await
    }

    async fn launch(tls: bool) -> Bao {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bao = Bao {
            child: None,
            port: free_port(),
            tls,
            dir,
            admin: reqwest::Client::new(),
        };
        bao.spawn().await;
        bao
    }

    async fn spawn(&mut self) {
        let audit = self.dir.path().join("audit.log");
        let config = self.dir.path().join("audit.hcl");
        std::fs::write(
            &config,
            format!(
                "audit \"file\" \"file\" {{\n  options {{\n    file_path = {:?}\n  }}\n}}\n",
                audit.display().to_string()
            ),
        )
        .expect("write audit config");
        let mut cmd = Command::new(bao_binary());
        cmd.arg("server")
            .arg(format!("-config={}", config.display()))
            .arg("-dev")
            .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{}", self.port))
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(self.dir.path().join("server.log")).expect("log file"),
            ))
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if self.tls {
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", self.dir.path().display()));
        }
        self.child = Some(cmd.spawn().expect("spawn bao"));
        if self.tls {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !self.dir.path().join("vault-ca.pem").exists() {
                assert!(Instant::now() < deadline, "bao did not write its CA");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let ca = reqwest::Certificate::from_pem(&self.ca_pem()).expect("CA pem");
            self.admin = reqwest::Client::builder()
                .tls_certs_only([ca])
                .build()
                .expect("admin client");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self
                .admin
                .get(format!("{}/v1/sys/health", self.addr()))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "bao dev server did not become healthy; log: {}",
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn addr(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The dev CA (TLS servers only).
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("vault-ca.pem")).expect("CA file")
    }

    /// Scratch directory of this server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (the port stays reserved for [`Bao::restart`]).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// Starts again on the same port (dev mode: empty storage, same root token).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    /// Root-token API call; panics on failure status. Returns the JSON body (or Null).
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.api_ns(None, method, path, body).await
    }

    /// Root-token API call in a namespace.
    pub async fn api_ns(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self
            .try_api(namespace, ROOT_TOKEN, method, path, body)
            .await;
        assert!(
            status < 300,
            "bao {method} {path} failed with {status}: {value}"
        );
        value
    }

    /// Raw API call with any token; returns status and JSON body.
    pub async fn try_api(
        &self,
        namespace: Option<&str>,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .admin
            .request(method, format!("{}/v1/{path}", self.addr()))
            .header("X-Vault-Token", token);
        if let Some(ns) = namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("bao API reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }

    /// Enables a KV mount of version 1 or 2 at `path`.
    pub async fn enable_kv(&self, path: &str, version: u8) {
        self.api(
            "POST",
            &format!("sys/mounts/{path}"),
            Some(serde_json::json!({"type": "kv", "options": {"version": version.to_string()}})),
        )
        .await;
    }

    /// Writes a KV v2 secret; returns the new version.
    pub async fn put_v2(&self, mount: &str, key: &str, data: Value) -> u64 {
        let v = self
            .api(
                "POST",
                &format!("{mount}/data/{key}"),
                Some(serde_json::json!({ "data": data })),
            )
            .await;
        v["data"]["version"].as_u64().expect("version")
    }

    /// The file audit log (enabled from the start through the server config, since OpenBao
    /// refuses to enable audit devices through the API).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    /// Audit-log request entries whose `request.path` is `path`.
    pub fn audit_requests(&self, path: &str) -> usize {
        let text = std::fs::read_to_string(self.dir.path().join("audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["type"] == "request" && e["request"]["path"] == path)
            .count()
    }

    /// Audit-log request entries for `path` with `operation` (`read`, `update`, `list`...).
    pub fn audit_operations(&self, path: &str, operation: &str) -> usize {
        let text = std::fs::read_to_string(self.audit_log()).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["type"] == "request"
                    && e["request"]["path"] == path
                    && e["request"]["operation"] == operation
            })
            .count()
    }

    /// Writes a policy.
    pub async fn put_policy(&self, name: &str, policy: &str) {
        self.api(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(serde_json::json!({ "policy": policy })),
        )
        .await;
    }
}
