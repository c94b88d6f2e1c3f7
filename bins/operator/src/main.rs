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
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run::run(settings))
}
