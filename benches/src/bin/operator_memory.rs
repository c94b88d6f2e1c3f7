//! Operator memory harness: RSS of `secretsync-operator` with N synced ExternalSecrets, then
//! after N unrelated large Secrets are added (the operator must not cache them).
//!
//! ```text
//! cargo build -p secretsync-operator [--release]
//! cargo run -p secretsync-benches --bin operator-memory -- <path to secretsync-operator> [N] [KiB]
//! ```
//!
//! Starts the Kubernetes API double in this process (so its memory is not counted), installs
//! the CRDs from `deploy/crds`, one fake ClusterSecretStore with N keys and N ExternalSecrets,
//! starts the operator against it and reads VmRSS / VmHWM from `/proc/<pid>/status`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

fn proc_status(pid: u32) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/<pid>/status")?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

fn crd_dir(repo: &Path) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for entry in std::fs::read_dir(repo.join("deploy/crds"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".yaml") && name != "kustomization.yaml" {
            std::fs::copy(&path, dir.path().join(name))?;
        }
    }
    Ok(dir)
}

async fn create(api: &Api<DynamicObject>, value: serde_json::Value) -> anyhow::Result<()> {
    let obj: DynamicObject = serde_json::from_value(value)?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

async fn count_secrets(client: &kube::Client, ns: &str) -> anyhow::Result<usize> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    Ok(api.list_metadata(&ListParams::default()).await?.items.len())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let operator = PathBuf::from(
        args.next()
            .context("usage: operator-memory <secretsync-operator binary> [N] [KiB]")?,
    );
    let n: usize = args.next().map_or(Ok(1000), |a| a.parse()).context("N")?;
    let kib: usize = args.next().map_or(Ok(100), |a| a.parse()).context("KiB")?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crds = crd_dir(&repo)?;
    let double = KubeApiServer::start(KubeApiOptions {
        crd_dir: Some(crds.path().to_path_buf()),
        namespaces: vec![
            "apps".into(),
            "unrelated".into(),
            "secretsync-system".into(),
        ],
        ..KubeApiOptions::default()
    })
    .await?;
    let client = double.client()?;
    let _ = Api::<Namespace>::all(client.clone());

    let store_ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "external-secrets.io",
        "v1",
        "ClusterSecretStore",
    ));
    let es_ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "external-secrets.io",
        "v1",
        "ExternalSecret",
    ));
    let data: Vec<_> = (0..n)
        .map(|i| serde_json::json!({"key": format!("key-{i}"), "value": format!("value-{i}")}))
        .collect();
    create(
        &Api::all_with(client.clone(), &store_ar),
        serde_json::json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
            "metadata": {"name": "fake"}, "spec": {"provider": {"fake": {"data": data}}}}),
    )
    .await?;
    let es_api = Api::namespaced_with(client.clone(), "apps", &es_ar);
    for i in 0..n {
        create(
            &es_api,
            serde_json::json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i}"), "namespace": "apps"},
                "spec": {"refreshInterval": "1h", "secretStoreRef": {"name": "fake", "kind": "ClusterSecretStore"},
                         "target": {"name": format!("target-{i}")},
                         "data": [{"secretKey": "value", "remoteRef": {"key": format!("key-{i}")}}]}}),
        )
        .await?;
        if (i + 1) % 100 == 0 {
            eprintln!("created {} ExternalSecrets", i + 1);
        }
    }

    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kubeconfig)?;
    let mut child = Command::new(&operator)
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "--metrics-addr=127.0.0.1:0",
            "--health-addr=127.0.0.1:0",
            "--log-level=warn",
        ])
        .args([
            "--kube-api-qps=1000",
            "--kube-api-burst=1000",
            "--concurrency=8",
        ])
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", operator.display()))?;
    let pid = child.id();
    let started = Instant::now();
    loop {
        let synced = count_secrets(&client, "apps").await?;
        if synced >= n {
            break;
        }
        if let Some(status) = child.try_wait()? {
            bail!("operator exited: {status}");
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {synced} of {n} Secrets synced after 10 minutes");
        }
        eprintln!("{synced} of {n} Secrets synced");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let sync_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss_synced, hwm_synced) = proc_status(pid)?;

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "unrelated");
    let payload = ByteString(vec![b'x'; kib * 1024]);
    for i in 0..n {
        let mut s = Secret::default();
        s.metadata.name = Some(format!("big-{i}"));
        s.data = Some([("blob".to_string(), payload.clone())].into());
        secrets.create(&PostParams::default(), &s).await?;
        if (i + 1) % 100 == 0 {
            eprintln!("created {} unrelated Secrets", i + 1);
        }
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss_unrelated, hwm_unrelated) = proc_status(pid)?;
    let _ = child.kill();
    let _ = child.wait();

    let mib = |kb: u64| kb as f64 / 1024.0;
    println!("operator: {}", operator.display());
    println!(
        "{n} ExternalSecrets synced in {:.1} s",
        sync_time.as_secs_f64()
    );
    println!("| state | VmRSS MiB | VmHWM MiB |");
    println!("|---|---|---|");
    println!(
        "| {n} ExternalSecrets synced | {:.1} | {:.1} |",
        mib(rss_synced),
        mib(hwm_synced)
    );
    println!(
        "| + {n} unrelated {kib} KiB Secrets | {:.1} | {:.1} |",
        mib(rss_unrelated),
        mib(hwm_unrelated)
    );
    println!(
        "delta RSS: {:+.1} MiB",
        mib(rss_unrelated) - mib(rss_synced)
    );
    Ok(())
}
