//! Command-line flags and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sync secrets from Vault/OpenBao, AWS and Azure Key Vault into Kubernetes Secrets,
/// using External Secrets Operator manifests.
#[derive(Parser, Debug)]
#[command(name = "secretsync", version, about)]
pub struct Args {
    /// Log level filter (e.g. `info`, `debug`, `secretsync=debug`).
    #[arg(long, env = "SECRETSYNC_LOG", default_value = "warn", global = true)]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the ExternalSecrets in the given manifests and print the resulting Secrets as YAML.
    Render {
        /// Manifest file or directory (repeatable); directories are read recursively
        /// (`*.yaml`, `*.yml`, `*.json`). Stores, ExternalSecrets and credential Secrets.
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the CustomResourceDefinitions (v1 storage + v1beta1) as YAML files.
    Crds {
        /// Output directory (printed to stdout when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Sets up stderr logging. Secret values are never logged.
pub fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the chosen command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Render { files } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::render::render(&files))
        }
        Command::Crds { out } => crate::crds::write(out.as_deref()).map(|()| ExitCode::SUCCESS),
    }
}
