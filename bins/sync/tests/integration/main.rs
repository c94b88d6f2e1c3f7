//! Integration tests of the secretsync CLI binary: render, sync against the Kubernetes API double,
//! hostile templates, the providers' peers.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod support;

mod hostile_templates;
mod peers;
mod render;
mod sync_kube;
