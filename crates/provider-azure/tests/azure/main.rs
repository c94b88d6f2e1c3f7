//! Azure provider against the Azure Key Vault + Entra ID double (and the Kubernetes API double
//! for workload identity). Every test starts its own doubles.

mod auth;
mod common;
mod identity;
mod object_writes;
mod reads;
mod workload;
mod writes;
