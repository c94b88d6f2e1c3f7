//! The testkit's OpenBao dev server ([`secretsync_testkit::peers::Bao`]) with the file audit
//! device enabled, plus root-token helpers used by the tests and the benchmark.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use secrecy::ExposeSecret;
use serde_json::Value;

/// A running `bao server -dev` with a file audit log.
pub struct Bao {
    inner: secretsync_testkit::peers::Bao,
    audit: PathBuf,
}

impl Bao {
    /// Starts a plain-HTTP dev server.
    pub async fn start() -> Bao {
        Self::wrap(secretsync_testkit::peers::Bao::start().await).await
    }

    /// Starts a dev server with TLS (its own CA, certificate for 127.0.0.1).
    pub async fn start_tls() -> Bao {
        Self::wrap(secretsync_testkit::peers::Bao::start_tls().await).await
    }

    async fn wrap(
        started: Result<secretsync_testkit::peers::Bao, secretsync_testkit::peers::PeerError>,
    ) -> Bao {
        let mut inner = started
            .unwrap_or_else(|e| panic!("starting OpenBao failed (run scripts/peers install): {e}"));
        let audit = inner.enable_audit_file().await.expect("enable audit file");
        Bao { inner, audit }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn addr(&self) -> String {
        self.inner.addr()
    }

    /// The server's CA (TLS servers only).
    pub fn ca_pem(&self) -> Vec<u8> {
        self.inner
            .ca_pem()
            .expect("a TLS server has a CA")
            .as_bytes()
            .to_vec()
    }

    /// The root token.
    pub fn root_token(&self) -> String {
        self.inner.root_token().expose_secret().to_string()
    }

    /// The file audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.audit.clone()
    }

    /// Stops the server.
    pub async fn stop(&mut self) {
        self.inner.stop();
    }

    /// Starts again on the same port (dev mode: empty storage, same root token).
    pub async fn restart(&mut self) {
        self.inner.restart().await.expect("restart OpenBao");
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
        let token = self.root_token();
        let mut attempts = 0;
        let (status, value) = loop {
            let (status, value) = self
                .try_api(namespace, &token, method, path, body.clone())
                .await;
            // a fresh KV v2 mount answers 400 "Upgrading ..." for a moment
            let upgrading = status == 400 && value.to_string().contains("Upgrading");
            attempts += 1;
            if !upgrading || attempts > 100 {
                break (status, value);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
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
            .inner
            .http_client()
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

    fn audit_entries(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.audit).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["type"] == "request")
            .collect()
    }

    /// Audit-log request entries whose `request.path` is `path`.
    pub fn audit_requests(&self, path: &str) -> usize {
        self.audit_entries()
            .iter()
            .filter(|e| e["request"]["path"] == path)
            .count()
    }

    /// Audit-log request entries for `path` with `operation` (`read`, `update`, `list`...).
    pub fn audit_operations(&self, path: &str, operation: &str) -> usize {
        self.audit_entries()
            .iter()
            .filter(|e| e["request"]["path"] == path && e["request"]["operation"] == operation)
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
