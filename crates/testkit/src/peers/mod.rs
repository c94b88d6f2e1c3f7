//! Launchers for real servers ("peers") on loopback, one process per instance.
//!
//! Each launcher picks a free port on 127.0.0.1, starts its process in its own process group
//! (tied to the test process with a parent-death signal), waits until it answers, and kills the
//! group on drop, also when the test panics. Logs go to a per-instance temp dir; errors carry
//! the log's tail. Binaries come from `scripts/peers install` (see the crate README, "Peers").

mod bao;
mod error;
mod moto;
pub mod paths;
mod postgres;
mod process;

pub use bao::{Bao, KubernetesAuth};
pub use error::PeerError;
pub use moto::{AwsCall, Moto, parse_recording};
pub use postgres::Postgres;
pub use process::{free_loopback_port, pid_is_alive};
