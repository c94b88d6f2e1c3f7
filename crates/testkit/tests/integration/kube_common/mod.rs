//! Helpers shared by the kube API double tests.
#![allow(dead_code)]

use k8s_openapi::api::core::v1::Secret;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use serde_json::json;

/// Test result type.
pub type TestResult = anyhow::Result<()>;

/// Starts a double and an admin client.
pub async fn server() -> anyhow::Result<(KubeApiServer, kube::Client)> {
    let s = KubeApiServer::start(KubeApiOptions::default()).await?;
    let c = s.client()?;
    Ok((s, c))
}

/// A Secret with `stringData`.
pub fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()
    }))
    .expect("valid secret")
}

/// `(code, reason)` of an API error.
pub fn api_code(e: &kube::Error) -> Option<(u16, String)> {
    match e {
        kube::Error::Api(s) => Some((s.code, s.reason.clone())),
        _ => None,
    }
}
