//! The Kubernetes client: kubeconfig / in-cluster config with the QPS/burst limiter and the
//! API server's flow control honoured ([`secretsync_kube::flow_control`]).

use anyhow::Context as _;

use secretsync_kube::flow_control::{RetrySettings, client_layer};

/// Builds a client from the environment (`KUBECONFIG`, `~/.kube/config` or in-cluster).
pub async fn build(qps: f64, burst: u32) -> anyhow::Result<kube::Client> {
    let config = kube::Config::infer().await.context(
        "loading Kubernetes client configuration (KUBECONFIG, ~/.kube/config or in-cluster)",
    )?;
    let builder =
        kube::client::ClientBuilder::try_from(config).context("building the Kubernetes client")?;
    Ok(builder
        .with_layer(&client_layer(qps, burst, RetrySettings::default()))
        .build())
}
