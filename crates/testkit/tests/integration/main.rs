//! Integration tests of secretsync-testkit: the Kubernetes API and Azure Key Vault doubles (held to
//! kubectl, the Python clients and Microsoft's SDK) and the peer launchers.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod azure_common;
mod kube_common;

mod azure_auth_api;
mod azure_fidelity;
mod azure_sdk;
mod azure_vault_api;
mod cluster_lock;
mod kube_api;
mod kube_api_lifecycle;
mod kube_api_rbac;
mod kube_api_runtime;
mod kube_fidelity;
mod kube_serve;
mod peers_bao;
mod peers_moto;
mod peers_postgres;
