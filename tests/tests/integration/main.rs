//! Cross-crate end-to-end tests: the controllers against the Kubernetes API double (or a real
//! cluster given SECRETSYNC_TEST_KUBECONFIG) and the providers' peers.
//!
//! One test binary per package (each binary is linked separately: fewer binaries build
//! faster); each module was its own `tests/*.rs` file. Run one with
//! `cargo nextest run -p <package> --test integration <module>::`.

mod adr_peers;
mod kube_support;

mod kube_adr;
mod kube_adr_stores;
mod kube_canary;
mod kube_conditions;
mod kube_generators;
mod kube_hostile_templates;
mod kube_leases;
mod kube_outage;
mod kube_ownership;
mod kube_policies;
mod kube_providers;
mod kube_restart;
mod kube_rollout;
mod kube_stores;
mod kube_takeover;
mod kube_writer;
mod provider_isolation;
