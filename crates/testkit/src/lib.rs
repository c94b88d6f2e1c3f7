//! Test doubles (Kubernetes API, Azure Key Vault) and peer launchers (moto, OpenBao, PostgreSQL).
pub mod azure;
pub mod cluster;
pub mod kube_api;
pub mod peers;
