//! Integration tests of secretsync-provider-aws against moto (Secrets Manager, Parameter Store,
//! STS, batching, writes, generators).
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod auth;
mod batching;
mod errors;
mod generators;
mod parameter_store;
mod secrets_manager;
mod write;
