//! Scale harness of issue #20: the operator binary, as its own process, against the Kubernetes
//! API double (or a real cluster) and the three providers' backends, with N ExternalSecrets over
//! K remote keys and M unrelated Secrets.
//!
//! ```text
//! cargo build --release -p secretsync-operator -p secretsync-benches --bin secretsync-operator --bin scale
//! target/release/scale --n 10000 --k 1000 --m 2000 --docs docs/benchmarks.md
//! ```
//!
//! Measures the first sync, new ExternalSecrets during the first refresh wave, steady refresh
//! cycles (API requests, provider calls, CPU, RSS, spread) and drift repair; writes a JSON
//! report and, with `--docs`, this run's block in docs/benchmarks.md. See docs/benchmarks.md,
//! "Scale harness".

mod cluster;
mod figures;
mod observe;
mod operator;
mod peers;
mod phases;
mod report;
mod stats;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use crate::cluster::Cluster;
use crate::figures::{
    FirstSync, Latency, Refresh, Report, RunInfo, Wave, extra_sessions_per_cycle, missing_figures,
};
use crate::observe::Observer;
use crate::operator::{Operator, OperatorSpec};
use crate::peers::Peers;
use crate::phases::Ctx;
use crate::workload::{CONTROLLER_CLASS, Layout, Provider, create_all};

