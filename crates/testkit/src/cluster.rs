//! How peers reach a Kubernetes API server (the double or a real cluster): its URL, CA and
//! ServiceAccount token issuer, for OpenBao's Kubernetes auth method (TokenReview) and the Azure
//! double's federated credentials (the issuer's keys).

use base64::Engine as _;
use serde_json::Value;

/// Errors discovering a cluster's endpoint or issuer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterAccessError {
    /// The kubeconfig could not be read or lacks what peers need.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A discovery request to the API server failed.
    #[error("GET {path} on the API server: {message}")]
    Discovery {
        /// The path requested.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// How peers reach the Kubernetes API server.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    /// API server URL, e.g. `https://127.0.0.1:6443` (no trailing slash).
    pub url: String,
    /// PEM CA of the API server.
    pub ca_pem: String,
    /// ServiceAccount token issuer (from `/.well-known/openid-configuration`).
    pub issuer: String,
    /// The issuer's keys (`/openid/v1/jwks`).
    pub jwks: Value,
}

impl ClusterAccess {
    /// The API server at `url` with CA `ca_pem`, its issuer and keys read through `client`.
    pub async fn discover(
        client: &kube::Client,
        url: &str,
        ca_pem: &str,
    ) -> Result<ClusterAccess, ClusterAccessError> {
        let discovery = get_json(client, "/.well-known/openid-configuration").await?;
        let issuer = discovery["issuer"]
            .as_str()
            .ok_or_else(|| ClusterAccessError::Discovery {
                path: "/.well-known/openid-configuration".into(),
                message: "expected an `issuer` string".into(),
            })?
            .to_string();
        let jwks = get_json(client, "/openid/v1/jwks").await?;
        Ok(ClusterAccess {
            url: url.trim_end_matches('/').to_string(),
            ca_pem: ca_pem.to_string(),
            issuer,
            jwks,
        })
    }

    /// The API server URL and PEM CA of the current context of the kubeconfig at `path`.
    pub async fn endpoint_of_kubeconfig(
        path: &str,
    ) -> Result<(String, String), ClusterAccessError> {
        let err = |message: String| ClusterAccessError::Kubeconfig {
            path: path.to_string(),
            message,
        };
        let kubeconfig =
            kube::config::Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| err(e.to_string()))?;
        let ders = config.root_cert.ok_or_else(|| {
            err(
                "the cluster entry has no certificate-authority; OpenBao needs the API server's \
                 CA for the Kubernetes auth method"
                    .into(),
            )
        })?;
        let pem: String = ders.iter().map(|der| pem_certificate(der)).collect();
        Ok((
            config
                .cluster_url
                .to_string()
                .trim_end_matches('/')
                .to_string(),
            pem,
        ))
    }
}

/// The environment variable naming a real cluster's kubeconfig: Kubernetes tests run against
/// that cluster instead of the API double.
pub const TEST_KUBECONFIG_ENV: &str = "SECRETSYNC_TEST_KUBECONFIG";

/// The real cluster to test against (`SECRETSYNC_TEST_KUBECONFIG`, current context), if set.
/// Panics with the file's name when it is set but unusable: a test must not fall back to the
/// double silently.
pub async fn real_cluster_config() -> Option<(String, kube::Config)> {
    let path = std::env::var(TEST_KUBECONFIG_ENV).ok()?;
    let kubeconfig = kube::config::Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("{TEST_KUBECONFIG_ENV}={path}: {e}"));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{TEST_KUBECONFIG_ENV}={path}: {e}"));
    Some((path, config))
}

/// One DER certificate as a PEM block.
pub fn pem_certificate(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

async fn get_json(client: &kube::Client, path: &str) -> Result<Value, ClusterAccessError> {
    let err = |message: String| ClusterAccessError::Discovery {
        path: path.to_string(),
        message,
    };
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| err(e.to_string()))?;
    client
        .request::<Value>(request)
        .await
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_wrap_at_64_columns() {
        let pem = pem_certificate(&[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        // 100 bytes are 136 base64 characters: 64 + 64 + 8.
        assert_eq!(lines.len(), 5);
    }
}
