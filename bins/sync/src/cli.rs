//! Command-line flags and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::output::Format;

/// Sync secrets from Vault/OpenBao, AWS and Azure Key Vault into Kubernetes Secrets,
/// using External Secrets Operator manifests.
///
/// Exit codes: 0 ok; 1 a remote key is missing, or `diff --exit-code` found changes;
/// 2 invalid input; 3 a provider or the cluster is unavailable.
#[derive(Parser, Debug)]
#[command(name = "secretsync", version, about)]
pub struct Args {
    /// Log level filter (e.g. `info`, `debug`, `secretsync=debug`).
    #[arg(long, env = "SECRETSYNC_LOG", default_value = "warn", global = true)]
    pub log_level: String,
    /// Print only failures (no progress, no per-ExternalSecret lines).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the ExternalSecrets, stores and credentials come from, and how to reach them.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct Source {
    /// Manifest file or directory (repeatable); directories are read recursively
    /// (`*.yaml`, `*.yml`, `*.json`): ExternalSecrets, SecretStores, ClusterSecretStores and
    /// `v1` Secrets/ConfigMaps (credentials and template sources).
    #[arg(
        short = 'f',
        long = "filename",
        required_unless_present = "from_cluster"
    )]
    pub files: Vec<PathBuf>,
    /// Also sync the ExternalSecrets already in the cluster (stores and credentials are then
    /// read from the cluster where the files do not have them).
    #[arg(long)]
    pub from_cluster: bool,
    /// Only ExternalSecrets in this namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Only ExternalSecrets whose labels match (`kubectl` syntax: `a=b,c!=d,e in (f,g),h,!i`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// kubeconfig file (default: `KUBECONFIG`, `~/.kube/config` or in-cluster).
    #[arg(long, env = "SECRETSYNC_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Give these stores the CI environment's credentials instead of their own (`name`,
    /// `Kind/name` or `*`; repeatable or comma-separated). See docs/ci.md.
    #[arg(long, env = "SECRETSYNC_ENV_CREDENTIALS", value_delimiter = ',')]
    pub env_credentials: Vec<String>,
    /// PEM file of extra CA certificates trusted for Vault and Azure Key Vault.
    #[arg(long, env = "SECRETSYNC_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// ExternalSecrets worked on at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Provider reads in flight per store at once (reads of batching providers, AWS, are
    /// planned before the run and sent in full batches whatever this is).
    #[arg(long, default_value_t = 100)]
    pub per_store: usize,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the ExternalSecrets and print the Secrets they produce.
    Render {
        /// Where from.
        #[command(flatten)]
        source: Source,
        /// `yaml`, `json`, `env` (export lines for `eval`), `dotenv`, or `files=<dir>`
        /// (one file per key, mode 0600, in directories created 0700).
        #[arg(short, long, default_value = "yaml")]
        output: Format,
    },
    /// Apply the Secrets to the cluster once, as the operator would (same writer, drift
    /// stamp and status).
    Sync {
        /// Where from.
        #[command(flatten)]
        source: Source,
        /// Namespace of the operator's drift key Secret (shared with the operator, so a later
        /// operator start sees the Secrets as its own).
        #[arg(long, env = "SECRETSYNC_OPERATOR_NAMESPACE", default_value_t = secretsync_kube::Config::default().operator_namespace)]
        operator_namespace: String,
        /// Name of the drift key Secret.
        #[arg(long, env = "SECRETSYNC_DRIFT_KEY_SECRET", default_value_t = secretsync_kube::Config::default().drift_key_secret)]
        drift_key_secret: String,
    },
    /// Show which Secrets and keys a sync would create, change or remove (values only as
    /// short keyed hashes).
    Diff {
        /// Where from.
        #[command(flatten)]
        source: Source,
        /// Exit with 1 when anything would change.
        #[arg(long)]
        exit_code: bool,
    },
    /// Validate manifests, store connectivity and that every referenced key exists, printing
    /// no value (a pre-deploy gate).
    Check {
        /// Where from.
        #[command(flatten)]
        source: Source,
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

/// Runs the chosen command; the exit code follows [`crate::exit`].
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let quiet = args.quiet;
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    match args.command {
        Command::Render { source, output } => {
            Ok(runtime()?.block_on(crate::render::run(&source, &output, quiet)))
        }
        Command::Sync {
            source,
            operator_namespace,
            drift_key_secret,
        } => Ok(runtime()?.block_on(crate::sync::run(
            &source,
            &crate::sync::DriftKeySecret {
                namespace: operator_namespace,
                name: drift_key_secret,
            },
            quiet,
        ))),
        Command::Diff { source, exit_code } => {
            Ok(runtime()?.block_on(crate::diff::run(&source, exit_code, quiet)))
        }
        Command::Check { source } => Ok(runtime()?.block_on(crate::check::run(&source, quiet))),
        Command::Crds { out } => crate::crds::write(out.as_deref()).map(|()| ExitCode::SUCCESS),
    }
}
