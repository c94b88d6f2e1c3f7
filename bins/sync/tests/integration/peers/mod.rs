//! The CLI against the provider peers: OpenBao, moto and the Azure double (every command and
//! output mode, and the CI credentials of docs/ci.md), `diff` and `sync` also against the
//! Kubernetes API double.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws;
mod azure;
mod common;
mod vault;
