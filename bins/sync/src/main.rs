//! `secretsync`: render or sync ExternalSecrets once, without an operator.

mod cli;
mod crds;
mod inputs;
mod output;
mod render;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
