//! Integration tests of secretsync-engine: ESO sync semantics, coalescing, fetch limits and
//! retries, generators, golden renders.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod coalescing;
mod eso_hashes;
mod fallback;
mod fetch_limits;
mod fetch_retries;
mod generators;
mod golden;
mod prefetch;
mod properties;
mod provider_hooks;
mod sync_basic;
mod sync_semantics;
mod template_values_decoding;
