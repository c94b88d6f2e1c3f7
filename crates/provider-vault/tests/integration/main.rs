//! Integration tests of secretsync-provider-vault against OpenBao (auth, KV, dynamic secrets,
//! errors, writes, lifecycle).
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod support;

mod auth;
mod consistency;
mod dynamic;
mod errors;
mod kubernetes;
mod kv;
mod lifecycle;
mod write;
