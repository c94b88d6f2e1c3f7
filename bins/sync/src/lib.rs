//! The `secretsync` CLI as a library: render, sync, diff and check ExternalSecrets once, from
//! manifest files and/or a cluster, with credentials from the CI environment. The binary
//! (`src/main.rs`) only parses flags and calls [`cli::run`].
//!
//! See `docs/ci.md` for the commands, exit codes and CI credentials.

pub mod check;
pub mod ci;
pub mod cli;
pub mod cluster;
pub mod crds;
pub mod diff;
pub mod exit;
pub mod inputs;
pub mod output;
pub mod progress;
pub mod push;
pub mod render;
pub mod run;
pub mod select;
pub mod session;
pub mod sync;
pub mod target;
