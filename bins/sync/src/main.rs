//! `secretsync`: render, sync, diff or check ExternalSecrets once, without an operator.

use clap::Parser;
use secretsync_cli::cli;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
