//! `secretsync-bootstrap`: ADR-002's two phases (cloud secret managers, then Vault) as one
//! idempotent, previewable command. The logic is in `secretsync-bootstrap-lib`.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<std::process::ExitCode> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = cli::Args::parse();
    cli::init_logging(&args.log_level);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cli::run(args))
}
