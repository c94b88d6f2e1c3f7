//! The Vault *setup* calls of phase 2 (mounts, auth methods, policies, roles, PKI) with the
//! run's setup token. Not a KV client: reading and writing secrets goes through
//! `secretsync-provider-vault`. Bodies and answers are bounded and zeroized; the token is sent
//! as a sensitive header and never formatted; errors carry the path and Vault's messages only.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use secretsync_provider_support::body::read_bounded;
use serde_json::Value;
use zeroize::Zeroizing;

/// Largest answer read (setup answers are small; PKI certificates are a few KiB).
const MAX_BODY: usize = 1024 * 1024;

/// A failed Vault call.
#[derive(Debug, thiserror::Error)]
#[error("Vault {method} {path}: {detail}")]
pub struct VaultError {
    /// HTTP method.
    pub method: String,
    /// API path.
    pub path: String,
    /// Status and Vault's `errors`, or the transport problem.
    pub detail: String,
}

/// A client for setup calls.
pub struct VaultAdmin {
    http: reqwest::Client,
    address: String,
    token: SecretString,
}

impl VaultAdmin {
    /// A client for `address` with the setup `token`; `ca_pem` adds a trusted CA.
    pub fn new(
        address: &str,
        token: SecretString,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, VaultError> {
        let err = |detail: String| VaultError {
            method: "-".into(),
            path: "-".into(),
            detail,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|_| err("vault.caFile: not a PEM certificate bundle".into()))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| err(format!("HTTP client: {e}")))?;
        Ok(VaultAdmin {
            http,
            address: address.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// GET `path`; `None` when Vault answers 404 (or 204: nothing there).
    pub async fn read(&self, path: &str) -> Result<Option<Value>, VaultError> {
        self.call(Method::GET, path, None).await
    }

    /// POST `body` (zeroized after sending) to `path`; the answer, if any.
    pub async fn write(
        &self,
        path: &str,
        body: Zeroizing<Vec<u8>>,
    ) -> Result<Option<Value>, VaultError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// POST a JSON value without secrets.
    pub async fn write_json(&self, path: &str, body: &Value) -> Result<Option<Value>, VaultError> {
        self.write(path, Zeroizing::new(body.to_string().into_bytes()))
            .await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Option<Value>, VaultError> {
        let fail = |detail: String| VaultError {
            method: method.to_string(),
            path: path.to_string(),
            detail,
        };
        let mut token = reqwest::header::HeaderValue::from_str(self.token.expose_secret())
            .map_err(|_| fail("the setup token is not a valid header value".into()))?;
        token.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), format!("{}/v1/{path}", self.address))
            .header("X-Vault-Token", token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(format!("unreachable: {}", e.without_url())))?;
        let status = response.status();
        let bytes = read_bounded(response, MAX_BODY)
            .await
            .map_err(|_| fail("answer too large or cut off".into()))?;
        if status == StatusCode::NOT_FOUND || status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let value: Option<Value> = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if !status.is_success() {
            let errors = value
                .as_ref()
                .and_then(|v| v["errors"].as_array())
                .map(|e| {
                    e.iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.chars().take(300).collect::<String>())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            return Err(fail(format!("HTTP {}: {errors}", status.as_u16())));
        }
        Ok(value)
    }
}