/// Flags of the harness.
#[derive(Debug, Parser)]
#[command(
    name = "scale",
    about = "Scale harness of secretsync-operator (issue #20)"
)]
struct Args {
    /// ExternalSecrets, created before the operator starts.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Distinct remote keys, spread over Vault, AWS and Azure (key k at provider k mod 3).
    #[arg(long, default_value_t = 100)]
    k: usize,
    /// Unrelated Secrets (in the same namespaces), created before the operator starts.
    #[arg(long, default_value_t = 100)]
    m: usize,
    /// Size of each unrelated Secret, KiB.
    #[arg(long, default_value_t = 100)]
    unrelated_kib: usize,
    /// Namespaces the ExternalSecrets and unrelated Secrets are spread over.
    #[arg(long, default_value_t = 10)]
    namespaces: usize,
    /// refreshInterval of every ExternalSecret, seconds (stands in for 1 h).
    #[arg(long, default_value_t = 60)]
    refresh_interval: u64,
    /// Refresh cycles measured after the first refresh wave.
    #[arg(long, default_value_t = 2)]
    cycles: u32,
    /// ExternalSecrets created during the first refresh wave (default: N/10, 10 to 100).
    #[arg(long)]
    new: Option<usize>,
    /// Target Secrets edited one after the other to time the repair.
    #[arg(long, default_value_t = 20)]
    drift: usize,
    /// The operator binary (default: `secretsync-operator` next to this binary).
    #[arg(long)]
    operator: Option<PathBuf>,
    /// An argument for the operator (repeatable), e.g. `--operator-arg=--concurrency=8`;
    /// none means the operator's defaults.
    #[arg(long = "operator-arg", allow_hyphen_values = true)]
    operator_args: Vec<String>,
    /// A real cluster instead of the API double (needs rights to create namespaces, CRDs,
    /// ClusterSecretStores, a ClusterRoleBinding, and to read /metrics).
    #[arg(long, env = "SECRETSYNC_TEST_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Name of this run (its block in the docs; default `n<N>`).
    #[arg(long)]
    label: Option<String>,
    /// JSON report (default `target/scale/<label>.json` in the repository).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Markdown file whose block for this run is rewritten (e.g. docs/benchmarks.md).
    #[arg(long)]
    docs: Option<PathBuf>,
    /// Fail unless every figure was produced (the smoke test, benches/tests/scale_smoke.rs).
    #[arg(long)]
    check: bool,
    /// Longest wait of any phase, seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = Args::parse();
    anyhow::ensure!(args.n > 0 && args.k > 0, "--n and --k must be at least 1");
    let repo = repo_root().canonicalize()?;
    let label = args.label.clone().unwrap_or_else(|| format!("n{}", args.n));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| repo.join(format!("target/scale/{label}.json")));
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    let machine = report::machine();
    let date = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M")
        .to_string();

    eprintln!("scale: starting the cluster and the peers");
    let cluster = Cluster::start(&repo, args.kubeconfig.as_deref()).await?;
    let run = format!(
        "{:08x}",
        std::process::id() ^ (jiff::Timestamp::now().as_second() as u32)
    );
    let layout = Layout {
        prefix: if cluster.double.is_some() {
            "scale-".into()
        } else {
            format!("scale-{run}-")
        },
        run,
        n: args.n,
        k: args.k,
        m: args.m,
        unrelated_kib: args.unrelated_kib,
        namespaces: args.namespaces.max(1),
        refresh_secs: args.refresh_interval.max(1),
    };
    let identity = layout.identity();
    let mut setup: Vec<serde_json::Value> = (0..layout.namespaces)
        .map(|i| layout.namespace(i))
        .chain([layout.operator_namespace()])
        .map(|ns| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .collect();
    let peers = Peers::start(&cluster.access, &identity).await?;
    setup.extend(layout.identity_manifests(peers.azure.tenant_id()));
    for object in setup {
        cluster.create(object).await?;
    }

    eprintln!(
        "scale: {} remote keys, stores, {} unrelated Secrets, {} ExternalSecrets",
        args.k, args.m, args.n
    );
    let keys: Vec<_> = (0..layout.k).map(|k| layout.key(k)).collect();
    peers.seed(&keys).await?;
    create_all(&cluster, layout.store_manifests(&peers)).await?;
    create_all(
        &cluster,
        (0..layout.m)
            .map(|j| layout.unrelated_manifest(j))
            .collect(),
    )
    .await?;
    create_all(
        &cluster,
        (0..layout.n)
            .map(|i| layout.external_secret_manifest(i))
            .collect(),
    )
    .await?;

    let ca_bundle = out.with_extension("azure-ca.pem");
    std::fs::write(&ca_bundle, peers.azure.ca_pem())?;
    let port = operator::free_port()?;
    let mut operator_args = vec![
        format!("--metrics-addr=127.0.0.1:{port}"),
        format!("--health-addr=127.0.0.1:{port}"),
        "--log-level=warn".into(),
        format!("--operator-namespace={}", layout.operator_namespace()),
        format!("--controller-class={CONTROLLER_CLASS}"),
    ];
    operator_args.extend(args.operator_args.iter().cloned());
    let spec = OperatorSpec {
        binary: match &args.operator {
            Some(p) => p.clone(),
            None => operator::default_binary()?,
        },
        kubeconfig: cluster.kubeconfig.clone(),
        args: operator_args,
        env: vec![
            (
                "SECRETSYNC_AWS_ENDPOINT_URL".into(),
                peers.moto.endpoint().to_string(),
            ),
            // The Azure provider trusts the platform roots; the double's CA is the only one.
            (
                "SSL_CERT_FILE".into(),
                ca_bundle.to_string_lossy().into_owned(),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ],
        log: out.with_extension("operator.log"),
    };
    let observer = Observer::start(&cluster.client, &layout.run);
    let timeout = Duration::from_secs(args.timeout);

    eprintln!("scale: first sync ({})", spec.binary.display());
    let phases = measure(&cluster, &peers, &layout, &observer, &spec, &args, timeout)
        .await
        .with_context(|| format!("operator log: {}", spec.log.display()))?;
    let report = Report {
        run: RunInfo {
            label: label.clone(),
            date,
            commit: report::commit(&repo),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine,
            cluster: cluster.kind().into(),
            operator: spec.binary.display().to_string(),
            operator_args: args.operator_args.clone(),
            n: args.n,
            k: args.k,
            m: args.m,
            unrelated_kib: args.unrelated_kib,
            namespaces: layout.namespaces,
            refresh_interval_s: layout.refresh_secs,
            keys_per_provider: keys_per_provider(&layout),
        },
        first_sync: phases.0,
        new_during_wave: phases.1,
        refresh: phases.2,
        drift_repair: phases.3,
    };
    let json = serde_json::to_value(&report)?;
    std::fs::write(&out, serde_json::to_string_pretty(&json)?)?;
    let block = report::markdown(&report);
    println!("{block}");
    eprintln!("scale: report written to {}", out.display());
    if let Some(docs) = &args.docs {
        let doc =
            std::fs::read_to_string(docs).with_context(|| format!("reading {}", docs.display()))?;
        std::fs::write(docs, report::rewrite_block(&doc, &label, &block))?;
        eprintln!("scale: block {label} of {} rewritten", docs.display());
    }
    if args.check {
        let missing = missing_figures(&json);
        anyhow::ensure!(
            missing.is_empty(),
            "figures missing from the report: {missing:?}"
        );
        eprintln!("scale: every figure present");
        let extra = extra_sessions_per_cycle(&json);
        anyhow::ensure!(
            extra.is_empty(),
            "sessions opened in the steady cycles: {extra:?}"
        );
        eprintln!("scale: no login, STS call or extra token in the steady cycles");
    }
    Ok(())
}

fn keys_per_provider(layout: &Layout) -> BTreeMap<String, usize> {
    Provider::ALL
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name().to_string(), (layout.k + 2 - i) / 3))
        .collect()
}

/// Starts the operator and runs the phases.
async fn measure(
    cluster: &Cluster,
    peers: &Peers,
    layout: &Layout,
    observer: &Observer,
    spec: &OperatorSpec,
    args: &Args,
    timeout: Duration,
) -> anyhow::Result<(FirstSync, Wave, Refresh, Latency)> {
    let before = phases::mark(cluster, peers, None).await?;
    let operator = Operator::start(spec)?;
    let ctx = Ctx {
        cluster,
        peers,
        layout,
        operator: &operator,
        observer,
        timeout,
    };
    let (first_sync, synced) = phases::first_sync(&ctx, &before).await?;
    eprintln!(
        "scale: {} ready in {:.1} s; first refresh seen",
        layout.n, first_sync.seconds
    );
    let new = args.new.unwrap_or((layout.n / 10).clamp(10, 100));
    let wave = phases::new_during_wave(&ctx, &first_sync, new).await?;
    eprintln!(
        "scale: {} refresh cycles of {} s",
        args.cycles, layout.refresh_secs
    );
    let refresh = phases::steady(&ctx, synced, args.cycles.max(1)).await?;
    eprintln!("scale: drift repair");
    let drift = phases::drift_repair(&ctx, args.drift).await?;
    Ok((first_sync, wave, refresh, drift))
}
