//! `secretsync-operator`: runs the ExternalSecret, store and ClusterExternalSecret controllers
//! with leader election, Prometheus metrics and health endpoints.

mod cli;
mod client;
mod metrics;
mod refresh;
mod run;
mod server;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = cli::Args::parse();
    let settings = args.validate()?;
    cli::init_logging(&settings);
    // One allocator arena per runtime worker thread (secretsync_kube::allocator).
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    secretsync_kube::allocator::limit_arenas(cores);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run::run(settings))
}
