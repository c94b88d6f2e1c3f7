//! Flags, the run's setup (cluster, providers, setup token) and output.
//!
//! Exit codes: 0 done / nothing to do; 1 `plan --exit-code` found steps, or `status` found a
//! phase not done; 2 invalid `bootstrap.yaml` or flags; 3 the cluster or Vault is unreachable,
//! or a step failed (the message says which, what was done, and to run `apply` again).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use secrecy::SecretString;
use secretsync_bootstrap::{ApplyError, ApplyOptions, Bootstrapper, config};
use secretsync_providers::ProviderOptions;

/// Bootstrap secrets management as in ADR-002: cloud secret managers first, then Vault.
///
/// Exit codes: 0 ok or nothing to do; 1 `plan --exit-code` found steps, `status` found a phase
/// not done; 2 invalid bootstrap.yaml or flags; 3 cluster or Vault unreachable, or a step failed.
#[derive(Parser, Debug)]
#[command(name = "secretsync-bootstrap", version, about)]
pub struct Args {
    /// The bootstrap file.
    #[arg(
        short = 'f',
        long = "filename",
        global = true,
        default_value = "bootstrap.yaml"
    )]
    pub file: PathBuf,
    /// Log level filter.
    #[arg(long, env = "SECRETSYNC_LOG", default_value = "info", global = true)]
    pub log_level: String,
    /// File holding the Vault setup token (else env VAULT_TOKEN). Used for this run only:
    /// never stored, printed or logged.
    #[arg(long, global = true)]
    pub vault_token_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every step `apply` would take and why; touches nothing.
    Plan {
        /// Exit with 1 when there are steps.
        #[arg(long)]
        exit_code: bool,
    },
    /// Perform the steps (each observes first: safe to interrupt and re-run).
    Apply {
        /// Let migration overwrite a different value already in Vault.
        #[arg(long)]
        force: bool,
    },
    /// Switch the cut-over ExternalSecrets back to the references recorded on them
    /// (annotation secretsync.io/cutover-original).
    Rollback,
    /// Show where each phase stands.
    Status,
}

/// Sets up stderr logging (never a value); colours only on a terminal.
pub fn init_logging(level: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn setup_token(file: Option<&PathBuf>) -> Result<Option<SecretString>, String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--vault-token-file {}: {e}", path.display()))?;
        return Ok(Some(SecretString::from(text.trim().to_string())));
    }
    Ok(std::env::var("VAULT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(SecretString::from))
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return Ok(fail(2, format!("{name}: {e}"))),
    };
    let config = match config::parse(&name, &text) {
        Ok(c) => c,
        Err(e) => return Ok(fail(2, e)),
    };
    let token = match setup_token(args.vault_token_file.as_ref()) {
        Ok(t) => t,
        Err(e) => return Ok(fail(2, e)),
    };
    let kube_config = match kube::Config::infer().await {
        Ok(c) => c,
        Err(e) => return Ok(fail(3, format!("no cluster configured: {e}"))),
    };
    let cluster_url = kube_config.cluster_url.to_string();
    let client = kube::Client::try_from(kube_config)?;
    let options = match ProviderOptions::from_env() {
        Ok(o) => o,
        Err(e) => return Ok(fail(2, e)),
    };
    let secrets: secretsync_bootstrap::SecretLookup =
        Arc::new(|var: &str| std::env::var(var).ok().map(SecretString::from));
    let bootstrapper =
        match Bootstrapper::connect(config, client, &cluster_url, options, token, secrets).await {
            Ok(b) => b,
            Err(e) => return Ok(fail(3, e)),
        };
    Ok(match args.command {
        Command::Plan { exit_code } => match bootstrapper.plan().await {
            Err(e) => fail(3, e),
            Ok(steps) if steps.is_empty() => {
                println!("nothing to do");
                ExitCode::SUCCESS
            }
            Ok(steps) => {
                for s in &steps {
                    println!("{s}");
                }
                ExitCode::from(u8::from(exit_code))
            }
        },
        Command::Rollback => match bootstrapper.rollback().await {
            Err(e) => fail(3, e),
            Ok(done) if done.is_empty() => {
                println!("nothing to do");
                ExitCode::SUCCESS
            }
            Ok(done) => {
                for s in &done {
                    println!("done: {s}");
                }
                ExitCode::SUCCESS
            }
        },
        Command::Apply { force } => match bootstrapper
            .apply(&ApplyOptions {
                force,
                ..ApplyOptions::default()
            })
            .await
        {
            Err(e) => {
                if let ApplyError::Step { done, .. } | ApplyError::Interrupted { done } = &e {
                    for s in done {
                        println!("done: {s}");
                    }
                }
                fail(3, e)
            }
            Ok(report) if report.done.is_empty() => {
                println!("nothing to do");
                ExitCode::SUCCESS
            }
            Ok(report) => {
                for s in &report.done {
                    println!("done: {s}");
                }
                ExitCode::SUCCESS
            }
        },
        Command::Status => match bootstrapper.status().await {
            Err(e) => fail(3, e),
            Ok(phases) => {
                let mut all = true;
                for p in &phases {
                    let word = if p.verified && p.pending.is_empty() {
                        "done"
                    } else {
                        all = false;
                        "pending"
                    };
                    println!("{}: {word} ({}/{} items)", p.phase, p.done, p.items);
                    for (id, state) in &p.pending {
                        println!("  {id}: {state:?}");
                    }
                }
                ExitCode::from(u8::from(!all))
            }
        },
    })
}
