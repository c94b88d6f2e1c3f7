//! Manual helper: `cargo test -p secretsync-testkit --test kube_serve -- --ignored --nocapture`
//! starts the API double, writes `$SECRETSYNC_KUBE_SERVE_KUBECONFIG` (default
//! `/tmp/secretsync-kube-api.kubeconfig`) and serves for `$SECRETSYNC_KUBE_SERVE_SECONDS`
//! (default 600) so kubectl or other clients can be pointed at it by hand.

use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use std::time::Duration;

#[test]
#[ignore = "manual helper: serves the API double for interactive use"]
fn serve_for_manual_use() -> anyhow::Result<()> {
    let path = std::env::var("SECRETSYNC_KUBE_SERVE_KUBECONFIG")
        .unwrap_or_else(|_| "/tmp/secretsync-kube-api.kubeconfig".into());
    let secs: u64 = std::env::var("SECRETSYNC_KUBE_SERVE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let server = KubeApiServer::start_blocking(KubeApiOptions::default())?;
    server.write_kubeconfig(&path)?;
    println!("serving {} ; kubeconfig at {path}", server.url());
    std::thread::sleep(Duration::from_secs(secs));
    assert!(server.object_count() >= 3);
    Ok(())
}
