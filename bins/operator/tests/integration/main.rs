//! Integration tests of the operator binary, run as its own process against the Kubernetes API
//! double (or a real cluster given SECRETSYNC_TEST_KUBECONFIG): sync, refresh, request budget,
//! lifecycle, failover, RBAC, deploy overlays, Helm chart, admission.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod support;

mod operator_admission;
mod operator_api_requests;
mod operator_deploy;
mod operator_failover;
mod operator_helm;
mod operator_lifecycle;
mod operator_rbac;
mod operator_refresh;
mod operator_sync;
