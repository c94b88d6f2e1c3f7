//! Integration tests of the `secretsync-bootstrap` binary: its command line, and `apply` killed
//! at every step and re-run.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster). Run one with `cargo nextest run -p secretsync-bootstrap --test integration <module>::`.

// The library's end-to-end support (a World of peers and the API double), shared with
// crates/bootstrap/tests/bootstrap_e2e.rs.
#[path = "../../../../crates/bootstrap/tests/support/mod.rs"]
mod support;

mod cli;
mod killed;
